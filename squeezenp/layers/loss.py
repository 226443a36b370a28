"""Softmax cross-entropy, computed with log-sum-exp so large logits never overflow.

Shapes: logits (N, K) float; labels (N,) integers in [0, K); optional class weights (K,).

Forward, with ``log p[n, k] = z[n, k] - logsumexp(z[n])`` and weights ``w_n = class_weight[y_n]``
(all 1 by default)::

    L = sum_n w_n * (-log p[n, y_n]) / sum_n w_n

Backward (``onehot`` is the one-hot encoding of the labels)::

    dL/dz[n] = w_n * (p[n] - onehot[n]) / sum_n w_n

Tests in ``tests/layers/test_loss.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import Layer, check_input


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for any logits."""
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


class SoftmaxCrossEntropy(Layer):
    """``SoftmaxCrossEntropy(class_weights=None)``: ``forward(logits, labels) -> loss``, ``backward() -> dlogits``."""

    def __init__(self, class_weights=None):
        super().__init__()
        self.class_weights = None if class_weights is None else np.asarray(class_weights, dtype=np.float64)

    def forward(self, logits, labels, training=None):
        check_input(self, logits, 2)
        labels = np.asarray(labels)
        N, K = logits.shape
        if labels.shape != (N,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"SoftmaxCrossEntropy: expected integer labels of shape ({N},), got "
                             f"{labels.dtype} with shape {labels.shape}")
        if labels.min() < 0 or labels.max() >= K:
            raise ValueError(f"SoftmaxCrossEntropy: labels must lie in [0, {K}), got range "
                             f"[{labels.min()}, {labels.max()}]")
        if self.class_weights is not None and self.class_weights.shape != (K,):
            raise ValueError(f"SoftmaxCrossEntropy: expected {K} class weights, got shape {self.class_weights.shape}")
        logp = log_softmax(logits)
        w = np.ones(N) if self.class_weights is None else self.class_weights[labels]
        w = (w / w.sum()).astype(logits.dtype)
        self._cache = (np.exp(logp), labels, w)
        return float(-(w * logp[np.arange(N), labels]).sum())

    def backward(self, dout=1.0):
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward called before forward")
        p, labels, w = self._cache
        d = p.copy()
        d[np.arange(len(labels)), labels] -= 1
        return (d * w[:, None] * dout).astype(p.dtype, copy=False)

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax of the last logits, (N, K)."""
        return self._cache[0]

    def __repr__(self):
        return f"SoftmaxCrossEntropy(class_weights={self.class_weights})"
