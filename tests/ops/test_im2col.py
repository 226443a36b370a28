"""im2col / col2im: Numba kernels against the textbook functions, the output-size formula, and the adjoint
identity <im2col(x), c> == <x, col2im(c)> that makes col2im the convolution's input gradient."""
import numpy as np
import pytest
from hypothesis import example, given, settings

from squeezenp.functional import col2im as col2im_reference
from squeezenp.functional import im2col as im2col_reference
from squeezenp.ops import conv_output_size
from squeezenp.ops.im2col import col2im, im2col
from strategies import ConvCase, conv_cases, float_dtypes, seeds

SETTINGS = settings(deadline=None, max_examples=30)
TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-12, atol=1e-12)}


def _args(c):
    return (c.K, c.K, c.S, c.S, c.P, c.P)


@SETTINGS
@given(case=conv_cases(), dtype=float_dtypes, seed=seeds)
@example(case=ConvCase(2, 3, 1, 7, 6, 2, 4, 1), dtype="float32", seed=0)   # stride > kernel
def test_im2col_kernel_matches_reference(case, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(case.x_shape).astype(dtype)
    x_copy = x.copy()
    ref, fast = im2col_reference(x, *_args(case)), im2col(x, *_args(case))
    OH, OW = case.out_hw
    assert ref.shape == fast.shape == (case.N, case.C_in * case.K * case.K, OH * OW)
    assert ref.dtype == fast.dtype == x.dtype
    np.testing.assert_array_equal(fast, ref)            # a copy: no arithmetic, so exactly equal
    np.testing.assert_array_equal(x, x_copy)


@SETTINGS
@given(case=conv_cases(), dtype=float_dtypes, seed=seeds)
@example(case=ConvCase(2, 3, 1, 7, 6, 2, 4, 1), dtype="float64", seed=0)
def test_col2im_kernel_matches_reference(case, dtype, seed):
    OH, OW = case.out_hw
    cols = np.random.default_rng(seed).standard_normal((case.N, case.C_in * case.K ** 2, OH * OW)).astype(dtype)
    cols_copy = cols.copy()
    ref = col2im_reference(cols, case.x_shape, *_args(case))
    fast = col2im(cols, case.x_shape, *_args(case))
    assert ref.shape == fast.shape == case.x_shape
    assert ref.dtype == fast.dtype == cols.dtype
    np.testing.assert_allclose(fast, ref, **TOL[dtype])
    np.testing.assert_array_equal(cols, cols_copy)


@SETTINGS
@given(case=conv_cases(), seed=seeds)
def test_col2im_is_adjoint_of_im2col(case, seed):
    rng = np.random.default_rng(seed)
    OH, OW = case.out_hw
    x = rng.standard_normal(case.x_shape)
    c = rng.standard_normal((case.N, case.C_in * case.K ** 2, OH * OW))
    for fwd, adj in ((im2col_reference, col2im_reference), (im2col, col2im)):
        lhs = np.sum(fwd(x, *_args(case)) * c)
        rhs = np.sum(x * adj(c, case.x_shape, *_args(case)))
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


def test_im2col_layout_by_hand():
    """cols[n, (c*KH + i)*KW + j, oh*OW + ow] = x_padded[n, c, oh*S + i, ow*S + j]."""
    x = np.arange(2 * 2 * 4 * 5, dtype=np.float64).reshape(2, 2, 4, 5)
    K, S, P = 3, 2, 1
    OH, OW = conv_output_size(4, K, S, P), conv_output_size(5, K, S, P)
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    for f in (im2col_reference, im2col):
        cols = f(x, K, K, S, S, P, P)
        for n, c, i, j, oh, ow in np.ndindex(2, 2, K, K, OH, OW):
            assert cols[n, (c * K + i) * K + j, oh * OW + ow] == xp[n, c, oh * S + i, ow * S + j]


@pytest.mark.parametrize("H,K,S,P,expected", [(7, 3, 1, 0, 5), (7, 3, 2, 1, 4), (6, 3, 2, 1, 3), (5, 1, 4, 0, 2),
                                              (224, 3, 2, 0, 111), (4, 4, 1, 2, 5), (1, 3, 3, 1, 1)])
def test_conv_output_size(H, K, S, P, expected):
    assert conv_output_size(H, K, S, P) == expected == (H + 2 * P - K) // S + 1
