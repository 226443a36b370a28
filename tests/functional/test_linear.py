"""linear_forward / backward: float64 gradient checks of x, w and b, with and without a bias."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import linear_backward, linear_forward
from strategies import seeds


@settings(deadline=None, max_examples=25)
@given(N=st.integers(1, 4), D=st.integers(1, 6), M=st.integers(1, 5), bias=st.booleans(), seed=seeds)
def test_linear_gradients(N, D, M, bias, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((N, D)), rng.standard_normal((M, D))
    b = rng.standard_normal(M) if bias else None
    out, _, grads = check_function_gradients(linear_forward, linear_backward, (x, w, b),
                                             {0: 0, 1: 1, 2: 2} if bias else {0: 0, 1: 1}, rng)
    np.testing.assert_allclose(out, x @ w.T + (0 if b is None else b), rtol=1e-12)
    assert bias or grads[2] is None
