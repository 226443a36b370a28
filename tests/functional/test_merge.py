"""concat and add: float64 gradient checks of every input (concat backward is a split, add backward a copy
of dout to each input)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.core.gradcheck import assert_grad_close, numerical_grad
from squeezenp.functional import add_backward, add_forward, concat_backward, concat_forward
from strategies import seeds

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(channels=st.lists(st.integers(1, 3), min_size=1, max_size=3), axis=st.integers(0, 3), seed=seeds)
def test_concat_gradients(channels, axis, seed):
    rng = np.random.default_rng(seed)
    base = [2, 3, 2, 3]
    xs = [rng.standard_normal(base[:axis] + [c] + base[axis + 1:]) for c in channels]
    out, cache = concat_forward(xs, axis)
    assert out.shape[axis] == sum(channels)
    dout = rng.standard_normal(out.shape)
    dxs = concat_backward(dout, cache)
    for k, x in enumerate(xs):
        assert_grad_close(dxs[k], numerical_grad(lambda _: concat_forward(xs, axis)[0], x, dout), f"concat input {k}")


@SETTINGS
@given(k=st.integers(1, 3), seed=seeds)
def test_add_gradients(k, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((2, 3, 2, 2)) for _ in range(k)]
    copies = [x.copy() for x in xs]
    out, cache = add_forward(xs)
    np.testing.assert_allclose(out, sum(copies))
    dout = rng.standard_normal(out.shape)
    dxs = add_backward(dout, cache)
    assert len(dxs) == k
    for i, x in enumerate(xs):
        assert_grad_close(dxs[i], numerical_grad(lambda _: add_forward(xs)[0], x, dout), f"add input {i}")
    for x, c in zip(xs, copies):
        np.testing.assert_array_equal(x, c)
