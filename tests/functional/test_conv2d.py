"""conv2d_forward / conv2d_backward: output size, float64 gradient checks of x, w and b over drawn shapes
(stride larger than the kernel and padding included), rectangular kernels, no bias."""
import numpy as np
from hypothesis import example, given, settings

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import conv2d_backward, conv2d_forward
from strategies import ConvCase, conv_cases, seeds

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(case=conv_cases(), seed=seeds)
@example(case=ConvCase(2, 3, 2, 7, 6, 2, 4, 1), seed=0)     # stride > kernel, padding
@example(case=ConvCase(3, 2, 2, 4, 4, 1, 1, 0), seed=1)     # pointwise
def test_conv2d_gradients(case, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape)
    w = rng.standard_normal((case.C_out, case.C_in, case.K, case.K))
    b = rng.standard_normal(case.C_out)
    out, _, _ = check_function_gradients(conv2d_forward, conv2d_backward, (x, w, b, case.S, case.P),
                                         {0: 0, 1: 1, 2: 2}, rng)
    assert out.shape == (case.N, case.C_out) + case.out_hw and out.dtype == np.float64


def test_conv2d_rectangular_and_without_bias():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2))
    out, _, grads = check_function_gradients(conv2d_forward, conv2d_backward, (x, w, None, (2, 1), (1, 0)),
                                             {0: 0, 1: 1}, rng)
    assert out.shape == (2, 3, (6 + 2 - 3) // 2 + 1, 5 - 2 + 1)
    assert grads[2] is None
