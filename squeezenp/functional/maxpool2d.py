"""Max pooling (with PyTorch's ceil mode) and its gradient.

Teaches: a max pool passes each window's largest value forward and routes the gradient back only to that
element (the argmax). SqueezeNet pools 3x3 with stride 2 in ceil mode, so windows overlap and the last window
along an axis may hang over the edge.

Output size, no padding::

    floor mode: OH = (H - K) // S + 1
    ceil mode : OH = ceil((H - K) / S) + 1, then minus 1 if that last window would start at or past H
                (PyTorch's rule: every window must start inside the input)

Shapes: x (N, C, H, W) -> out (N, C, OH, OW); argmax (N, C, OH, OW) int64, a flat index h*W + w into each
(H, W) plane. Ties go to the first maximum in row-major window order (as NumPy's ``argmax``).

Backward::

    dx[n, c].flat[argmax[n, c, oh, ow]] += dout[n, c, oh, ow]      for every window (windows may share an element)

Fast twin: ``squeezenp/ops/maxpool2d.py``. Tests: ``tests/functional/test_maxpool2d.py``.
"""
from __future__ import annotations

import numpy as np


def pool_output_size(size: int, kernel: int, stride: int, ceil_mode: bool) -> int:
    if ceil_mode:
        out = -(-(size - kernel) // stride) + 1
        if (out - 1) * stride >= size:
            out -= 1
    else:
        out = (size - kernel) // stride + 1
    return out


def maxpool2d_forward(x, kernel, stride, ceil_mode=False):
    """Returns ``(out, cache)``; the cache is ``(x.shape, argmax)``."""
    N, C, H, W = x.shape
    k, s = kernel, stride
    OH, OW = pool_output_size(H, k, s, ceil_mode), pool_output_size(W, k, s, ceil_mode)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int64)
    for oh in range(OH):
        for ow in range(OW):
            h0, w0 = oh * s, ow * s
            h1, w1 = min(h0 + k, H), min(w0 + k, W)          # ceil mode: clip the overhanging window
            win = x[:, :, h0:h1, w0:w1].reshape(N, C, -1)
            idx = win.argmax(axis=2)
            out[:, :, oh, ow] = np.take_along_axis(win, idx[..., None], axis=2)[..., 0]
            wh = w1 - w0
            argmax[:, :, oh, ow] = (h0 + idx // wh) * W + (w0 + idx % wh)
    return out, (x.shape, argmax)


def maxpool2d_backward(dout, cache):
    """Returns ``dx`` (N, C, H, W)."""
    (N, C, H, W), argmax = cache
    dx = np.zeros((N * C, H * W), dtype=dout.dtype)
    flat_d = dout.reshape(N * C, -1)
    flat_a = argmax.reshape(N * C, -1)
    rows = np.arange(N * C)
    # windows overlap, so several windows can pick one element: one window position at a time, added
    for p in range(flat_a.shape[1]):
        dx[rows, flat_a[:, p]] += flat_d[:, p]
    return dx.reshape(N, C, H, W)


def maxpool2d_inference(x, kernel, stride, ceil_mode=False):
    """Evaluation forward: only the pooled values (no argmax kept for a backward pass)."""
    return maxpool2d_forward(x, kernel, stride, ceil_mode)[0]
