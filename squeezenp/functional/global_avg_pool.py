"""Global average pooling: the mean over the spatial axes.

Shapes: x (N, C, H, W) -> out (N, C)::

    forward : out[n, c] = mean over (h, w) of x[n, c, h, w]
    backward: dx[n, c, h, w] = dout[n, c] / (H * W)

Tests: ``tests/functional/test_global_avg_pool.py``.
"""
from __future__ import annotations

import numpy as np


def global_avg_pool_forward(x):
    """Returns ``(out, cache)``; the cache is ``x.shape``."""
    return x.mean(axis=(2, 3), dtype=x.dtype), x.shape


def global_avg_pool_backward(dout, cache):
    """Returns ``dx`` (N, C, H, W)."""
    N, C, H, W = cache
    return np.broadcast_to((dout / (H * W))[:, :, None, None], cache).copy()
