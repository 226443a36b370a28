"""ELU: the Numba twin against the textbook function (float32 and float64), values against the definition, and
no overflow for large inputs."""
import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp import functional
from squeezenp.ops import elu as fast
from strategies import any_shapes, float_dtypes, seeds


def elu_forward(x, alpha):
    return fast.elu_forward(x, alpha)[0]


def elu_forward_reference(x, alpha):
    return functional.elu_forward(x, alpha)[0]


def elu_backward(dout, x, out, alpha):
    return fast.elu_backward(dout, (x, out, alpha))


def elu_backward_reference(dout, x, out, alpha):
    return functional.elu_backward(dout, (x, out, alpha))


SETTINGS = settings(deadline=None, max_examples=30)
TOL = {"float32": dict(rtol=1e-6, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}
alphas = st.floats(0.1, 3.0)


@SETTINGS
@given(shape=any_shapes(), dtype=float_dtypes, alpha=alphas, seed=seeds)
def test_elu_forward_kernel_matches_reference(shape, dtype, alpha, seed):
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(dtype)
    x_copy = x.copy()
    ref, fast = elu_forward_reference(x, alpha), elu_forward(x, alpha)
    assert ref.dtype == fast.dtype == x.dtype and ref.shape == fast.shape == x.shape
    np.testing.assert_allclose(fast, ref, **TOL[dtype])
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(ref, np.where(x64 > 0, x64, alpha * (np.exp(x64) - 1)), **TOL[dtype])
    np.testing.assert_array_equal(x, x_copy)


@SETTINGS
@given(shape=any_shapes(), dtype=float_dtypes, alpha=alphas, seed=seeds)
def test_elu_backward_kernel_matches_reference(shape, dtype, alpha, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    out = elu_forward_reference(x, alpha)
    dout = rng.standard_normal(shape).astype(dtype)
    copies = [a.copy() for a in (dout, x, out)]
    ref, fast = elu_backward_reference(dout, x, out, alpha), elu_backward(dout, x, out, alpha)
    assert ref.dtype == fast.dtype == dout.dtype and ref.shape == fast.shape == x.shape
    np.testing.assert_allclose(fast, ref, **TOL[dtype])
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(ref, dout * np.where(x64 > 0, 1.0, alpha * np.exp(x64)), rtol=1e-5, atol=1e-6)
    for a, c in zip((dout, x, out), copies):
        np.testing.assert_array_equal(a, c)


def test_elu_large_inputs_do_not_overflow():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (elu_forward_reference, elu_forward):
            out = f(x, 1.0)
            assert np.all(np.isfinite(out))
            np.testing.assert_allclose(out, [-1.0, -1.0, 0.0, 50.0, 1e4])


def test_elu_forward_kernel_relative_accuracy_on_a_grid():
    """The float32 kernel's own expm1 must keep full relative accuracy for tiny |x| and saturate at -alpha."""
    neg = -np.concatenate([np.logspace(-30, 2, 2000), np.linspace(0, 40, 2001)])
    for dtype, rtol in ((np.float32, 5e-7), (np.float64, 1e-14)):
        x = np.concatenate([neg, -neg]).astype(dtype)
        for alpha in (1.0, 0.3):
            fast, ref = elu_forward(x, alpha), elu_forward_reference(x, alpha)
            assert fast.dtype == dtype
            np.testing.assert_allclose(fast, ref, rtol=rtol, atol=0)
            exact = np.where(x > 0, x.astype(np.float64), alpha * np.expm1(x.astype(np.float64)))
            np.testing.assert_allclose(fast, exact, rtol=2 * rtol, atol=0)
