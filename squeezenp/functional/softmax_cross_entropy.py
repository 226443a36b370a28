"""Softmax cross-entropy, computed with log-sum-exp so that large logits never overflow, with optional class
weights and label smoothing.

Shapes: logits z (N, K) float; labels y (N,) integers in [0, K); optional class weights (K,).

Forward, with ``log p[n, k] = z[n, k] - logsumexp(z[n])``, weights ``w_n = class_weights[y_n]`` (all 1 by
default) and targets ``t[n] = (1 - e) * onehot(y_n) + e / K`` (label smoothing ``e``, 0 by default)::

    L = sum_n w_n * (-sum_k t[n, k] log p[n, k]) / sum_n w_n

Backward::

    dL/dz[n] = w_n * (p[n] - t[n]) / sum_n w_n

Tests: ``tests/functional/test_softmax_cross_entropy.py``.
"""
from __future__ import annotations

import numpy as np


def log_softmax(z):
    """Row-wise log-softmax (N, K), stable for any logits."""
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def softmax(z):
    """Row-wise softmax (N, K)."""
    return np.exp(log_softmax(z))


def softmax_cross_entropy_forward(logits, labels, class_weights=None, label_smoothing=0.0):
    """Returns ``(loss, cache)``: the loss a Python float; the cache ``(p, t, w)`` with the probabilities p
    (N, K), the targets t (N, K) and the normalised weights w (N,)."""
    N, K = logits.shape
    logp = log_softmax(logits)
    w = np.ones(N) if class_weights is None else class_weights[labels]
    w = (w / w.sum()).astype(logits.dtype)
    t = np.full((N, K), label_smoothing / K, dtype=logits.dtype)
    t[np.arange(N), labels] += 1 - label_smoothing
    return float(-(w * (t * logp).sum(axis=1)).sum()), (np.exp(logp), t, w)


def softmax_cross_entropy_backward(dout, cache):
    """``dout``: the upstream gradient of the (scalar) loss, 1 for the loss itself. Returns ``dlogits`` (N, K)."""
    p, t, w = cache
    return ((p - t) * w[:, None] * dout).astype(p.dtype, copy=False)
