"""What every layer promises (squeezenp/core/layer.py): dtype kept (float32 and float64), inputs and upstream
gradients never modified, grads with the params' keys/shapes/dtypes, the same numbers on the Numba kernels
and under ``ops.reference_backend()``, and a ValueError naming the layer, the expected and the received
shape or dtype for bad input."""
import copy
import re

import numpy as np
import pytest

from squeezenp import ops
from squeezenp.layers import (ELU, Add, BatchNorm2d, Concat, Conv2d, ConvTranspose2d, Dropout, Flatten,
                              GlobalAvgPool2d, Linear, MaxPool2d, ReLU)

# name -> (factory, input shape, training)
CASES = {
    "conv3x3_s2_p1": (lambda: Conv2d(3, 4, 3, stride=2, padding=1, rng=0), (2, 3, 7, 6), True),
    "conv2x2_s3": (lambda: Conv2d(3, 2, 2, stride=3, rng=0), (2, 3, 7, 7), True),
    "conv1x1": (lambda: Conv2d(3, 4, 1, rng=0), (2, 3, 5, 4), True),
    "convT3x3_s2_p1": (lambda: ConvTranspose2d(3, 2, 3, stride=2, padding=1, rng=0), (2, 3, 4, 5), True),
    "bn_train": (lambda: BatchNorm2d(3), (2, 3, 5, 5), True),
    "bn_eval": (lambda: BatchNorm2d(3), (2, 3, 5, 5), False),
    "relu": (ReLU, (2, 3, 5, 5), True),
    "elu": (lambda: ELU(0.7), (2, 3, 5, 5), True),
    "maxpool3_s2_ceil": (lambda: MaxPool2d(3, 2, ceil_mode=True), (2, 3, 7, 6), True),
    "maxpool2_floor": (lambda: MaxPool2d(2), (2, 3, 7, 6), True),
    "gap": (GlobalAvgPool2d, (2, 3, 5, 4), True),
    "dropout_train": (lambda: Dropout(0.5, rng=0), (2, 3, 5, 5), True),
    "dropout_eval": (lambda: Dropout(0.5, rng=0), (2, 3, 5, 5), False),
    "linear": (lambda: Linear(5, 3, rng=0), (4, 5), True),
    "flatten": (Flatten, (2, 3, 4, 4), True),
}


def _randomise(layer, rng):
    for k, p in layer.params.items():
        p[...] = rng.standard_normal(p.shape)
    if "running_var" in layer.buffers:
        layer.buffers["running_mean"][...] = rng.standard_normal(layer.buffers["running_mean"].shape)
        layer.buffers["running_var"][...] = rng.uniform(0.5, 2, layer.buffers["running_var"].shape)
    return layer


def _run(layer, x, dout_seed, training):
    if isinstance(layer, Dropout):
        layer.rng = np.random.default_rng(123)
    out = layer.forward(x, training=training)
    dout = np.random.default_rng(dout_seed).standard_normal(out.shape).astype(x.dtype)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_copy, err_msg="backward modified dout")
    return out, dx, {k: g.copy() for k, g in layer.grads.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(CASES))
def test_dtype_kept_and_inputs_untouched(name, dtype):
    factory, shape, training = CASES[name]
    rng = np.random.default_rng(0)
    layer = _randomise(factory().astype(dtype), rng)
    x = rng.standard_normal(shape).astype(dtype)
    x_copy = x.copy()
    params = {k: p.copy() for k, p in layer.params.items()}
    out, dx, grads = _run(layer, x, 1, training)
    np.testing.assert_array_equal(x, x_copy, err_msg="forward/backward modified x")
    assert out.dtype == dtype and dx.dtype == dtype
    assert dx.shape == x.shape
    assert set(grads) == set(layer.params)
    for k in params:
        assert grads[k].shape == params[k].shape and grads[k].dtype == params[k].dtype == dtype
        np.testing.assert_array_equal(layer.params[k], params[k], err_msg="backward modified a parameter")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(CASES))
def test_reference_backend_gives_same_numbers(name, dtype):
    factory, shape, training = CASES[name]
    rng = np.random.default_rng(1)
    fast = _randomise(factory().astype(dtype), rng)
    ref = copy.deepcopy(fast)
    x = rng.standard_normal(shape).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert ops.get_backend() == "numba"
    out_f, dx_f, g_f = _run(fast, x, 2, training)
    with ops.reference_backend():
        assert ops.get_backend() == "reference"
        out_r, dx_r, g_r = _run(ref, x, 2, training)
    assert ops.get_backend() == "numba"
    assert out_r.dtype == out_f.dtype and dx_r.dtype == dx_f.dtype
    np.testing.assert_allclose(out_f, out_r, **tol)
    np.testing.assert_allclose(dx_f, dx_r, **tol)
    for k in g_f:
        np.testing.assert_allclose(g_f[k], g_r[k], err_msg=k, **tol)
    for k in fast.buffers:
        np.testing.assert_allclose(fast.buffers[k], ref.buffers[k], err_msg=k, **tol)


def test_merge_layers_keep_dtype_and_inputs():
    for dtype in (np.float32, np.float64):
        rng = np.random.default_rng(0)
        xs = [rng.standard_normal((2, c, 3, 3)).astype(dtype) for c in (1, 2)]
        copies = [x.copy() for x in xs]
        for layer, inputs in ((Concat(), xs), (Add(), [xs[1], xs[1] * 2])):
            out = layer.forward(*inputs)
            dout = rng.standard_normal(out.shape).astype(dtype)
            dout_copy = dout.copy()
            dxs = layer.backward(dout)
            assert out.dtype == dtype and all(d.dtype == dtype for d in dxs)
            np.testing.assert_array_equal(dout, dout_copy)
        for x, c in zip(xs, copies):
            np.testing.assert_array_equal(x, c)


# --------------------------------------------------------------------------------------------------
# Bad input: ValueError naming the layer, what was expected and what was received
# --------------------------------------------------------------------------------------------------
FOUR_D = {  # name -> (factory, channels or None)
    "Conv2d": (lambda: Conv2d(3, 4, 3, padding=1), 3),
    "ConvTranspose2d": (lambda: ConvTranspose2d(3, 2, 3), 3),
    "BatchNorm2d": (lambda: BatchNorm2d(3), 3),
    "MaxPool2d": (lambda: MaxPool2d(2), None),
    "GlobalAvgPool2d": (GlobalAvgPool2d, None),
}
ANY_D = {"ReLU": ReLU, "ELU": ELU, "Dropout": Dropout, "Flatten": Flatten}


@pytest.mark.parametrize("name", list(FOUR_D))
def test_bad_input_4d_layers(name):
    factory, C = FOUR_D[name]
    layer = factory()
    with pytest.raises(ValueError, match=rf"^{name}: expected a 4-D input, got shape \(2, 3, 5\)$"):
        layer.forward(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=rf"^{name}: expected dtype float32 or float64, got int64 with shape "
                                         rf"\(2, 3, 5, 5\)$"):
        layer.forward(np.zeros((2, 3, 5, 5), np.int64))
    with pytest.raises(ValueError, match=rf"^{name}: expected a non-empty batch, got shape \(0, 3, 5, 5\)$"):
        layer.forward(np.zeros((0, 3, 5, 5), np.float32))
    if C is not None:
        with pytest.raises(ValueError, match=rf"^{name}: expected {C} channels on axis 1, got shape \(2, 5, 5, 5\)$"):
            layer.forward(np.zeros((2, 5, 5, 5), np.float32))


@pytest.mark.parametrize("name", list(ANY_D))
def test_bad_input_any_d_layers(name):
    layer = ANY_D[name]()
    with pytest.raises(ValueError, match=rf"^{name}: expected dtype float32 or float64, got int32 with shape \(2, 3\)$"):
        layer.forward(np.zeros((2, 3), np.int32))
    with pytest.raises(ValueError, match=rf"^{name}: expected a non-empty batch, got shape \(0, 3\)$"):
        layer.forward(np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match=rf"^{name}: expected a numpy.ndarray, got list$"):
        layer.forward([1.0, 2.0])


def test_bad_input_linear_and_loss():
    layer = Linear(5, 3)
    with pytest.raises(ValueError, match=r"^Linear: expected a 2-D input, got shape \(2, 5, 1\)$"):
        layer.forward(np.zeros((2, 5, 1), np.float32))
    with pytest.raises(ValueError, match=r"^Linear: expected 5 channels on axis 1, got shape \(2, 4\)$"):
        layer.forward(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"^Linear: expected dtype float32 or float64, got int64"):
        layer.forward(np.zeros((2, 5), np.int64))
    with pytest.raises(ValueError, match=r"^Linear: expected a non-empty batch, got shape \(0, 5\)$"):
        layer.forward(np.zeros((0, 5), np.float32))
    from squeezenp.layers import SoftmaxCrossEntropy
    with pytest.raises(ValueError, match=r"^SoftmaxCrossEntropy: expected a 2-D input, got shape \(2, 3, 1\)$"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3, 1)), np.zeros(2, int))
    with pytest.raises(ValueError, match=r"^SoftmaxCrossEntropy: expected dtype float32 or float64, got int64"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3), np.int64), np.zeros(2, int))


def test_bad_input_merge_layers():
    for layer in (Concat(), Add()):
        name = type(layer).__name__
        with pytest.raises(ValueError, match=rf"^{name}: expected dtype float32 or float64, got int64 with shape "
                                             rf"\(1, 2, 3, 3\)$"):
            layer.forward(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 3), np.int64))
        with pytest.raises(ValueError, match=rf"^{name}: expected a non-empty batch, got shape \(0, 2, 3, 3\)$"):
            layer.forward(np.zeros((0, 2, 3, 3)))
        with pytest.raises(ValueError, match=rf"^{name}: expected at least one input, got none$"):
            layer.forward()


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][2]])
def test_bad_upstream_gradient(name):
    factory, shape, training = CASES[name]
    layer = factory()
    with pytest.raises(RuntimeError, match=rf"^{re.escape(type(layer).__name__)}: backward called without a forward"):
        layer.backward(np.zeros(shape, np.float32))
    out = layer.forward(np.ones(shape, np.float32), training=True)
    bad = np.zeros(out.shape[:-1] + (out.shape[-1] + 1,), np.float32)
    with pytest.raises(ValueError, match=rf"^{re.escape(type(layer).__name__)}: expected an upstream gradient of "
                                         rf"shape {re.escape(str(out.shape))}, got {re.escape(str(bad.shape))}$"):
        layer.backward(bad)


# --------------------------------------------------------------------------------------------------
# Forward hooks, Sequential, fuse
# --------------------------------------------------------------------------------------------------
def test_forward_hooks_see_every_call_until_removed():
    from squeezenp.core import Sequential
    conv, relu = Conv2d(2, 3, 3, padding=1, rng=0), ReLU()
    net = Sequential(conv, relu, names=["conv", "relu"])
    seen = []
    handles = [layer.register_forward_hook(lambda layer, args, out: seen.append((layer, args[0].shape, out.shape)))
               for layer in (conv, relu)]
    x = np.ones((2, 2, 5, 5), np.float32)
    out = net(x)
    assert [(type(l).__name__, a, o) for l, a, o in seen] == [("Conv2d", x.shape, out.shape),
                                                              ("ReLU", out.shape, out.shape)]
    for h in handles:
        h.remove()
        h.remove()                                     # twice is harmless
    net(x)
    assert len(seen) == 2
    assert list(net.state_dict()) == ["conv.weight", "conv.bias"]
    dx = net.backward(np.ones_like(out))
    assert dx.shape == x.shape


def test_sequential_needs_one_name_per_layer():
    from squeezenp.core import Sequential
    with pytest.raises(ValueError, match="2 layers but 1 names"):
        Sequential(ReLU(), ReLU(), names=["a"])


def test_fuse_sets_the_flag_on_every_layer_below_and_unfused_restores_it():
    from squeezenp.core import Sequential
    net = Sequential(Conv2d(1, 1, 1), Sequential(ReLU()))
    assert not any(l.fused for _, l in net.named_layers())
    assert net.fuse() is net and net.fused and all(l.fused for _, l in net.named_layers())
    net.fuse(False)
    assert not net.fused and not any(l.fused for _, l in net.named_layers())
    net.fuse()
    with pytest.raises(KeyError):
        with net.unfused():
            assert not net.fused and not any(l.fused for _, l in net.named_layers())
            raise KeyError("inside")
    assert net.fused and all(l.fused for _, l in net.named_layers())      # restored, also on error


# --------------------------------------------------------------------------------------------------
# backward assigns the gradients, it never adds to them
# --------------------------------------------------------------------------------------------------
def _containers():
    from squeezenp.models import CustomFire, Fire, create
    return {"fire": (lambda: Fire(3, 2, 2, 3, rng=0), (2, 3, 5, 5)),
            "custom_fire": (lambda: CustomFire(3, 2, 2, 3, rng=0), (2, 3, 5, 5)),
            "squeezenet_bypass": (lambda: create("squeezenet_bypass", input_size=31).set_dropout(False),
                                  (2, 3, 31, 31)),
            "proposed": (lambda: create("proposed", input_size=31).set_dropout(False), (2, 3, 31, 31))}


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][2]] + ["fire", "custom_fire", "squeezenet_bypass",
                                                                     "proposed"])
def test_backward_assigns_gradients(name):
    """Two training steps of one layer leave the second step's gradients (what a fresh copy computes from the
    second upstream gradient alone), not their sum; and a second backward of the same forward gives the same."""
    factory, shape = (CASES[name][0], CASES[name][1]) if name in CASES else _containers()[name]
    rng = np.random.default_rng(7)
    layer = factory().astype(np.float64)
    for _, p, _ in layer.named_parameters():
        p[...] = rng.standard_normal(p.shape) * 0.5
    fresh = copy.deepcopy(layer)
    x = rng.standard_normal(shape)
    _run(layer, x, 1, True)
    _, dx, grads = _run(layer, x, 2, True)
    _, dx_fresh, grads_fresh = _run(fresh, x, 2, True)
    got = {k: g.copy() for k, _, g in layer.named_parameters()}
    want = {k: g.copy() for k, _, g in fresh.named_parameters()}
    assert set(got) == set(want)
    assert all(np.any(g != 0) for g in want.values())            # real gradients, not all zeros
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(dx, dx_fresh, rtol=1e-12, atol=1e-12)
    dout = np.random.default_rng(2).standard_normal(layer.forward(x, training=True).shape)
    layer.backward(dout)
    once = {k: g.copy() for k, _, g in layer.named_parameters()}
    layer.backward(dout)
    for k, _, g in layer.named_parameters():
        np.testing.assert_array_equal(g, once[k], err_msg=k)
