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
@njit(parallel=True, cache=True)
def _bn_forward_kernel(x, gamma, beta, eps, out, x_hat, mean, var, inv_std):
    N, C, H, W = x.shape
    M = N * H * W
    for c in prange(C):
        s = 0.0
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    s += x[n, c, h, w]
        mu = s / M
        q = 0.0
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    d = x[n, c, h, w] - mu
                    q += d * d
        v = q / M
        istd = 1.0 / np.sqrt(v + eps)
        mean[c], var[c], inv_std[c] = mu, v, istd
        g, b = gamma[c], beta[c]
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    xh = (x[n, c, h, w] - mu) * istd
                    x_hat[n, c, h, w] = xh
                    out[n, c, h, w] = g * xh + b


@njit(parallel=True, cache=True)
def _bn_backward_kernel(dout, x_hat, gamma, inv_std, dx, dgamma, dbeta):
    N, C, H, W = dout.shape
    M = N * H * W
    for c in prange(C):
        sb = 0.0
        sg = 0.0
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    d = dout[n, c, h, w]
                    sb += d
                    sg += d * x_hat[n, c, h, w]
        dbeta[c], dgamma[c] = sb, sg
        k = gamma[c] * inv_std[c] / M
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    dx[n, c, h, w] = k * (M * dout[n, c, h, w] - sb - x_hat[n, c, h, w] * sg)


def batchnorm_forward(x, gamma, beta, eps):
    """Numba twin of :func:`batchnorm_forward_reference`."""
    C = x.shape[1]
    out, x_hat = np.empty_like(x), np.empty_like(x)
    mean, var, inv_std = (np.empty(C, dtype=x.dtype) for _ in range(3))
    _bn_forward_kernel(np.ascontiguousarray(x), gamma.astype(x.dtype, copy=False),
                       beta.astype(x.dtype, copy=False), eps, out, x_hat, mean, var, inv_std)
    return out, x_hat, mean, var, inv_std


def batchnorm_backward(dout, x_hat, gamma, inv_std):
    """Numba twin of :func:`batchnorm_backward_reference`."""
    C = dout.shape[1]
    dx = np.empty_like(dout)
    dgamma, dbeta = np.empty(C, dtype=dout.dtype), np.empty(C, dtype=dout.dtype)
    _bn_backward_kernel(np.ascontiguousarray(dout), x_hat, gamma.astype(dout.dtype, copy=False),
                        inv_std, dx, dgamma, dbeta)
    return dx, dgamma, dbeta
