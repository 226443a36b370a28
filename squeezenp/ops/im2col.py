"""im2col and col2im as Numba loops: the twins of ``squeezenp/functional/im2col.py`` (layout, formulas and the
readable version there), with the same signatures plus an optional ``out=`` array to write into.

Parallel over the batch with ``prange``: each image is written by one thread only, so overlapping windows
(stride < kernel) never race. ``im2col_image`` unfolds one image serially, for callers that run images on their
own threads (``gemm.im2col_matmul_per_image``), ``col2im_image`` folds one back. Tests: ``tests/ops/test_im2col.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..functional.im2col import conv_output_size


@njit(cache=True, nogil=True)
def im2col_image(x, kh, kw, sh, sw, ph, pw, OH, OW, cols):
    """One image, serial: ``cols (C*kh*kw, OH*OW)`` from ``x (C, H, W)``. For callers that run images on
    their own threads and want each image's columns still in cache for its GEMM (``gemm.py``); releases the GIL,
    so those threads unfold concurrently."""
    C, H, W = x.shape
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for oh in range(OH):
                    h = oh * sh + i - ph
                    base = oh * OW
                    if h < 0 or h >= H:
                        for ow in range(OW):
                            cols[row, base + ow] = 0
                        continue
                    for ow in range(OW):
                        w = ow * sw + j - pw
                        cols[row, base + ow] = x[c, h, w] if 0 <= w < W else 0


@njit(parallel=True, cache=True, fastmath=False)
def _im2col_kernel(x, kh, kw, sh, sw, ph, pw, OH, OW, cols):
    for n in prange(x.shape[0]):        # one thread per image
        im2col_image(x[n], kh, kw, sh, sw, ph, pw, OH, OW, cols[n])


@njit(cache=True, nogil=True)
def col2im_image(cols, kh, kw, sh, sw, ph, pw, OH, OW, x):
    """One image, serial: ``x (C, H, W)`` from ``cols (C*kh*kw, OH*OW)``, each column added back onto its window
    (``x`` is overwritten). For callers that run images on their own threads (``conv_act.py``); releases the GIL."""
    C, H, W = x.shape
    for c in range(C):
        for h in range(H):
            for w in range(W):
                x[c, h, w] = 0
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for oh in range(OH):
                    h = oh * sh + i - ph
                    if h < 0 or h >= H:
                        continue
                    base = oh * OW
                    for ow in range(OW):
                        w = ow * sw + j - pw
                        if 0 <= w < W:
                            x[c, h, w] += cols[row, base + ow]


@njit(parallel=True, cache=True, fastmath=False)
def _col2im_kernel(cols, kh, kw, sh, sw, ph, pw, OH, OW, x):
    for n in prange(x.shape[0]):  # one thread per image: overlapping windows of one image never race
        col2im_image(cols[n], kh, kw, sh, sw, ph, pw, OH, OW, x[n])


def im2col(x, kh, kw, sh, sw, ph, pw, out=None):
    """Numba twin of ``functional.im2col``; ``out``: an optional (N, C*kh*kw, OH*OW) array to fill."""
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    if out is None:
        out = np.empty((N, C * kh * kw, OH * OW), dtype=x.dtype)
    _im2col_kernel(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, OH, OW, out)
    return out


def col2im(cols, x_shape, kh, kw, sh, sw, ph, pw, out=None):
    """Numba twin of ``functional.col2im``; ``out``: an optional (N, C, H, W) array to fill."""
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    if out is None:
        out = np.empty((N, C, H, W), dtype=cols.dtype)
    _col2im_kernel(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, OH, OW, out)
    return out
