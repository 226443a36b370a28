"""Max pooling (with PyTorch's ceil mode) and its gradient.

Teaches: a max pool passes each window's largest value forward and routes the gradient back only to that
element (the argmax). SqueezeNet pools 3x3 with stride 2 in ceil mode, so windows overlap and the last
window along an axis may hang over the edge.

Output size, for ``padding = 0``::

    floor mode: OH = (H - K) // S + 1
    ceil mode : OH = ceil((H - K) / S) + 1, then minus 1 if that last window would start at or past H
                (PyTorch's rule: every window must start inside the input)

Shapes: x (N, C, H, W) -> out (N, C, OH, OW); argmax (N, C, OH, OW) int64, a flat index h*W + w into
each (H, W) plane. Ties go to the first maximum in row-major window order (as NumPy's ``argmax``).

Reference and Numba kernel side by side with the same signatures; tests in ``tests/ops/test_pooling.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


def pool_output_size(size: int, kernel: int, stride: int, ceil_mode: bool) -> int:
    if ceil_mode:
        out = -(-(size - kernel) // stride) + 1
        if (out - 1) * stride >= size:
            out -= 1
    else:
        out = (size - kernel) // stride + 1
    return out


# --------------------------------------------------------------------------------------------------
# Readable references
# --------------------------------------------------------------------------------------------------
def maxpool_forward_reference(x, k, s, ceil_mode):
    """Returns ``(out, argmax)``; see the module docstring for shapes."""
    N, C, H, W = x.shape
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
    return out, argmax


def maxpool_backward_reference(dout, argmax, x_shape):
    """``dx[n, c].flat[argmax[n, c, oh, ow]] += dout[n, c, oh, ow]`` for every window."""
    N, C, H, W = x_shape
    dx = np.zeros((N * C, H * W), dtype=dout.dtype)
    flat_d = dout.reshape(N * C, -1)
    flat_a = argmax.reshape(N * C, -1)
    rows = np.arange(N * C)[:, None]
    # windows overlap, so several windows can pick one element: loop over window positions and add
    for p in range(flat_a.shape[1]):
        dx[rows[:, 0], flat_a[:, p]] += flat_d[:, p]
    return dx.reshape(N, C, H, W)


def maxpool_forward_values_reference(x, k, s, ceil_mode):
    """Inference forward: only the pooled values (no argmax to keep for a backward pass)."""
    return maxpool_forward_reference(x, k, s, ceil_mode)[0]


# --------------------------------------------------------------------------------------------------
# Numba kernels (same signatures)
# --------------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def _maxpool_forward_kernel(x, k, s, out, argmax):
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        for oh in range(OH):
            h0 = oh * s
            h1 = min(h0 + k, H)
            for ow in range(OW):
                w0 = ow * s
                w1 = min(w0 + k, W)
                best = x[n, c, h0, w0]
                besti = h0 * W + w0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        v = x[n, c, h, w]
                        if v > best:
                            best = v
                            besti = h * W + w
                out[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = besti


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


@njit(parallel=True, cache=True, fastmath=True)
def _maxpool_values_kernel(x, k, s, out):
    # separable: the max of the window's k rows first (contiguous, vectorised along W), then the max of k
    # neighbours of that row with stride s. Max is associative, so this equals the window max exactly.
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    for nc in prange(N * C):
        n, c = nc // C, nc % C
        row = np.empty(W, dtype=x.dtype)
        for oh in range(OH):
            h0 = oh * s
            h1 = min(h0 + k, H)
            for w in range(W):
                row[w] = x[n, c, h0, w]
            for h in range(h0 + 1, h1):
                for w in range(W):
                    row[w] = max(row[w], x[n, c, h, w])
            for ow in range(OW):
                w0 = ow * s
                w1 = min(w0 + k, W)
                best = row[w0]
                for w in range(w0 + 1, w1):
                    best = max(best, row[w])
                out[n, c, oh, ow] = best


def maxpool_forward_values(x, k, s, ceil_mode):
    """Numba twin of :func:`maxpool_forward_values_reference` (about 3x faster than the argmax kernel)."""
    N, C, H, W = x.shape
    OH, OW = pool_output_size(H, k, s, ceil_mode), pool_output_size(W, k, s, ceil_mode)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    _maxpool_values_kernel(np.ascontiguousarray(x), k, s, out)
    return out


def maxpool_forward(x, k, s, ceil_mode):
    """Numba twin of :func:`maxpool_forward_reference`."""
    N, C, H, W = x.shape
    OH, OW = pool_output_size(H, k, s, ceil_mode), pool_output_size(W, k, s, ceil_mode)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int64)
    _maxpool_forward_kernel(np.ascontiguousarray(x), k, s, out, argmax)
    return out, argmax


def maxpool_backward(dout, argmax, x_shape):
    """Numba twin of :func:`maxpool_backward_reference`."""
    dx = np.empty(x_shape, dtype=dout.dtype)
    _maxpool_backward_kernel(np.ascontiguousarray(dout), argmax, dx)
    return dx
