"""Layers with several inputs: channel concatenation and elementwise sum.

Concat: ``forward(x1, ..., xk)`` -> ``concatenate(axis=1)``; ``backward(dout)`` -> ``(dx1, ..., dxk)``, the
slices of dout along the channel axis (concatenation backward is a split).

Add: ``forward(x1, ..., xk)`` -> ``x1 + ... + xk``; ``backward(dout)`` -> ``(dout, ..., dout)``: each input
receives the whole upstream gradient. The same array is returned k times: treat gradients as read-only.

Formulas in ``squeezenp/functional/concat.py`` and ``add.py``. Tests: ``tests/layers/test_merge.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input


class Concat(Layer):
    """Concatenate along ``axis`` (channels by default)."""

    def __init__(self, axis: int = 1):
        super().__init__()
        self.axis = int(axis)

    def forward(self, *xs, training=None):
        if len(xs) < 1:
            raise ValueError("Concat: expected at least one input, got none")
        for x in xs:
            check_input(self, x, ndim=xs[0].ndim)
        rest = [tuple(np.delete(x.shape, self.axis)) for x in xs]
        if any(r != rest[0] for r in rest) or any(x.dtype != xs[0].dtype for x in xs):
            raise ValueError(f"Concat: inputs must agree on every axis but {self.axis} and on dtype, got "
                             f"{[(x.shape, str(x.dtype)) for x in xs]}")
        out, self._cache = ops.concat_forward(xs, self.axis)
        return out

    def backward(self, dout):
        if self._cache is None:
            check_grad(self, dout, None)
        sizes = self._cache[0]
        if dout.shape[self.axis] != sum(sizes):
            raise ValueError(f"Concat: expected an upstream gradient with {sum(sizes)} entries on axis "
                             f"{self.axis}, got shape {dout.shape}")
        return ops.concat_backward(dout, self._cache)

    def __repr__(self):
        return f"Concat(axis={self.axis})"


class Add(Layer):
    """Elementwise sum of inputs of one shape."""

    def forward(self, *xs, training=None):
        if len(xs) < 1:
            raise ValueError("Add: expected at least one input, got none")
        for x in xs:
            check_input(self, x, ndim=None)
        if any(x.shape != xs[0].shape or x.dtype != xs[0].dtype for x in xs):
            raise ValueError(f"Add: inputs must share shape and dtype, got "
                             f"{[(x.shape, str(x.dtype)) for x in xs]}")
        out, k = ops.add_forward(xs)
        self._cache = (k, xs[0].shape)
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache[1] if self._cache else None)
        return ops.add_backward(dout, self._cache[0])

    def __repr__(self):
        return "Add()"
