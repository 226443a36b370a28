"""global_avg_pool_forward / backward: float64 gradient check and the mean."""
import numpy as np
from hypothesis import given, settings

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import global_avg_pool_backward, global_avg_pool_forward
from strategies import nchw_shapes, seeds


@settings(deadline=None, max_examples=25)
@given(shape=nchw_shapes(), seed=seeds)
def test_global_avg_pool_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    out, _, _ = check_function_gradients(global_avg_pool_forward, global_avg_pool_backward, (x,), {0: 0}, rng)
    np.testing.assert_allclose(out, x.mean(axis=(2, 3)), rtol=1e-12)
