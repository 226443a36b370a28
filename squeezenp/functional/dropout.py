"""Inverted dropout (Srivastava et al. 2014), for training; evaluation is the identity and needs no function.

Any shape, dtype kept::

    forward : out = x * mask / (1 - p),   mask ~ Bernoulli(1 - p), drawn anew each call
    backward: dx  = dout * mask / (1 - p)

The expected output equals x, so evaluation needs no rescaling. Tests: ``tests/functional/test_dropout.py``.
"""
from __future__ import annotations

import numpy as np


def dropout_forward(x, p, rng):
    """``rng``: a ``np.random.Generator``. Returns ``(out, cache)``; the cache is the scaled mask."""
    scaled_mask = (rng.random(x.shape, dtype=np.float32) >= p).astype(x.dtype) / x.dtype.type(1 - p)
    return x * scaled_mask, scaled_mask


def dropout_backward(dout, cache):
    """Returns ``dx``."""
    return dout * cache
