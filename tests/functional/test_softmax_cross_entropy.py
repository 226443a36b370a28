"""softmax_cross_entropy_forward / backward: float64 gradient check with and without class weights and label
smoothing, the loss against its definition, and no overflow for huge logits."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from strategies import seeds


@settings(deadline=None, max_examples=25)
@given(N=st.integers(1, 5), K=st.integers(2, 4), weighted=st.booleans(), smoothing=st.sampled_from([0.0, 0.1, 0.4]),
       seed=seeds)
def test_softmax_cross_entropy_gradient(N, K, weighted, smoothing, seed):
    rng = np.random.default_rng(seed)
    z, y = rng.standard_normal((N, K)) * 3, rng.integers(0, K, N)
    cw = rng.uniform(0.5, 2.0, K) if weighted else None
    loss, _, _ = check_function_gradients(softmax_cross_entropy_forward, softmax_cross_entropy_backward,
                                          (z, y, cw, smoothing), {0: 0}, rng)
    logp = np.log(softmax(z))
    t = np.full((N, K), smoothing / K)
    t[np.arange(N), y] += 1 - smoothing
    w = np.ones(N) if cw is None else cw[y]
    np.testing.assert_allclose(loss, -(w * (t * logp).sum(axis=1)).sum() / w.sum(), rtol=1e-10)


def test_huge_logits_do_not_overflow():
    z = np.array([[1e4, -1e4], [-1e4, 1e4]])
    loss, cache = softmax_cross_entropy_forward(z, np.array([0, 0]))
    assert np.isfinite(loss) and np.isclose(loss, 1e4)
    assert np.all(np.isfinite(softmax_cross_entropy_backward(1.0, cache)))
