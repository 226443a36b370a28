"""ReLU and ELU layers: central-difference input gradients with inputs kept away from the kink at 0."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.layers import ELU, ReLU
from strategies import any_shapes, seeds
from squeezenp.core.gradcheck import away_from_zero, check_layer_gradients

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(shape=any_shapes(), seed=seeds)
def test_relu_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng.standard_normal(shape))
    out, _, _ = check_layer_gradients(ReLU(), x, rng)
    np.testing.assert_array_equal(out, np.maximum(x, 0))


@SETTINGS
@given(shape=any_shapes(), alpha=st.floats(0.2, 2.0), seed=seeds)
def test_elu_gradients(shape, alpha, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng.standard_normal(shape) * 2)
    out, _, _ = check_layer_gradients(ELU(alpha), x, rng)
    np.testing.assert_allclose(out, np.where(x > 0, x, alpha * (np.exp(x) - 1)), rtol=1e-12, atol=1e-12)
