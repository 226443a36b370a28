"""The fused Fire inference (squeezenp/ops/fire.py) against its textbook twin (squeezenp/functional/fire.py),
with and without batch norm, ReLU and ELU, float32 and float64, batch 1 (rows split over threads) and larger."""
import numpy as np
import pytest

from squeezenp import functional
from squeezenp.ops import fire as fast


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("custom", [False, True])
def test_fused_fire_matches_textbook(custom, dtype, N):
    rng = np.random.default_rng(5)
    C, S, E1, E3 = 8, 4, 5, 6

    def conv(c_out, c_in, k):
        return rng.standard_normal((c_out, c_in, k, k)).astype(dtype), rng.standard_normal(c_out).astype(dtype)
    squeeze, e1, e3 = conv(S, C, 1), conv(E1, S, 1), conv(E3, S, 3)
    bn = (rng.uniform(0.5, 2, S).astype(dtype), rng.standard_normal(S).astype(dtype),
          rng.standard_normal(S).astype(dtype), rng.uniform(0.5, 1.5, S).astype(dtype), 1e-5) if custom else None
    act, alpha = ("elu", 0.7) if custom else ("relu", 1.0)
    x = rng.standard_normal((N, C, 7, 9)).astype(dtype)
    want = functional.fire_inference(x, squeeze, e1, e3, bn, act, alpha)
    assert want.shape == (N, E1 + E3, 7, 9) and want.dtype == dtype
    got = fast.fire_inference(x, squeeze, e1, e3, bn, act, alpha, workspace={})
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert (want < 0).any() == custom                    # ELU goes below zero, ReLU never
