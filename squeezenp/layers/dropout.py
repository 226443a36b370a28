"""Dropout layer: inverted dropout in training (``squeezenp/functional/dropout.py``), the identity in evaluation.

The layer owns the random generator, so a seeded network draws the same masks run after run.
Shapes: any -> same. Tests: ``tests/layers/test_dropout.py``.
"""
from __future__ import annotations

from .. import ops
from ..core import Layer, check_grad, check_input
from .init import as_rng


class Dropout(Layer):
    """``Dropout(p=0.5, rng=None)``; ``rng`` is a seed or ``np.random.Generator`` (re-seedable via ``self.rng``)."""

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = as_rng(rng)

    def forward(self, x, training=None):
        check_input(self, x, ndim=None)
        if not self._is_training(training) or self.p == 0.0:
            self._cache = (x.shape, None)
            return x
        out, scaled_mask = ops.dropout_forward(x, self.p, self.rng)
        self._cache = (x.shape, scaled_mask)
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache[0] if self._cache else None)
        scaled_mask = self._cache[1]
        return dout if scaled_mask is None else ops.dropout_backward(dout, scaled_mask)

    def __repr__(self):
        return f"Dropout(p={self.p})"
