"""BatchNorm2d: gradients of the input, gamma and beta in training mode (batch statistics, running-stat
update off during the numerical differentiation) and in evaluation mode (random running statistics), and
the running-statistics convention (PyTorch: momentum 0.1, unbiased batch variance)."""
import numpy as np
from hypothesis import given, settings

from squeezenp.layers import BatchNorm2d
from strategies import nchw_shapes, seeds
from squeezenp.core.gradcheck import check_layer_gradients

SETTINGS = settings(deadline=None, max_examples=25)


def make_bn(C, rng):
    layer = BatchNorm2d(C).astype(np.float64)
    layer.params["weight"][...] = rng.uniform(0.5, 2.0, C) * rng.choice([-1, 1], C)
    layer.params["bias"][...] = rng.standard_normal(C)
    layer.buffers["running_mean"][...] = rng.standard_normal(C)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, C)
    return layer


def bn_input(shape, rng):
    return rng.standard_normal(shape) * rng.uniform(0.5, 2.0) + rng.uniform(-1, 1)


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_batchnorm_train_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    layer = make_bn(shape[1], rng)
    layer.update_running_stats = False
    buffers = {k: v.copy() for k, v in layer.buffers.items()}
    out, _, dx = check_layer_gradients(layer, bn_input(shape, rng), rng, training=True)
    for k in buffers:
        np.testing.assert_array_equal(layer.buffers[k], buffers[k])
    # normalised per channel over (N, H, W): the output has mean beta
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), layer.params["bias"], atol=1e-10)


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_batchnorm_train_gradients_with_running_update_restored(shape, seed):
    """With the update on, check_layer_gradients restores the buffers before each forward pass."""
    rng = np.random.default_rng(seed)
    layer = make_bn(shape[1], rng)
    check_layer_gradients(layer, bn_input(shape, rng), rng, training=True)


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_batchnorm_eval_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    layer = make_bn(shape[1], rng)
    buffers = {k: v.copy() for k, v in layer.buffers.items()}
    x = bn_input(shape, rng)
    out, _, _ = check_layer_gradients(layer, x, rng, training=False)
    rm, rv = (b[None, :, None, None] for b in buffers.values())
    g, b = (p[None, :, None, None] for p in layer.params.values())
    np.testing.assert_allclose(out, g * (x - rm) / np.sqrt(rv + layer.eps) + b, rtol=1e-12, atol=1e-12)
    for k in buffers:                                            # eval never touches the running stats
        np.testing.assert_array_equal(layer.buffers[k], buffers[k])


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_batchnorm_running_stats_convention(shape, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    layer = BatchNorm2d(C, momentum=0.1).astype(np.float64)
    x = bn_input(shape, rng)
    layer.forward(x, training=True)
    M = shape[0] * shape[2] * shape[3]
    mean = x.mean(axis=(0, 2, 3))
    unbiased = x.var(axis=(0, 2, 3), ddof=1) if M > 1 else x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.9 * 0 + 0.1 * mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.9 * 1 + 0.1 * unbiased, rtol=1e-12, atol=1e-12)
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.9 * 0.1 * mean + 0.1 * mean, rtol=1e-12, atol=1e-12)


def test_batchnorm_float32_params_float64_input():
    """A float32 layer given float64 input computes in float64; grads keep the parameters' dtype."""
    rng = np.random.default_rng(0)
    layer = BatchNorm2d(3)
    x = rng.standard_normal((2, 3, 4, 4))
    out = layer.forward(x)
    dx = layer.backward(rng.standard_normal(out.shape))
    assert out.dtype == dx.dtype == np.float64
    assert layer.grads["weight"].dtype == layer.params["weight"].dtype == np.float32
