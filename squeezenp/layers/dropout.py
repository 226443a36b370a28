"""Inverted dropout (Srivastava et al. 2014).

Training: ``out = x * mask / (1 - p)`` with ``mask ~ Bernoulli(1 - p)`` drawn anew each forward pass, so
the expected output equals x and evaluation needs no rescaling. Evaluation: identity.
Backward: ``dx = dout * mask / (1 - p)`` (identity in evaluation).

Shapes: any -> same. Tests in ``tests/layers/test_dropout.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import Layer, check_grad, check_input
from ._init import as_rng


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
        scaled_mask = (self.rng.random(x.shape, dtype=np.float32) >= self.p).astype(x.dtype) / x.dtype.type(1 - self.p)
        self._cache = (x.shape, scaled_mask)
        return x * scaled_mask

    def backward(self, dout):
        check_grad(self, dout, self._cache[0] if self._cache else None)
        scaled_mask = self._cache[1]
        return dout if scaled_mask is None else dout * scaled_mask

    def __repr__(self):
        return f"Dropout(p={self.p})"
