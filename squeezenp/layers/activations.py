"""ReLU and ELU layers over ``relu_forward/backward`` and ``elu_forward/backward`` (formulas in
``squeezenp/functional/relu.py`` and ``elu.py``; fast twins in ``squeezenp/ops/relu.py`` and ``elu.py``).

Shapes: any (N, ...) -> same shape and dtype. Tests: ``tests/layers/test_activations.py``.
"""
from __future__ import annotations

from .. import ops
from ..core import Layer, check_grad, check_input


class ReLU(Layer):
    """``out = max(x, 0)``; ``dx = dout * (x > 0)``."""

    def forward(self, x, training=None):
        check_input(self, x, ndim=None)
        out, self._cache = ops.relu_forward(x)
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache.shape if self._cache is not None else None)
        return ops.relu_backward(dout, self._cache)

    def __repr__(self):
        return "ReLU()"


class ELU(Layer):
    """``out = x if x > 0 else alpha * (exp(x) - 1)``; ``dx = dout if x > 0 else dout * (out + alpha)``."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x, training=None):
        check_input(self, x, ndim=None)
        out, self._cache = ops.elu_forward(x, self.alpha)
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache[0].shape if self._cache is not None else None)
        return ops.elu_backward(dout, self._cache)

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"
