"""maxpool2d_forward / backward: float64 gradient check on inputs without ties (floor and ceil mode,
overlapping windows, stride larger than the kernel); maxpool2d_inference gives the forward's values."""
import numpy as np
from hypothesis import example, given, settings

from squeezenp.core.gradcheck import check_function_gradients, distinct_values
from squeezenp.functional import maxpool2d_backward, maxpool2d_forward, maxpool2d_inference
from strategies import PoolCase, pool_cases, seeds

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(case=pool_cases(), seed=seeds)
@example(case=PoolCase(2, 3, 7, 6, 3, 2, True), seed=0)      # SqueezeNet's pool: overlapping, ceil mode
def test_maxpool2d_gradient(case, seed):
    rng = np.random.default_rng(seed)
    x = distinct_values(case.x_shape, rng)
    out, _, _ = check_function_gradients(maxpool2d_forward, maxpool2d_backward, (x, case.K, case.S, case.ceil_mode),
                                         {0: 0}, rng)
    assert out.shape == (case.N, case.C) + case.out_hw
    np.testing.assert_array_equal(maxpool2d_inference(x, case.K, case.S, case.ceil_mode), out)
