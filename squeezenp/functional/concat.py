"""Concatenation along one axis (channels by default), and its gradient, a split::

    forward : out = concatenate([x1, ..., xk], axis)
    backward: dx1, ..., dxk = the slices of dout along that axis, of the inputs' sizes

Tests: ``tests/functional/test_merge.py``.
"""
from __future__ import annotations

import numpy as np


def concat_forward(xs, axis=1):
    """``xs``: a sequence of arrays agreeing on every axis but ``axis``. Returns ``(out, cache)``."""
    return np.concatenate(xs, axis=axis), ([x.shape[axis] for x in xs], axis)


def concat_backward(dout, cache):
    """Returns a tuple ``(dx1, ..., dxk)`` (views of ``dout``: treat gradients as read-only)."""
    sizes, axis = cache
    return tuple(np.split(dout, np.cumsum(sizes)[:-1], axis=axis))
