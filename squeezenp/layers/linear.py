"""Fully connected layer and flattening.

Linear: x (N, in_features) -> out (N, out_features); weight (out_features, in_features) as in PyTorch::

    forward : out = x @ W.T + b
    backward: dx = dout @ W,  dW = dout.T @ x,  db = sum over n of dout

Flatten: (N, d1, d2, ...) -> (N, d1*d2*...); backward reshapes back.

Tests in ``tests/layers/test_linear.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import Layer, check_grad, check_input
from ._init import as_rng


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
        self._cache = x
        out = x @ self.params["weight"].astype(x.dtype, copy=False).T
        if "bias" in self.params:
            out += self.params["bias"].astype(x.dtype, copy=False)
        return out

    def backward(self, dout):
        x = self._cache
        check_grad(self, dout, (x.shape[0], self.out_features) if x is not None else None)
        self.grads["weight"][...] = dout.T @ x
        if "bias" in self.params:
            self.grads["bias"][...] = dout.sum(axis=0)
        return dout @ self.params["weight"].astype(dout.dtype, copy=False)

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
