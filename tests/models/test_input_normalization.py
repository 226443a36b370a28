"""Matlab's input normalisation inside the network: the zerocenter mean image, ImageNet statistics, the gradient,
saving and loading, prediction and ONNX export."""
import numpy as np
import pytest

from squeezenp import models
from squeezenp.data import NORMALISATION
from squeezenp.models.input_normalization import (IMAGENET_MEAN, IMAGENET_STD, InputNormalization, mean_image,
                                                  to_pixels)


def pipeline_tensors(n=6, size=32, seed=0):
    """Tensors as the data pipeline makes them: (g - 0.449) / 0.226, g in [0, 1] replicated to 3 channels."""
    g = np.random.default_rng(seed).random((n, 1, size, size))
    return np.repeat((g - NORMALISATION["mean"]) / NORMALISATION["std"], 3, axis=1).astype(np.float32), g


def test_mean_image_is_the_training_sets_mean_in_0_255_pixels():
    x, g = pipeline_tensors()
    expected = np.repeat(255 * g.mean(axis=0), 3, axis=0)
    np.testing.assert_allclose(mean_image(x, batch=4), expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(to_pixels(x), np.repeat(255 * g, 3, axis=1), atol=1e-3)


def test_zerocenter_subtracts_the_mean_image_from_pixels():
    x, g = pipeline_tensors()
    layer = InputNormalization("zerocenter", 3, 32)
    layer.set_mean(mean_image(x))
    out = layer.forward(x)
    np.testing.assert_allclose(out, to_pixels(x) - mean_image(x), atol=2e-3)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=2e-3)              # zero-centred over the training set
    assert np.abs(out).max() > 50                                              # pixels keep their 0-255 scale


def test_imagenet_mode_is_torchvisions_per_channel_normalisation():
    x, g = pipeline_tensors()
    out = InputNormalization("imagenet", 3, 32).forward(x)
    for c in range(3):
        np.testing.assert_allclose(out[:, c], (g[:, 0] - IMAGENET_MEAN[c]) / IMAGENET_STD[c], atol=1e-4)


@pytest.mark.parametrize("mode", ["zerocenter", "imagenet"])
def test_gradient_in_float64(mode):
    """Directional derivative of L = sum(f(x) dout) along random directions v: (L(x + hv) - L(x - hv)) / 2h
    must equal sum(dx v)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 5))
    layer = InputNormalization(mode, 3, 5, dtype=np.float64)
    if mode == "zerocenter":
        layer.set_mean(rng.random((3, 5, 5)) * 255)
    dout = rng.standard_normal(x.shape)
    layer.forward(x)
    dx = layer.backward(dout)
    for _ in range(3):
        v, h = rng.standard_normal(x.shape), 1e-5
        numeric = (np.sum(layer.forward(x + h * v) * dout) - np.sum(layer.forward(x - h * v) * dout)) / (2 * h)
        np.testing.assert_allclose(np.sum(dx * v), numeric, rtol=1e-7)


def test_bad_mean_or_input_size_is_a_clear_error():
    layer = InputNormalization("zerocenter", 3, 32)
    with pytest.raises(ValueError, match="mean image must have shape"):
        layer.set_mean(np.zeros((3, 16, 16)))
    with pytest.raises(ValueError, match="training size"):
        layer.forward(np.zeros((1, 3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="mode"):
        InputNormalization("scale", 3, 32)


@pytest.mark.parametrize("name", ["squeezenet", "proposed"])
def test_model_applies_its_stored_mean_after_save_and_load(tmp_path, name):
    x, _ = pipeline_tensors(8, 40)
    m = models.create(name, input_size=40, seed=0, init="glorot", input_normalization="zerocenter")
    m.input_norm.set_mean(mean_image(x))
    assert next(iter(m.state_dict())) == "input_norm.mean" and m.config["input_normalization"] == "zerocenter"
    models.save_model(m, tmp_path / "m.npz")
    back = models.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.input_norm.buffers["mean"], m.input_norm.buffers["mean"])
    np.testing.assert_allclose(back.predict_proba(x), m.predict_proba(x), rtol=1e-6)
    # the network sees pixels minus the mean image, not the pipeline's tensor
    plain = models.create(name, input_size=40, seed=0, init="glorot")
    z = m.input_norm.forward(x)
    np.testing.assert_allclose(m.forward(x, training=False), plain.forward(z, training=False), rtol=1e-5, atol=1e-6)


def test_network_gradient_includes_the_input_scale():
    x, _ = pipeline_tensors(2, 32)
    m = models.create("squeezenet", input_size=32, seed=0, input_normalization="imagenet").set_dropout(False)
    plain = models.create("squeezenet", input_size=32, seed=0).set_dropout(False)
    dout = np.ones((2, 2), np.float32)
    m.forward(x, training=True)
    dx = m.backward(dout)
    plain.forward(m.input_norm.forward(x), training=True)
    a, _ = m.input_norm.affine()
    np.testing.assert_allclose(dx, a * plain.backward(dout), rtol=1e-5, atol=1e-9)


def test_removing_the_normalisation_restores_the_plain_network():
    m = models.create("squeezenet", input_size=32, input_normalization="zerocenter")
    m.set_input_normalization("none")
    assert "input_norm" not in m.children and m.config["input_normalization"] == "none"
    assert "normalisation_in_model" not in m.config["preprocessing"]


def test_onnx_export_carries_the_normalisation(tmp_path):
    pytest.importorskip("onnxruntime")
    from squeezenp.interop.onnx_export import export_onnx, verify_onnx
    x, _ = pipeline_tensors(3, 32)
    m = models.create("squeezenet", input_size=32, seed=0, init="glorot", input_normalization="zerocenter")
    m.input_norm.set_mean(mean_image(x))
    export_onnx(m, tmp_path / "m.onnx")
    assert verify_onnx(m, tmp_path / "m.onnx", x)["probabilities"] < 1e-5
    with pytest.raises(ValueError, match="input_size must be 32"):
        export_onnx(m, tmp_path / "m64.onnx", input_size=64)
