"""Exponential linear unit (Clevert et al. 2016), elementwise (any shape, dtype kept)::

    forward : out = x       if x > 0  else  alpha * (exp(x) - 1)
    backward: dx  = dout    if x > 0  else  dout * (out + alpha)       (d/dx alpha*(e^x - 1) = out + alpha)

``expm1(min(x, 0))`` keeps exp from ever seeing a large positive x (no overflow warnings) and is exact near 0.
Fast twin: ``squeezenp/ops/elu.py``. Tests: ``tests/functional/test_activations.py``.
"""
from __future__ import annotations

import numpy as np


def elu_forward(x, alpha=1.0):
    """Returns ``(out, cache)``; the cache is ``(x, out, alpha)``."""
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
    return out, (x, out, alpha)


def elu_backward(dout, cache):
    """Returns ``dx``, same shape and dtype as ``dout``."""
    x, out, alpha = cache
    return np.where(x > 0, dout, dout * (out + alpha)).astype(dout.dtype, copy=False)
