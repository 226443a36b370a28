"""Softmax cross-entropy, computed with log-sum-exp so that large logits never overflow.

Shapes: logits z (N, K) float; labels y (N,) integers in [0, K); optional class weights (K,).

Forward, with ``log p[n, k] = z[n, k] - logsumexp(z[n])`` and weights ``w_n = class_weights[y_n]`` (all 1 by
default)::

    L = sum_n w_n * (-log p[n, y_n]) / sum_n w_n

Backward (``onehot`` is the one-hot encoding of the labels)::

    dL/dz[n] = w_n * (p[n] - onehot[n]) / sum_n w_n

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


def softmax_cross_entropy_forward(logits, labels, class_weights=None):
    """Returns ``(loss, cache)``: the loss a Python float; the cache ``(p, labels, w)`` with the
    probabilities p (N, K) and the normalised weights w (N,)."""
    N = logits.shape[0]
    logp = log_softmax(logits)
    w = np.ones(N) if class_weights is None else class_weights[labels]
    w = (w / w.sum()).astype(logits.dtype)
    return float(-(w * logp[np.arange(N), labels]).sum()), (np.exp(logp), labels, w)


def softmax_cross_entropy_backward(dout, cache):
    """``dout``: the upstream gradient of the (scalar) loss, 1 for the loss itself. Returns ``dlogits`` (N, K)."""
    p, labels, w = cache
    d = p.copy()
    d[np.arange(len(labels)), labels] -= 1
    return (d * w[:, None] * dout).astype(p.dtype, copy=False)
