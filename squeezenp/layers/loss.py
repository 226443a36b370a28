"""Softmax cross-entropy, computed with log-sum-exp so large logits never overflow.

Shapes: logits (N, K) float; labels (N,) integers in [0, K); optional class weights (K,).

Forward, with ``log p[n, k] = z[n, k] - logsumexp(z[n])``, weights ``w_n = class_weight[y_n]`` (all 1 by
default) and targets ``t[n] = (1 - e) * onehot(y_n) + e / K`` (label smoothing ``e``, 0 by default)::

    L = sum_n w_n * (-sum_k t[n, k] log p[n, k]) / sum_n w_n

Backward::

    dL/dz[n] = w_n * (p[n] - t[n]) / sum_n w_n

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

    def __init__(self, class_weights=None, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = float(label_smoothing)
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
        target = self._targets(labels, K, logits.dtype)
        self._cache = (np.exp(logp), target, w)
        return float(-(w * (target * logp).sum(axis=1)).sum())

    def _targets(self, labels, K, dtype):
        """One-hot rows, smoothed to ``(1 - e) * onehot + e / K`` when ``label_smoothing = e > 0``."""
        e = self.label_smoothing
        t = np.full((len(labels), K), e / K, dtype=dtype)
        t[np.arange(len(labels)), labels] += 1 - e
        return t

    def backward(self, dout=1.0):
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward called before forward")
        p, target, w = self._cache
        d = p - target
        return (d * w[:, None] * dout).astype(p.dtype, copy=False)

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax of the last logits, (N, K)."""
        return self._cache[0]

    def __repr__(self):
        return f"SoftmaxCrossEntropy(class_weights={self.class_weights})"
