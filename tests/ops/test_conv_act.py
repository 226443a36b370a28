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
