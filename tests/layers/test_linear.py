"""Linear and Flatten: central-difference gradients of the input, weight and bias."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.layers import Flatten, Linear
from strategies import batch, nchw_shapes, seeds

SETTINGS = settings(deadline=None, max_examples=25)
from squeezenp.core.gradcheck import check_layer_gradients  # noqa: E402


@SETTINGS
@given(N=batch, d_in=st.integers(1, 6), d_out=st.integers(1, 6), bias=st.booleans(), seed=seeds)
def test_linear_gradients(N, d_in, d_out, bias, seed):
    rng = np.random.default_rng(seed)
    layer = Linear(d_in, d_out, bias=bias, rng=rng).astype(np.float64)
    x = rng.standard_normal((N, d_in))
    out, _, _ = check_layer_gradients(layer, x, rng)
    expected = x @ layer.params["weight"].T + (layer.params["bias"] if bias else 0)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_flatten_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    out, _, _ = check_layer_gradients(Flatten(), rng.standard_normal(shape), rng)
    assert out.shape == (shape[0], int(np.prod(shape[1:])))
