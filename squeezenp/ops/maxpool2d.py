"""Max pooling as Numba kernels: the twin of ``squeezenp/functional/maxpool2d.py`` (formulas, output sizes and
the readable version there), same signatures and caches.

Parallel over the (image, channel) planes; in the backward each plane is owned by one thread, so overlapping
windows never race. The inference kernel keeps no argmax and takes the window maximum in two separable passes.
``maxpool_planes_into`` is its serial twin for one image's planes, run by the thread that has just written them
(the fused conv1 stem), and ``maxpool_rows_into`` for one band of output rows (a thread's share in the batch-1
plan, ``squeezenp/models/plan.py``), each with its reference beside it;
``maxpool_argmax_planes_into`` is the training forward's serial kernel (the fused conv1 stem, ``conv_act.py``).
Tests: ``tests/ops/test_maxpool2d.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..functional.maxpool2d import pool_output_size

PLANES = 16                # channels per block of the training forward's kernel
TWO_PASSES_FROM = 64       # map width from which the argmax takes two passes (measured at 28, 56 and 113 columns)


@njit(parallel=True, cache=True)
def _maxpool_forward_kernel(x, k, s, out, argmax):
    # blocks of PLANES channels of one image per iteration: enough work per call of the serial kernel, enough
    # blocks for the threads at batch 1
    N, C = x.shape[0], x.shape[1]
    blocks = (C + PLANES - 1) // PLANES
    for nb in prange(N * blocks):
        n, c0 = nb // blocks, nb % blocks * PLANES
        c1 = min(c0 + PLANES, C)
        maxpool_argmax_planes_into(x[n, c0:c1], k, s, out[n, c0:c1], argmax[n, c0:c1])


@njit(parallel=True, cache=True)
def _maxpool_backward_kernel(dout, argmax, dx):
    N, C, OH, OW = dout.shape
    W = dx.shape[3]
    for nc in prange(N * C):  # one thread per (n, c) plane: overlapping windows never race
        n, c = nc // C, nc % C
        dx[n, c, :, :] = 0
        for oh in range(OH):
            for ow in range(OW):
                a = argmax[n, c, oh, ow]
                dx[n, c, a // W, a % W] += dout[n, c, oh, ow]


def maxpool_planes_into_reference(x, kernel, stride, out):
    """``out[c] = maxpool(x[c])`` for planes x (C, H, W) -> out (C, OH, OW); ceil mode when ``out`` has the ceil
    size (windows hanging over the edge are clipped). Returns ``out``."""
    from ..functional.maxpool2d import maxpool2d_inference as textbook
    floor = tuple(pool_output_size(n, kernel, stride, False) for n in x.shape[1:])
    ceil_mode = out.shape[1:] != floor
    out[...] = textbook(x[None], kernel, stride, ceil_mode)[0]
    return out


@njit(cache=True, nogil=True, fastmath=True)
def maxpool_planes_into(x, kernel, stride, out):
    """Serial Numba twin of :func:`maxpool_planes_into_reference` (releases the GIL): every output row of
    :func:`maxpool_rows_into`."""
    return maxpool_rows_into(x, kernel, stride, out, 0, out.shape[1], 0)


def maxpool_rows_into_reference(x, kernel, stride, out, first, stop, x_row0):
    """The output rows ``first:stop`` of every plane: ``out[c, oh, ow]`` is the maximum of the input window at rows
    ``oh*stride ..``, columns ``ow*stride ..`` (``kernel`` of each, clipped at the map's edge), where ``x`` (C, H, W)
    holds the input's rows from ``x_row0`` on (a thread's band of the map, or the whole map with 0). Returns
    ``out``."""
    H, W = x.shape[1:]
    for oh in range(first, stop):
        h0 = oh * stride - x_row0
        rows = x[:, h0:min(h0 + kernel, H)].max(axis=1)                       # (C, W): the window's rows
        for ow in range(out.shape[2]):
            out[:, oh, ow] = rows[:, ow * stride:min(ow * stride + kernel, W)].max(axis=1)
    return out


@njit(cache=True, nogil=True, fastmath=True)
def maxpool_rows_into(x, kernel, stride, out, first, stop, x_row0):
    """Serial Numba twin of :func:`maxpool_rows_into_reference` (releases the GIL). The window's rows first,
    contiguous and vectorised; the row is padded on the right with its last value so that every output column
    takes exactly ``kernel`` values with no bounds test in the inner loop (the max is unchanged)."""
    C, H, W = x.shape
    OW = out.shape[2]
    row = np.empty(max(W, (OW - 1) * stride + kernel), dtype=x.dtype)
    for c in range(C):
        for oh in range(first, stop):
            h0 = oh * stride - x_row0
            h1 = min(h0 + kernel, H)
            for w in range(W):
                row[w] = x[c, h0, w]
            for h in range(h0 + 1, h1):
                for w in range(W):
                    row[w] = max(row[w], x[c, h, w])
            for w in range(W, row.shape[0]):
                row[w] = row[W - 1]
            if kernel == 3 and stride == 2:   # the networks' pools: constants, 3x faster than the loop below
                for ow in range(OW):
                    out[c, oh, ow] = max(max(row[2 * ow], row[2 * ow + 1]), row[2 * ow + 2])
            else:
                for ow in range(OW):
                    best = row[ow * stride]
                    for j in range(1, kernel):
                        best = max(best, row[ow * stride + j])
                    out[c, oh, ow] = best
    return out


@njit(cache=True, nogil=True)
def maxpool_argmax_planes_into(x, k, s, out, argmax):
    """Serial: ``out[c]``, ``argmax[c]`` (the flat index ``h*W + w`` of each window's first maximum in row-major
    order, as the textbook's) of the planes x (C, H, W); windows hanging over the edge (ceil mode) are clipped.
    The training forward's kernel, for one plane or one image's planes on the thread that has just computed them
    (``conv_act.py``); releases the GIL. Wide maps (pool1's 113 columns at 227) take :func:`_argmax_two_passes`,
    2x faster there; narrower ones the one-pass scan :func:`_argmax_scan`, 15-25% faster at 56 and 28 columns."""
    if x.shape[2] >= TWO_PASSES_FROM:
        _argmax_two_passes(x, k, s, out, argmax)
    else:
        _argmax_scan(x, k, s, out, argmax)


@njit(cache=True, nogil=True)
def _argmax_scan(x, k, s, out, argmax):
    """One pass, window by window, keeping the first value strictly larger than the best so far."""
    C, H, W = x.shape
    OH, OW = out.shape[1], out.shape[2]
    for c in range(C):
        for oh in range(OH):
            h0 = oh * s
            h1 = min(h0 + k, H)
            for ow in range(OW):
                w0 = ow * s
                w1 = min(w0 + k, W)
                if k == 3 and h1 - h0 == 3 and w1 - w0 == 3:
                    # the networks' 3x3 windows inside the map: nine fixed offsets, no loop bounds (2-3x faster);
                    # the same scan order and strict '>' as below, so the same argmax on ties
                    best = x[c, h0, w0]
                    besti = h0 * W + w0
                    for dh in range(3):
                        for dw in range(3):
                            v = x[c, h0 + dh, w0 + dw]
                            if v > best:
                                best = v
                                besti = (h0 + dh) * W + w0 + dw
                else:
                    best = x[c, h0, w0]
                    besti = h0 * W + w0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            v = x[c, h, w]
                            if v > best:
                                best = v
                                besti = h * W + w
                out[c, oh, ow] = best
                argmax[c, oh, ow] = besti


@njit(cache=True, nogil=True, fastmath=True)
def _argmax_two_passes(x, k, s, out, argmax):
    """The values by :func:`maxpool_planes_into` (vectorised), then each window scanned backwards for its value,
    keeping the last match, i.e. the first in scan order: a select per element instead of an unpredictable branch
    per comparison."""
    C, H, W = x.shape
    OH, OW = out.shape[1], out.shape[2]
    maxpool_planes_into(x, k, s, out)
    full = min(OW, (W - k) // s + 1)                 # the columns of windows inside the map
    for c in range(C):
        for oh in range(OH):
            h0 = oh * s
            h1 = min(h0 + k, H)
            start = 0
            if k == 3 and s == 2 and h1 - h0 == 3:
                # the networks' 3x3 stride-2 windows inside the map: constants, nine offsets unrolled, a loop
                # that vectorises (3x faster than with the stride a variable)
                start = full
                for ow in range(full):
                    w0 = ow * 2
                    m = out[c, oh, ow]
                    i = h0 * W + w0                   # a NaN matches nothing: the window's first element
                    for dh in range(2, -1, -1):
                        for dw in range(2, -1, -1):
                            i = (h0 + dh) * W + w0 + dw if x[c, h0 + dh, w0 + dw] == m else i
                    argmax[c, oh, ow] = i
            for ow in range(start, OW):
                w0 = ow * s
                w1 = min(w0 + k, W)
                m = out[c, oh, ow]
                i = h0 * W + w0
                for h in range(h1 - 1, h0 - 1, -1):
                    for w in range(w1 - 1, w0 - 1, -1):
                        i = h * W + w if x[c, h, w] == m else i
                argmax[c, oh, ow] = i


@njit(parallel=True, cache=True, fastmath=True, nogil=True)
def _maxpool_values_kernel(x, k, s, out):
    # one (image, channel) plane per iteration, each by the serial kernel above (the window's rows first,
    # vectorised; the row padded so that no column needs a bounds test). nogil: the threads of a split batch
    # (split_batch.py) call it at once
    N, C = x.shape[0], x.shape[1]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        maxpool_planes_into(x[n, c:c + 1], k, s, out[n, c:c + 1])


def maxpool2d_forward(x, kernel, stride, ceil_mode=False):
    """Numba twin of ``functional.maxpool2d_forward``: ``(out, (x.shape, argmax))``."""
    N, C, H, W = x.shape
    OH, OW = pool_output_size(H, kernel, stride, ceil_mode), pool_output_size(W, kernel, stride, ceil_mode)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int64)
    _maxpool_forward_kernel(np.ascontiguousarray(x), kernel, stride, out, argmax)
    return out, (x.shape, argmax)


def maxpool2d_backward(dout, cache):
    """Numba twin of ``functional.maxpool2d_backward``."""
    x_shape, argmax = cache
    dx = np.empty(x_shape, dtype=dout.dtype)
    _maxpool_backward_kernel(np.ascontiguousarray(dout), argmax, dx)
    return dx


def maxpool2d_inference(x, kernel, stride, ceil_mode=False):
    """Numba twin of ``functional.maxpool2d_inference``: no argmax, every plane by ``maxpool_planes_into``."""
    N, C, H, W = x.shape
    OH, OW = pool_output_size(H, kernel, stride, ceil_mode), pool_output_size(W, kernel, stride, ceil_mode)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    _maxpool_values_kernel(np.ascontiguousarray(x), kernel, stride, out)
    return out
