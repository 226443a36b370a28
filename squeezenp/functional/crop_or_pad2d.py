"""Make a map exactly (TH, TW) by cropping or zero-padding at the bottom/right (the proposed CNN's skip path).

Shapes: x (N, C, H, W) -> out (N, C, TH, TW)::

    forward : out[:, :, :h, :w] = x[:, :, :h, :w],  h = min(H, TH), w = min(W, TW); the rest of out is 0
    backward: dx[:, :, :h, :w] = dout[:, :, :h, :w]; the rest of dx is 0       (the adjoint)

When the sizes already agree both are the identity (no copy). Tests: ``tests/functional/test_crop_or_pad2d.py``.
"""
from __future__ import annotations

import numpy as np


def crop_or_pad2d_forward(x, size):
    """``size``: (TH, TW). Returns ``(out, cache)``; the cache is ``x.shape``."""
    N, C, H, W = x.shape
    TH, TW = int(size[0]), int(size[1])
    if (H, W) == (TH, TW):
        return x, x.shape
    out = np.zeros((N, C, TH, TW), dtype=x.dtype)
    h, w = min(H, TH), min(W, TW)
    out[:, :, :h, :w] = x[:, :, :h, :w]
    return out, x.shape


def crop_or_pad2d_backward(dout, cache):
    """Returns ``dx`` of shape ``cache``."""
    x_shape = cache
    if dout.shape == tuple(x_shape):
        return dout
    dx = np.zeros(x_shape, dtype=dout.dtype)
    h, w = min(x_shape[2], dout.shape[2]), min(x_shape[3], dout.shape[3])
    dx[:, :, :h, :w] = dout[:, :, :h, :w]
    return dx
