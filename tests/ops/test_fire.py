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


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "elu"])
def test_fused_expand_training_pair_matches_textbook(activation, dtype, N, algorithm):
    """fire_expand_forward/backward: output, ds and both convolutions' weight and bias gradients against the
    textbook pair (which runs conv, activation and concatenation one by one), a workspace reused across calls."""
    rng = np.random.default_rng(6)
    S, E1, E3 = 4, 5, 6
    s = rng.standard_normal((N, S, 7, 9)).astype(dtype)
    e1 = rng.standard_normal((E1, S, 1, 1)).astype(dtype), rng.standard_normal(E1).astype(dtype)
    e3 = rng.standard_normal((E3, S, 3, 3)).astype(dtype), rng.standard_normal(E3).astype(dtype)
    want, cache = functional.fire_expand_forward(s, e1, e3, activation, 0.7)
    dout = rng.standard_normal(want.shape).astype(dtype)
    want_grads = functional.fire_expand_backward(dout, cache)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    workspace = {}
    for _ in range(2):
        got, fast_cache = fast.fire_expand_forward(s, e1, e3, activation, 0.7, workspace=workspace,
                                                   algorithm=algorithm)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        grads = fast.fire_expand_backward(dout, fast_cache, workspace=workspace)
        for g, w, name in zip(grads, want_grads, ("ds", "dw1", "db1", "dw3", "db3")):
            assert g.dtype == w.dtype and g.shape == w.shape, name
            np.testing.assert_allclose(g, w, rtol=tol, atol=10 * tol, err_msg=name)
    with pytest.raises(ValueError, match="fast forward's cache"):
        fast.fire_expand_backward(dout, cache)
