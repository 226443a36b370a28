"""Fully connected layer and flattening.

Linear: x (N, in_features) -> out (N, out_features); weight (out_features, in_features) as in PyTorch; formulas
in ``squeezenp/functional/linear.py``. Flatten: (N, d1, d2, ...) -> (N, d1*d2*...); backward reshapes back.

Tests: ``tests/layers/test_linear.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input
from .init import as_rng


class Linear(Layer):
    """``Linear(in_features, out_features, bias=True)``; init U(-1/sqrt(in), 1/sqrt(in)) as PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float32, rng=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = 1.0 / np.sqrt(self.in_features)
        rng = as_rng(rng)
        self.add_param("weight", rng.uniform(-bound, bound, (self.out_features, self.in_features)).astype(dtype))
        if bias:
            self.add_param("bias", rng.uniform(-bound, bound, self.out_features).astype(dtype))

    def forward(self, x, training=None):
        check_input(self, x, 2, self.in_features)
        b = self.params.get("bias")
        out, self._cache = ops.linear_forward(x, self.params["weight"].astype(x.dtype, copy=False),
                                              None if b is None else b.astype(x.dtype, copy=False))
        return out

    def backward(self, dout):
        check_grad(self, dout, (self._cache[0].shape[0], self.out_features) if self._cache else None)
        dx, dw, db = ops.linear_backward(dout, self._cache)
        self.grads["weight"][...] = dw
        if db is not None:
            self.grads["bias"][...] = db
        return dx

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features}, bias={'bias' in self.params})"


class Flatten(Layer):
    """(N, ...) -> (N, prod(...))."""

    def forward(self, x, training=None):
        check_input(self, x, ndim=None)
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        shape = self._cache
        check_grad(self, dout, (shape[0], int(np.prod(shape[1:]))) if shape else None)
        return dout.reshape(shape)

    def __repr__(self):
        return "Flatten()"
