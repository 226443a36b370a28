"""Batch normalisation over the channels of an NCHW tensor (Ioffe and Szegedy 2015).

Statistics are per channel, over the axes (N, H, W): ``M = N*H*W`` values per channel.

Forward (training)::

    mu = mean(x),  var = mean((x - mu)^2)              (biased, used to normalise)
    x_hat = (x - mu) * inv_std,   inv_std = 1 / sqrt(var + eps)
    out = gamma * x_hat + beta

Backward (training; the batch statistics depend on x)::

    dgamma = sum(dout * x_hat),  dbeta = sum(dout)
    dx = gamma * inv_std / M * (M * dout - dbeta - x_hat * dgamma)

In evaluation the running statistics are constants, so ``dx = dout * gamma * inv_std``.

Shapes: x, out, dout, dx (N, C, H, W); gamma, beta, mean, var (C,). Reference and Numba kernel side by
side with the same signatures; tests in ``tests/ops/test_batchnorm.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


# --------------------------------------------------------------------------------------------------
# Readable references
# --------------------------------------------------------------------------------------------------
def batchnorm_forward_reference(x, gamma, beta, eps):
    """Training forward. Returns ``(out, x_hat, mean, var, inv_std)`` with biased ``var``."""
    mean = x.mean(axis=(0, 2, 3))
    var = ((x - mean[None, :, None, None]) ** 2).mean(axis=(0, 2, 3))
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    x_hat = (x - mean[None, :, None, None]) * inv_std[None, :, None, None]
    out = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
    return out, x_hat, mean, var, inv_std


def batchnorm_backward_reference(dout, x_hat, gamma, inv_std):
    """Training backward. Returns ``(dx, dgamma, dbeta)``."""
    M = dout.shape[0] * dout.shape[2] * dout.shape[3]
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
    dx = (gamma * inv_std / M)[None, :, None, None] * (
        M * dout - dbeta[None, :, None, None] - x_hat * dgamma[None, :, None, None])
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------------------------------
# Numba kernels (same signatures); parallel over channels, each channel owned by one thread
# --------------------------------------------------------------------------------------------------
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


def batchnorm_forward(x, gamma, beta, eps):
    """Numba twin of :func:`batchnorm_forward_reference`."""
    C = x.shape[1]
    out, x_hat = np.empty_like(x), np.empty_like(x)
    mean, var, inv_std = (np.empty(C, dtype=x.dtype) for _ in range(3))
    N, _, H, W = x.shape
    _bn_forward_kernel(np.ascontiguousarray(x).reshape(N, C, H * W), gamma.astype(x.dtype, copy=False),
                       beta.astype(x.dtype, copy=False), eps, out.reshape(N, C, H * W),
                       x_hat.reshape(N, C, H * W), mean, var, inv_std)
    return out, x_hat, mean, var, inv_std


def batchnorm_backward(dout, x_hat, gamma, inv_std):
    """Numba twin of :func:`batchnorm_backward_reference`."""
    C = dout.shape[1]
    dx = np.empty_like(dout)
    dgamma, dbeta = np.empty(C, dtype=dout.dtype), np.empty(C, dtype=dout.dtype)
    N, _, H, W = dout.shape
    _bn_backward_kernel(np.ascontiguousarray(dout).reshape(N, C, H * W),
                        np.ascontiguousarray(x_hat).reshape(N, C, H * W), gamma.astype(dout.dtype, copy=False),
                        inv_std, dx.reshape(N, C, H * W), dgamma, dbeta)
    return dx, dgamma, dbeta
