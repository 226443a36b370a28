"""im2col and col2im: turning a convolution into one matrix product.

Teaches: how a KHxKW sliding window over an NCHW tensor becomes the columns of a matrix, so that a
convolution is ``W_flat @ cols`` (Chellapilla et al. 2006), and how the adjoint operation, col2im, adds
the columns back into overlapping windows (this is both the convolution's input gradient and the
transposed convolution's forward pass).

Layout (chosen so that each image's GEMM writes straight into the NCHW output, with no transpose)::

    x    : (N, C, H, W)
    cols : (N, C*KH*KW, OH*OW)      row index  = (c*KH + i)*KW + j,  column index = oh*OW + ow
    cols[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh*SH + i, ow*SW + j]
    OH = (H + 2*PH - KH) // SH + 1,  OW = (W + 2*PW - KW) // SW + 1

Two implementations with the same signature sit side by side:

- ``im2col_reference`` / ``col2im_reference``: plain NumPy, one strided slice per kernel offset (i, j).
  col2im adds the slices back with ``+=``; no ``np.add.at`` (which is ~10x slower).
- ``im2col`` / ``col2im``: Numba loops, parallel over the batch with ``prange``. Each image is written by
  one thread only, so overlapping windows (stride < kernel) never race.

Tests: ``tests/ops/test_im2col.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """``(size + 2*padding - kernel) // stride + 1``: the number of window positions along one axis."""
    return (size + 2 * padding - kernel) // stride + 1


# --------------------------------------------------------------------------------------------------
# Readable references
# --------------------------------------------------------------------------------------------------
def im2col_reference(x, kh, kw, sh, sw, ph, pw, out=None):
    """Unfold sliding windows into columns.

    Parameters
    ----------
    x : (N, C, H, W) array;  kh, kw : kernel size;  sh, sw : stride;  ph, pw : zero padding
    out : optional (N, C*kh*kw, OH*OW) array to write into (same dtype as x)

    Returns
    -------
    cols : (N, C*kh*kw, OH*OW), same dtype as x
    """
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((N, C, kh, kw, OH, OW), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            # every window's (i, j) element, for all windows at once: a strided slice
            cols[:, :, i, j] = xp[:, :, i:i + sh * OH:sh, j:j + sw * OW:sw]
    cols = cols.reshape(N, C * kh * kw, OH * OW)
    if out is not None:
        out[...] = cols
        return out
    return cols


def col2im_reference(cols, x_shape, kh, kw, sh, sw, ph, pw, out=None):
    """Fold columns back into an image, adding where windows overlap (the adjoint of im2col).

    Parameters
    ----------
    cols : (N, C*kh*kw, OH*OW);  x_shape : (N, C, H, W), the shape im2col was given
    out : optional (N, C, H, W) array to write into

    Returns
    -------
    x : (N, C, H, W), same dtype as cols, with ``x[n, c, h, w] = sum of every column entry that
        im2col copied from (n, c, h, w)``
    """
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    cols6 = cols.reshape(N, C, kh, kw, OH, OW)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + sh * OH:sh, j:j + sw * OW:sw] += cols6[:, :, i, j]
    res = xp[:, :, ph:ph + H, pw:pw + W]
    if out is not None:
        out[...] = res
        return out
    return np.ascontiguousarray(res)


# --------------------------------------------------------------------------------------------------
# Numba kernels (same signatures)
# --------------------------------------------------------------------------------------------------
@njit(cache=True)
def im2col_image(x, kh, kw, sh, sw, ph, pw, OH, OW, cols):
    """One image, serial: ``cols (C*kh*kw, OH*OW)`` from ``x (C, H, W)``. For callers that run images on
    their own threads and want each image's columns still in cache for its GEMM (``layers/_gemm.py``)."""
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


@njit(parallel=True, cache=True, fastmath=False)
def _col2im_kernel(cols, kh, kw, sh, sw, ph, pw, OH, OW, x):
    N, C, H, W = x.shape
    for n in prange(N):  # one thread per image: overlapping windows of one image never race
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    x[n, c, h, w] = 0
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
                                x[n, c, h, w] += cols[n, row, base + ow]


def im2col(x, kh, kw, sh, sw, ph, pw, out=None):
    """Numba twin of :func:`im2col_reference`."""
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    if out is None:
        out = np.empty((N, C * kh * kw, OH * OW), dtype=x.dtype)
    _im2col_kernel(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, OH, OW, out)
    return out


def col2im(cols, x_shape, kh, kw, sh, sw, ph, pw, out=None):
    """Numba twin of :func:`col2im_reference`."""
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    if out is None:
        out = np.empty((N, C, H, W), dtype=cols.dtype)
    _col2im_kernel(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, OH, OW, out)
    return out
