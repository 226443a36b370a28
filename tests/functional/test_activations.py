"""relu and elu: float64 gradient checks (inputs kept off the kink at 0), values against the definition, dtype
kept, inputs untouched."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.core.gradcheck import away_from_zero, check_function_gradients
from squeezenp.functional import elu_backward, elu_forward, relu_backward, relu_forward
from strategies import any_shapes, float_dtypes, seeds

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(shape=any_shapes(), seed=seeds)
def test_relu_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng.standard_normal(shape))
    out, _, _ = check_function_gradients(relu_forward, relu_backward, (x,), {0: 0}, rng)
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0))


@SETTINGS
@given(shape=any_shapes(), alpha=st.floats(0.1, 3.0), seed=seeds)
def test_elu_gradient(shape, alpha, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng.standard_normal(shape) * 2)
    out, _, _ = check_function_gradients(elu_forward, elu_backward, (x, alpha), {0: 0}, rng)
    np.testing.assert_allclose(out, np.where(x > 0, x, alpha * (np.exp(x) - 1)), rtol=1e-12, atol=1e-12)
    assert elu_forward(x.astype(np.float32), alpha)[0].dtype == np.float32


@SETTINGS
@given(shape=any_shapes(), dtype=float_dtypes, seed=seeds)
def test_relu_matches_definition(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    copies = (x.copy(), dout.copy())
    out, cache = relu_forward(x)
    dx = relu_backward(dout, cache)
    assert out.dtype == dx.dtype == x.dtype
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0))
    np.testing.assert_array_equal(dx, np.where(x > 0, dout, 0))
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(dout, copies[1])
