"""SoftmaxCrossEntropy: the loss layer over ``softmax_cross_entropy_forward/backward`` (log-sum-exp, optional
class weights and label smoothing; formulas in ``squeezenp/functional/softmax_cross_entropy.py``).

Shapes: logits (N, K) float; labels (N,) integers in [0, K); optional class weights (K,).
Tests: ``tests/layers/test_loss.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_input


class SoftmaxCrossEntropy(Layer):
    """``SoftmaxCrossEntropy(class_weights=None, label_smoothing=0.0)``: ``forward(logits, labels) -> loss``,
    ``backward() -> dlogits``."""

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
        loss, self._cache = ops.softmax_cross_entropy_forward(logits, labels, self.class_weights,
                                                              self.label_smoothing)
        return loss

    def backward(self, dout=1.0):
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward called before forward")
        return ops.softmax_cross_entropy_backward(dout, self._cache)

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax of the last logits, (N, K)."""
        return self._cache[0]

    def __repr__(self):
        return f"SoftmaxCrossEntropy(class_weights={self.class_weights}, label_smoothing={self.label_smoothing})"
