"""Fire and CustomFire: shapes, names, concat order, gradients of the input and of every parameter (float64,
random upstream gradient), the fused evaluation forward and the fused training forward and backward."""
import numpy as np
import pytest

from squeezenp.core.gradcheck import check_layer_gradients
from squeezenp.models import CustomFire, Fire


@pytest.mark.parametrize("cls", [Fire, CustomFire])
def test_shapes_names_and_keys(cls):
    fire = cls(6, 3, 4, 5, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 6, 5, 7)).astype(np.float32)
    out = fire.forward(x)
    assert out.shape == (2, 9, 5, 7) and out.dtype == np.float32
    keys = list(fire.state_dict())
    expected = ["squeeze1x1.weight", "squeeze1x1.bias"]
    if cls is CustomFire:
        expected += ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
    expected += ["expand1x1.weight", "expand1x1.bias", "expand3x3.weight", "expand3x3.bias"]
    assert keys == expected
    assert fire.expand3x3.padding == (1, 1)


def test_fire_matches_hand_computation_and_concat_order():
    fire = Fire(3, 2, 2, 3, rng=1).eval()
    x = np.random.default_rng(1).standard_normal((1, 3, 4, 4))
    fire.astype(np.float64)
    out = fire.forward(x)
    relu = lambda t: np.maximum(t, 0)
    s = relu(fire.squeeze1x1.forward(x))
    np.testing.assert_allclose(out[:, :2], relu(fire.expand1x1.forward(s)))
    np.testing.assert_allclose(out[:, 2:], relu(fire.expand3x3.forward(s)))


def test_custom_fire_uses_bn_and_elu():
    fire = CustomFire(3, 2, 2, 2, rng=1).astype(np.float64)
    x = np.random.default_rng(2).standard_normal((4, 3, 3, 3)) * 5 + 3
    out = fire.forward(x, training=True)
    s = fire.squeeze1x1.forward(x)
    s_hat = (s - s.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(s.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    elu = lambda t: np.where(t > 0, t, np.expm1(np.minimum(t, 0)))
    np.testing.assert_allclose(out[:, :2], elu(fire.expand1x1.forward(elu(s_hat))), rtol=1e-10, atol=1e-12)
    assert (out < 0).any()          # ELU, not ReLU


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cls", [Fire, CustomFire])
def test_gradients_of_the_input_and_every_parameter(cls, training):
    """dx and the gradient of all of squeeze1x1, [bn], expand1x1, expand3x3 (weights and biases) against central
    differences; BN with batch statistics (training) and with random running statistics (evaluation)."""
    rng = np.random.default_rng(3)
    fire = cls(3, 2, 2, 3, rng=4).astype(np.float64)
    for _, p, _ in fire.named_parameters():
        p[...] = rng.standard_normal(p.shape)
    if cls is CustomFire:
        fire.bn.buffers["running_mean"][...] = rng.standard_normal(2)
        fire.bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, 2)
    x = rng.standard_normal((2, 3, 4, 4))
    check_layer_gradients(fire, x, rng, training=training)
    expected = {"squeeze1x1.weight", "squeeze1x1.bias", "expand1x1.weight", "expand1x1.bias", "expand3x3.weight",
                "expand3x3.bias"} | ({"bn.weight", "bn.bias"} if cls is CustomFire else set())
    assert {k for k, _, _ in fire.named_parameters()} == expected


@pytest.mark.parametrize("custom", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_inference_matches_layer_by_layer(custom, dtype):
    """Fire's fused evaluation path (GEMMs into slices with their epilogues) gives the layer-by-layer numbers."""
    from squeezenp.models.fire import CustomFire, Fire
    fire = (CustomFire if custom else Fire)(8, 4, 5, 6, rng=0, dtype=dtype)
    rng = np.random.default_rng(1)
    for _, v in fire.named_buffers():
        v[...] = rng.uniform(0.5, 1.5, v.shape)
    for _, p, _ in fire.named_parameters():
        p[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((3, 8, 7, 9)).astype(dtype)
    calls = []
    fire.expand1x1.register_forward_hook(lambda layer, args, out: calls.append(layer))
    assert not fire.fused                                    # a fresh module is not fused
    plain = fire.forward(x, training=False)
    assert calls == [fire.expand1x1]                         # the layer-by-layer path calls the children
    assert fire.fuse() is fire and fire.fused and fire.expand1x1.fused
    fused = fire.forward(x, training=False)
    assert calls == [fire.expand1x1]                         # the fused path does not
    fire.fuse(False)
    np.testing.assert_array_equal(fire.forward(x, training=False), plain)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fused, plain, rtol=tol, atol=tol)
    assert fused.shape == plain.shape and fused.dtype == plain.dtype


def test_backward_after_a_fused_inference_forward_is_an_error_not_stale_gradients():
    fire = CustomFire(8, 4, 6, 6, rng=0).fuse()
    x = np.random.default_rng(0).standard_normal((2, 8, 5, 5)).astype(np.float32)
    out = fire.forward(x, training=True)
    fire.backward(np.ones_like(out))                       # the fused training path keeps its cache
    out = fire.forward(x, training=False)                  # fused path, keeps no caches
    with pytest.raises(RuntimeError, match="backward"):
        fire.backward(np.ones_like(out))


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
@pytest.mark.parametrize("cls", [Fire, CustomFire])
def test_fused_training_matches_layer_by_layer_and_gradients(cls, algorithm):
    """After ``fuse()`` the training forward runs the expand branches as ``ops.fire_expand_forward`` (no child
    called); output, dx and every parameter gradient equal the layer-by-layer path's, and a float64 central-
    difference check of dx and every parameter passes on the fused path."""
    rng = np.random.default_rng(8)
    fire = cls(3, 2, 2, 3, rng=4).astype(np.float64)
    fire.expand3x3.algorithm = algorithm
    for _, p, _ in fire.named_parameters():
        p[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((2, 3, 4, 5))
    dout = rng.standard_normal((2, 5, 4, 5))
    state = {k: v.copy() for k, v in fire.state_dict().items()}
    plain = fire.forward(x, training=True)
    dx_plain = fire.backward(dout)
    grads_plain = {k: g.copy() for k, _, g in fire.named_parameters()}
    fire.load_state_dict(state)                              # the running statistics as before
    calls = []
    fire.expand1x1.register_forward_hook(lambda layer, args, out: calls.append(layer))
    fused = fire.fuse().forward(x, training=True)
    assert calls == [] and fire.expand1x1._cache is None and fire.concat._cache is None
    dx_fused = fire.backward(dout)
    np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx_fused, dx_plain, rtol=1e-10, atol=1e-12)
    for k, _, g in fire.named_parameters():
        np.testing.assert_allclose(g, grads_plain[k], rtol=1e-10, atol=1e-12, err_msg=k)
    check_layer_gradients(fire, x, rng, training=True)
