"""Rectified linear unit, elementwise (any shape, dtype kept)::

    forward : out = max(x, 0)
    backward: dx  = dout * (x > 0)

Fast twin (parallel Numba kernels): ``squeezenp/ops/relu.py``. Tests: ``tests/functional/test_activations.py``.
"""
from __future__ import annotations

import numpy as np


def relu_forward(x):
    """Returns ``(out, cache)``; the cache is ``x``."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Returns ``dx``, same shape and dtype as ``dout``."""
    return dout * (cache > 0)
