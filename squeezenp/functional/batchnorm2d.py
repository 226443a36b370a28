"""Batch normalisation over the channels of an NCHW tensor (Ioffe and Szegedy 2015).

Statistics are per channel, over the axes (N, H, W): ``M = N*H*W`` values per channel.

Training (``running_mean`` and ``running_var`` not given: the batch's own statistics)::

    mu = mean(x),  var = mean((x - mu)^2)              (biased, used to normalise)
    x_hat = (x - mu) * inv_std,   inv_std = 1 / sqrt(var + eps)
    out = gamma * x_hat + beta

    dgamma = sum(dout * x_hat),  dbeta = sum(dout)
    dx = gamma * inv_std / M * (M * dout - dbeta - x_hat * dgamma)      (mu and var depend on x)

Evaluation (running statistics given): a fixed affine map per channel, since they are constants::

    scale = gamma * inv_std,  inv_std = 1 / sqrt(running_var + eps),  shift = beta - running_mean * scale
    out = x * scale + shift
    dgamma = sum(dout * x_hat),  dbeta = sum(dout),  dx = dout * scale

Updating the running statistics is state, so it is the layer's job (``squeezenp/layers/batchnorm.py``); the
training cache carries the batch mean and variance for it. Shapes: x, out, dout, dx (N, C, H, W); gamma, beta,
running_mean, running_var (C,). Fast twin: ``squeezenp/ops/batchnorm2d.py``.
Tests: ``tests/functional/test_batchnorm2d.py``.
"""
from __future__ import annotations

import numpy as np


def batchnorm2d_forward(x, gamma, beta, eps=1e-5, running_mean=None, running_var=None):
    """Normalise each channel of ``x``.

    Returns
    -------
    out : (N, C, H, W);  cache : ``("train", x_hat, gamma, inv_std, mean, var)`` with the batch's mean and
    (biased) variance, or ``("eval", x, scale, inv_std, running_mean)``
    """
    if running_mean is None:
        mean = x.mean(axis=(0, 2, 3))
        var = ((x - mean[None, :, None, None]) ** 2).mean(axis=(0, 2, 3))
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        x_hat = (x - mean[None, :, None, None]) * inv_std[None, :, None, None]
        out = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
        return out, ("train", x_hat, gamma, inv_std, mean, var)
    inv_std = (1.0 / np.sqrt(running_var.astype(x.dtype) + eps)).astype(x.dtype)
    scale = gamma * inv_std
    shift = beta - running_mean.astype(x.dtype) * scale
    out = x * scale[None, :, None, None] + shift[None, :, None, None]
    return out, ("eval", x, scale, inv_std, running_mean.astype(x.dtype))


def batchnorm2d_backward(dout, cache):
    """Returns ``(dx, dgamma, dbeta)``."""
    if cache[0] == "train":
        _, x_hat, gamma, inv_std = cache[:4]
        M = dout.shape[0] * dout.shape[2] * dout.shape[3]
        dbeta = dout.sum(axis=(0, 2, 3))
        dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
        dx = (gamma * inv_std / M)[None, :, None, None] * (
            M * dout - dbeta[None, :, None, None] - x_hat * dgamma[None, :, None, None])
        return dx, dgamma, dbeta
    _, x, scale, inv_std, mean = cache
    x_hat = (x - mean[None, :, None, None]) * inv_std[None, :, None, None]
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
    dbeta = dout.sum(axis=(0, 2, 3))
    return dout * scale[None, :, None, None], dgamma, dbeta
