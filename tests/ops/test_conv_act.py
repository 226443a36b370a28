"""The fused convolution + activation of evaluation (squeezenp/ops/conv_act.py) against its textbook twin
(squeezenp/functional/conv_act.py): ReLU and ELU, float32 and float64, strided and padded, batch 1 and larger."""
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
