"""dropout_forward / backward: with the mask's generator reseeded before every call the function is linear in
x, so its gradient checks like any other; the expected output is x."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import dropout_backward, dropout_forward
from strategies import nchw_shapes, seeds


@settings(deadline=None, max_examples=25)
@given(shape=nchw_shapes(), p=st.floats(0.0, 0.9), seed=seeds)
def test_dropout_gradient(shape, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)

    def forward(x):
        return dropout_forward(x, p, np.random.default_rng(seed))

    out, _, _ = check_function_gradients(forward, dropout_backward, (x,), {0: 0}, rng)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-6)


def test_dropout_keeps_the_expectation():
    x = np.ones((200, 50, 2, 2))
    out, _ = dropout_forward(x, 0.5, np.random.default_rng(0))
    assert abs(out.mean() - 1.0) < 0.02 and set(np.unique(out)) == {0.0, 2.0}
