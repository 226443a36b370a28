"""conv_transpose2d_forward / backward: float64 gradient checks over drawn shapes, and the adjoint identity
<conv2d(x), y> == <x, conv_transpose2d(y)> for shared weights."""
import numpy as np
from hypothesis import given, settings

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import conv2d_forward, conv_transpose2d_backward, conv_transpose2d_forward
from strategies import adjoint_cases, conv_transpose_cases, seeds

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(case=conv_transpose_cases(), seed=seeds)
def test_conv_transpose2d_gradients(case, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape)
    w = rng.standard_normal((case.C_in, case.C_out, case.K, case.K))
    b = rng.standard_normal(case.C_out) if seed % 4 else None
    out, _, _ = check_function_gradients(conv_transpose2d_forward, conv_transpose2d_backward,
                                         (x, w, b, case.S, case.P), {0: 0, 1: 1, 2: 2} if b is not None else
                                         {0: 0, 1: 1}, rng)
    assert out.shape == (case.N, case.C_out) + case.out_hw


@SETTINGS
@given(case=adjoint_cases(), seed=seeds)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(case, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((case.C_out, case.C_in, case.K, case.K))     # conv2d layout = transposed layout
    x = rng.standard_normal(case.x_shape)
    y = rng.standard_normal((case.N, case.C_out) + case.out_hw)
    lhs = np.sum(conv2d_forward(x, w, None, case.S, case.P)[0] * y)
    rhs = np.sum(x * conv_transpose2d_forward(y, w, None, case.S, case.P)[0])
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)
