"""Batch norm: the Numba twin against the textbook function (float32 and float64), and the textbook function
against its definition. Gradient checks: tests/functional/test_batchnorm2d.py, tests/layers/test_batchnorm.py."""
import numpy as np
from hypothesis import given, settings

from squeezenp import functional
from squeezenp.ops import batchnorm2d as fast
from strategies import float_dtypes, nchw_shapes, seeds


def _forward(f, x, gamma, beta, eps):
    """``(out, x_hat, mean, var, inv_std)`` of a training forward."""
    out, (_, x_hat, _, inv_std, mean, var) = f(x, gamma, beta, eps)
    return out, x_hat, mean, var, inv_std


def batchnorm_forward(x, gamma, beta, eps):
    return _forward(fast.batchnorm2d_forward, x, gamma, beta, eps)


def batchnorm_forward_reference(x, gamma, beta, eps):
    return _forward(functional.batchnorm2d_forward, x, gamma, beta, eps)


def batchnorm_backward(dout, x_hat, gamma, inv_std):
    return fast.batchnorm2d_backward(dout, ("train", x_hat, gamma, inv_std))


def batchnorm_backward_reference(dout, x_hat, gamma, inv_std):
    return functional.batchnorm2d_backward(dout, ("train", x_hat, gamma, inv_std))


SETTINGS = settings(deadline=None, max_examples=30)
TOL = {"float32": dict(rtol=1e-4, atol=1e-4), "float64": dict(rtol=1e-10, atol=1e-10)}


def _inputs(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)).astype(dtype)
    gamma, beta = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    return rng, x, gamma, beta


@SETTINGS
@given(shape=nchw_shapes(), dtype=float_dtypes, seed=seeds)
def test_batchnorm_forward_kernel_matches_reference(shape, dtype, seed):
    _, x, gamma, beta = _inputs(shape, dtype, seed)
    copies = [a.copy() for a in (x, gamma, beta)]
    ref = batchnorm_forward_reference(x, gamma, beta, 1e-5)
    fast = batchnorm_forward(x, gamma, beta, 1e-5)
    for name, r, f in zip(("out", "x_hat", "mean", "var", "inv_std"), ref, fast):
        assert r.dtype == f.dtype == x.dtype, name
        assert r.shape == f.shape, name
        np.testing.assert_allclose(f, r, err_msg=name, **TOL[dtype])
    for a, c in zip((x, gamma, beta), copies):
        np.testing.assert_array_equal(a, c)
    # the reference against its definition (biased variance, per channel over N, H, W)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=(0, 2, 3)), x64.var(axis=(0, 2, 3))
    np.testing.assert_allclose(ref[2], mean, **TOL[dtype])
    np.testing.assert_allclose(ref[3], var, **TOL[dtype])
    expected = gamma[None, :, None, None] * (x64 - mean[None, :, None, None]) / \
        np.sqrt(var[None, :, None, None] + 1e-5) + beta[None, :, None, None]
    np.testing.assert_allclose(ref[0], expected, **TOL[dtype])


@SETTINGS
@given(shape=nchw_shapes(), dtype=float_dtypes, seed=seeds)
def test_batchnorm_backward_kernel_matches_reference(shape, dtype, seed):
    rng, x, gamma, beta = _inputs(shape, dtype, seed)
    _, x_hat, _, _, inv_std = batchnorm_forward_reference(x, gamma, beta, 1e-5)
    dout = rng.standard_normal(shape).astype(dtype)
    copies = [a.copy() for a in (dout, x_hat, gamma, inv_std)]
    ref = batchnorm_backward_reference(dout, x_hat, gamma, inv_std)
    fast = batchnorm_backward(dout, x_hat, gamma, inv_std)
    for name, r, f in zip(("dx", "dgamma", "dbeta"), ref, fast):
        assert r.dtype == f.dtype == dout.dtype, name
        assert r.shape == f.shape, name
        scale = max(1.0, float(np.abs(r).max()))
        np.testing.assert_allclose(f, r, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale, err_msg=name)
    for a, c in zip((dout, x_hat, gamma, inv_std), copies):
        np.testing.assert_array_equal(a, c)
