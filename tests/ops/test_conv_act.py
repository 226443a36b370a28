"""The fused convolution + activation of evaluation (squeezenp/ops/conv_act.py) against its textbook twin
(squeezenp/functional/conv_act.py): ReLU and ELU, float32 and float64, strided and padded, batch 1 and larger;
the fused conv -> activation -> max pool of training, forward and backward, the same way; its masked scatter
against its reference."""
import numpy as np
import pytest

from squeezenp import functional
from squeezenp.ops import conv_act as fast


@pytest.mark.parametrize("activation", ["relu", "elu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,stride,padding", [(1, 2, 0), (3, 2, 0), (2, 1, 1)])
def test_fused_conv_act_matches_textbook(activation, dtype, N, stride, padding):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((N, 3, 9, 8)).astype(dtype)
    w, b = rng.standard_normal((5, 3, 3, 3)).astype(dtype), rng.standard_normal(5).astype(dtype)
    want = functional.conv2d_act_inference(x, w, b, stride, padding, activation, 0.7)
    got = fast.conv2d_act_inference(x, w, b, stride, padding, activation, 0.7, workspace={})
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert (want < 0).any() == (activation == "elu") and (want == 0).any() == (activation == "relu")
    np.testing.assert_allclose(fast.conv2d_act_inference(x, w, None, stride, padding, activation, 0.7),
                               functional.conv2d_act_inference(x, w, None, stride, padding, activation, 0.7),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("activation", ["relu", "elu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,size,stride,padding,ceil_mode", [(1, 15, 2, 0, True), (3, 16, 2, 0, True),
                                                              (5, 13, 1, 1, False), (2, 18, 2, 1, True)])
def test_fused_conv_act_pool_matches_textbook(activation, dtype, N, size, stride, padding, ceil_mode):
    """Pooling before bias and activation gives the textbook's numbers, windows over the edge (ceil mode) too;
    more images than threads and fewer; the workspace's scratch reused by a second call."""
    rng = np.random.default_rng(size)
    x = rng.standard_normal((N, 3, size, size - 1)).astype(dtype)
    w, b = rng.standard_normal((6, 3, 3, 3)).astype(dtype), rng.standard_normal(6).astype(dtype)
    want = functional.conv2d_act_pool_inference(x, w, b, stride, padding, activation, 0.7, 3, 2, ceil_mode)
    work = {}
    for _ in range(2):
        got = fast.conv2d_act_pool_inference(x, w, b, stride, padding, activation, 0.7, 3, 2, ceil_mode,
                                             workspace=work)
        assert got.dtype == want.dtype and got.shape == want.shape
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    conv = functional.conv2d_act_inference(x, w, b, stride, padding, activation, 0.7)
    assert want.shape[2:] != conv.shape[2:]                                         # it did pool
    np.testing.assert_allclose(fast.conv2d_act_pool_inference(x, w, None, stride, padding, activation, 0.7, 3, 2,
                                                              ceil_mode),
                               functional.conv2d_act_pool_inference(x, w, None, stride, padding, activation, 0.7, 3,
                                                                    2, ceil_mode), rtol=tol, atol=tol)


@pytest.mark.parametrize("activation", ["relu", "elu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N,size,stride,padding,ceil_mode", [(1, 15, 2, 0, True), (3, 16, 2, 0, True),
                                                              (5, 13, 1, 1, False), (2, 18, 2, 1, True)])
def test_fused_conv_act_pool_training_matches_textbook(activation, dtype, N, size, stride, padding, ceil_mode):
    """Output, input, weight and bias gradients as the textbook's (which runs the three layers one after the
    other, keeping the activation); with and without the input gradient; the workspace reused by a second step;
    many ties at zero after ReLU (the pooled gradient masked where the window's maximum is 0)."""
    rng = np.random.default_rng(size + N)
    x = rng.standard_normal((N, 3, size, size - 1)).astype(dtype)
    w, b = rng.standard_normal((6, 3, 3, 3)).astype(dtype), rng.standard_normal(6).astype(dtype) - 1.0
    want, cache = functional.conv2d_act_pool_forward(x, w, b, stride, padding, activation, 0.7, 3, 2, ceil_mode)
    dout = rng.standard_normal(want.shape).astype(dtype)
    want_grads = functional.conv2d_act_pool_backward(dout, cache)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    work = {}
    for input_grad in (True, False):
        got, fast_cache = fast.conv2d_act_pool_forward(x, w, b, stride, padding, activation, 0.7, 3, 2, ceil_mode,
                                                       workspace=work)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        dx, dw, db = fast.conv2d_act_pool_backward(dout, fast_cache, input_grad, workspace=work)
        if input_grad:
            assert dx.dtype == dtype
            np.testing.assert_allclose(dx, want_grads[0], rtol=10 * tol, atol=10 * tol)
        else:
            assert dx is None
        assert dw.dtype == db.dtype == dtype
        np.testing.assert_allclose(dw, want_grads[1], rtol=10 * tol, atol=10 * tol)
        np.testing.assert_allclose(db, want_grads[2], rtol=10 * tol, atol=10 * tol)
    if activation == "relu":
        assert (want == 0).any()                              # some windows' maximum is 0: masked
    _, c = fast.conv2d_act_pool_forward(x, w, None, stride, padding, activation, 0.7, 3, 2, ceil_mode)
    assert fast.conv2d_act_pool_backward(dout, c)[2] is None


@pytest.mark.parametrize("activation,code", [("relu", 1), ("elu", 2)])
def test_unpool_act_backward_kernel_matches_reference(activation, code):
    """Overlapping windows (3x3, stride 2) send gradient to the same element: the scatter adds."""
    rng = np.random.default_rng(4)
    z = rng.standard_normal((4, 9, 9))
    pooled, (_, argmax) = functional.maxpool2d_forward(z[None], 3, 2, True)
    out, argmax = pooled[0], argmax[0].astype(np.int32)
    dout = rng.standard_normal(out.shape)
    want, got = np.empty((4, 81)), np.empty((4, 81))
    sums_want = fast.unpool_act_backward_reference(dout, out, argmax, activation, 0.7, want)
    sums = np.empty(4)
    fast.unpool_act_backward_image(dout, out, argmax, code, 0.7, got, sums)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sums, sums_want, rtol=1e-12, atol=1e-12)
    assert np.bincount(argmax.ravel()).max() > 1                 # some element took two windows' gradient
