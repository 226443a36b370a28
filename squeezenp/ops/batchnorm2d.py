"""Batch normalisation as Numba kernels: the twin of ``squeezenp/functional/batchnorm2d.py`` (formulas there),
same signatures and caches.

Training forward and backward run parallel over the channels, each channel owned by one thread. Evaluation is
one affine map per channel, a single vectorised NumPy expression already, so it uses the textbook function.
Tests: ``tests/ops/test_batchnorm2d.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..functional import batchnorm2d as textbook


@njit(parallel=True, cache=True, fastmath=True)   # reassociation lets the sums vectorise
def _bn_forward_kernel(x, gamma, beta, eps, out, x_hat, mean, var, inv_std):
    # x, out, x_hat viewed as (N, C, H*W): contiguous inner loops. Statistics in one pass over x, in
    # float64, shifted by the channel's first value (the "shifted data" algorithm: no cancellation when
    # |mean| >> std, unlike the naive sum of squares), then one pass writing x_hat and out.
    N, C, P = x.shape
    M = N * P
    for c in prange(C):
        k = np.float64(x[0, c, 0])
        s = 0.0
        q = 0.0
        for n in range(N):
            for p in range(P):
                d = np.float64(x[n, c, p]) - k
                s += d
                q += d * d
        ds = s / M
        mu = k + ds
        v = max(q / M - ds * ds, 0.0)
        istd = 1.0 / np.sqrt(v + eps)
        mean[c], var[c], inv_std[c] = mu, v, istd
        mu_t, istd_t = x.dtype.type(mu), x.dtype.type(istd)
        g, b = gamma[c], beta[c]
        for n in range(N):
            for p in range(P):
                xh = (x[n, c, p] - mu_t) * istd_t
                x_hat[n, c, p] = xh
                out[n, c, p] = g * xh + b


@njit(parallel=True, cache=True, fastmath=True)
def _bn_backward_kernel(dout, x_hat, gamma, inv_std, dx, dgamma, dbeta):
    N, C, P = dout.shape
    M = N * P
    for c in prange(C):
        sb = 0.0
        sg = 0.0
        for n in range(N):
            for p in range(P):
                d = dout[n, c, p]
                sb += d
                sg += d * x_hat[n, c, p]
        dbeta[c], dgamma[c] = sb, sg
        k = dout.dtype.type(gamma[c] * inv_std[c] / M)
        kM, kb, kg = k * M, k * dout.dtype.type(sb), k * dout.dtype.type(sg)
        for n in range(N):
            for p in range(P):
                dx[n, c, p] = kM * dout[n, c, p] - kb - kg * x_hat[n, c, p]


def batchnorm2d_forward(x, gamma, beta, eps=1e-5, running_mean=None, running_var=None):
    """Numba twin of ``functional.batchnorm2d_forward``."""
    if running_mean is not None:
        return textbook.batchnorm2d_forward(x, gamma, beta, eps, running_mean, running_var)
    N, C, H, W = x.shape
    out, x_hat = np.empty_like(x), np.empty_like(x)
    mean, var, inv_std = (np.empty(C, dtype=x.dtype) for _ in range(3))
    _bn_forward_kernel(np.ascontiguousarray(x).reshape(N, C, H * W), gamma.astype(x.dtype, copy=False),
                       beta.astype(x.dtype, copy=False), eps, out.reshape(N, C, H * W),
                       x_hat.reshape(N, C, H * W), mean, var, inv_std)
    return out, ("train", x_hat, gamma, inv_std, mean, var)


def batchnorm2d_backward(dout, cache):
    """Numba twin of ``functional.batchnorm2d_backward``."""
    if cache[0] != "train":
        return textbook.batchnorm2d_backward(dout, cache)
    _, x_hat, gamma, inv_std = cache[:4]
    N, C, H, W = dout.shape
    dx = np.empty_like(dout)
    dgamma, dbeta = np.empty(C, dtype=dout.dtype), np.empty(C, dtype=dout.dtype)
    _bn_backward_kernel(np.ascontiguousarray(dout).reshape(N, C, H * W),
                        np.ascontiguousarray(x_hat).reshape(N, C, H * W), gamma.astype(dout.dtype, copy=False),
                        inv_std, dx.reshape(N, C, H * W), dgamma, dbeta)
    return dx, dgamma, dbeta
