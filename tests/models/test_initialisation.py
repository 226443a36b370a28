"""Matlab's Glorot initialisation of a whole network: bounds, variance, zero biases, the conv10 variant."""
import numpy as np
import pytest

from squeezenp import models
from squeezenp.layers import Conv2d, ConvTranspose2d
from squeezenp.models.initialisation import conv_fans, initialise


def convs(model):
    return [(n, layer) for n, layer in model.named_layers() if isinstance(layer, (Conv2d, ConvTranspose2d))]


@pytest.mark.parametrize("name", ["squeezenet", "squeezenet_bypass", "proposed"])
def test_glorot_bounds_and_zero_biases_in_every_convolution(name):
    model = models.create(name, input_size=32, seed=3, init="glorot")
    layers = convs(model)
    assert any(isinstance(layer, ConvTranspose2d) for _, layer in layers) == (name == "proposed")
    for n, layer in layers:
        fan_in, fan_out = conv_fans(layer)
        a = np.sqrt(6.0 / (fan_in + fan_out))
        w = layer.params["weight"]
        assert np.abs(w).max() <= a, n
        assert np.abs(w).max() > 0.8 * a, n                          # uniform over the whole interval
        if w.size >= 4000:                                           # U(-a, a): variance a^2 / 3 = 2 / (in + out)
            assert abs(w.var() / (2.0 / (fan_in + fan_out)) - 1) < 0.1, n
        np.testing.assert_array_equal(layer.params["bias"], 0.0)
    assert model.config["init"] == "glorot"


def test_conv_fans_follow_the_forward_direction():
    assert conv_fans(Conv2d(16, 64, 3)) == (144, 576)
    assert conv_fans(ConvTranspose2d(512, 64, 4, stride=4)) == (8192, 1024)   # weight (C_in, C_out, KH, KW)


def test_glorot_is_seeded_and_shared_by_networks_1_and_2():
    a = models.create("squeezenet", input_size=32, seed=5, init="glorot")
    b = models.create("squeezenet_bypass", input_size=32, seed=5, init="glorot")
    c = models.create("squeezenet", input_size=32, seed=6, init="glorot")
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k])
    assert not np.array_equal(sa["fire2.squeeze1x1.weight"], sc["fire2.squeeze1x1.weight"])


def test_glorot_differs_from_the_default_he_start():
    he = models.create("squeezenet", input_size=32, seed=0)
    gl = models.create("squeezenet", input_size=32, seed=0, init="glorot")
    w_he, w_gl = he.conv1.params["weight"], gl.conv1.params["weight"]
    assert w_gl.std() < w_he.std()                                   # 2/(27+576) < 2/27
    np.testing.assert_array_equal(he.conv10.params["weight"], 0.0)   # squeezenp's zero classifier ...
    assert np.abs(gl.conv10.params["weight"]).max() > 0              # ... which Glorot redraws
    np.testing.assert_array_equal(gl.conv10.params["bias"], 0.0)


def test_glorot_zero_conv10_keeps_both_class_maps_equal_and_alive():
    m = models.create("squeezenet", input_size=32, seed=0, init="glorot_zero_conv10")
    np.testing.assert_array_equal(m.conv10.params["weight"], 0.0)
    np.testing.assert_array_equal(m.conv10.params["bias"], np.float32(m.CLASSIFIER_BIAS))
    ref = models.create("squeezenet", input_size=32, seed=0, init="glorot")
    np.testing.assert_array_equal(m.fire9.expand3x3.params["weight"], ref.fire9.expand3x3.params["weight"])
    p = models.create("proposed", input_size=32, seed=0, init="glorot_zero_conv10")
    assert np.abs(p.conv10.params["weight"]).max() > 0               # linear classifier: plain Glorot


def test_imagenet_weights_replace_glorot_where_they_fit(weights_path):
    m = models.create("squeezenet_bypass_transfer", input_size=64, seed=0, init="glorot", pretrained=weights_path)
    ref = models.create("squeezenet_bypass_transfer", input_size=64, seed=0, pretrained=weights_path)
    np.testing.assert_array_equal(m.conv1.params["weight"], ref.conv1.params["weight"])
    fan_in, fan_out = conv_fans(m.conv10)
    assert 0 < np.abs(m.conv10.params["weight"]).max() <= np.sqrt(6.0 / (fan_in + fan_out))


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="initialisation"):
        initialise(models.create("squeezenet", input_size=32), "xavier")


@pytest.mark.parametrize("name", ["squeezenet", "squeezenet_bypass", "proposed"])
def test_lsuv_gives_every_convolution_below_the_classifier_unit_output_variance(name):
    from squeezenp.models.initialisation import scale_to_unit_variance
    model = models.create(name, input_size=32, seed=2, init="lsuv", input_normalization="zerocenter")
    x = (np.random.default_rng(0).random((8, 3, 32, 32)) * 255).astype(np.float32)
    model.input_norm.set_mean(x.mean(axis=0))
    conv10 = {k: v.copy() for k, v in model.conv10.params.items()}
    before = scale_to_unit_variance(model, x)
    assert max(abs(s - 1) for s in before.values()) > 0.5            # Glorot's start is far from unit variance
    stds = {}
    with model.unfused():
        model.eval()
        handles = [layer.register_forward_hook(lambda l, a, y, n=n: stds.setdefault(n, float(np.std(y))))
                   for n, layer in convs(model) if n != "conv10"]
        model.forward(x)
        for h in handles:
            h.remove()
    assert set(stds) == set(before)
    np.testing.assert_allclose(list(stds.values()), 1.0, rtol=1e-4)
    for k, v in conv10.items():                                       # the classifier keeps its start
        np.testing.assert_array_equal(model.conv10.params[k], v)
    if name != "proposed":
        np.testing.assert_array_equal(model.conv10.params["weight"], 0.0)


def test_recipe_with_lsuv_scales_the_network_on_its_training_images():
    from squeezenp.train.recipes import build_model, get_recipe
    recipe = get_recipe("matlab", model="squeezenet", input_size=32, init="lsuv")
    x = (np.random.default_rng(1).random((16, 3, 32, 32)) * 255).astype(np.float32)
    plain = build_model(get_recipe("matlab", model="squeezenet", input_size=32, init="glorot_zero_conv10"), x, 0)
    scaled = build_model(recipe, x, 0)
    w0, w1 = plain.conv1.params["weight"], scaled.conv1.params["weight"]
    ratio = w1 / w0
    assert not np.allclose(ratio, 1.0)
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)      # a rescaled Glorot draw, not a new one
