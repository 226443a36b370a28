"""Per-channel bias ops (used by the conv layers): Numba kernels against the references, float32 and float64."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.ops.bias import add_bias, add_bias_reference, bias_grad, bias_grad_reference
from strategies import batch, channels, float_dtypes, seeds

SETTINGS = settings(deadline=None, max_examples=30)
TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-12, atol=1e-12)}
shapes = st.tuples(batch, channels, st.integers(1, 49))


@SETTINGS
@given(shape=shapes, dtype=float_dtypes, seed=seeds)
def test_add_bias_kernel_matches_reference(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    out = rng.standard_normal(shape).astype(dtype)
    bias = rng.standard_normal(shape[1]).astype(dtype)
    bias_copy, expected = bias.copy(), out + bias[None, :, None]
    a, b = out.copy(), out.copy()
    ra, rb = add_bias_reference(a, bias), add_bias(b, bias)
    assert ra is a and rb is b                            # in place, as documented
    assert ra.dtype == rb.dtype == out.dtype
    np.testing.assert_allclose(rb, ra, **TOL[dtype])
    np.testing.assert_allclose(ra, expected, **TOL[dtype])
    np.testing.assert_array_equal(bias, bias_copy)
    # a non-contiguous output falls back to the reference and is still updated in place
    c = np.asfortranarray(out)
    np.testing.assert_allclose(add_bias(c, bias), expected, **TOL[dtype])
    np.testing.assert_allclose(c, expected, **TOL[dtype])


@SETTINGS
@given(shape=shapes, dtype=float_dtypes, seed=seeds)
def test_bias_grad_kernel_matches_reference(shape, dtype, seed):
    dout = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    dout_copy = dout.copy()
    ref, fast = bias_grad_reference(dout), bias_grad(dout)
    assert ref.shape == fast.shape == (shape[1],) and ref.dtype == fast.dtype == dout.dtype
    np.testing.assert_allclose(fast, ref, **TOL[dtype])
    np.testing.assert_allclose(ref, dout.astype(np.float64).sum(axis=(0, 2)), **TOL[dtype])
    np.testing.assert_array_equal(dout, dout_copy)
