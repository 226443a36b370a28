"""im2col and col2im: turning a convolution into one matrix product (Chellapilla et al. 2006).

Teaches: how a KHxKW sliding window over an NCHW tensor becomes the columns of a matrix, so that a convolution
is ``W_flat @ cols``, and how the adjoint operation, col2im, adds the columns back into their overlapping
windows (this is both the convolution's input gradient and the transposed convolution's forward pass).

Layout (chosen so that each image's product writes straight into the NCHW output, with no transpose)::

    x    : (N, C, H, W)
    cols : (N, C*KH*KW, OH*OW)      row index  = (c*KH + i)*KW + j,  column index = oh*OW + ow
    cols[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh*SH + i, ow*SW + j]
    OH = (H + 2*PH - KH) // SH + 1,  OW = (W + 2*PW - KW) // SW + 1

One strided slice per kernel offset (i, j) does all windows at once; col2im adds the slices back with ``+=``
(no ``np.add.at``, which is about 10x slower). The Numba twins, with the same signatures plus ``out=``, are
in ``squeezenp/ops/im2col.py``. Tests: ``tests/functional/test_im2col.py``, ``tests/ops/test_im2col.py``.
"""
from __future__ import annotations

import numpy as np


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """``(size + 2*padding - kernel) // stride + 1``: the number of window positions along one axis."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, kh, kw, sh, sw, ph, pw):
    """Unfold sliding windows into columns.

    Parameters
    ----------
    x : (N, C, H, W);  kh, kw : kernel size;  sh, sw : stride;  ph, pw : zero padding

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
    return cols.reshape(N, C * kh * kw, OH * OW)


def col2im(cols, x_shape, kh, kw, sh, sw, ph, pw):
    """Fold columns back into an image, adding where windows overlap (the adjoint of im2col).

    Parameters
    ----------
    cols : (N, C*kh*kw, OH*OW);  x_shape : (N, C, H, W), the shape im2col was given

    Returns
    -------
    x : (N, C, H, W), same dtype as cols, with ``x[n, c, h, w]`` = the sum of every column entry that im2col
        copied from (n, c, h, w)
    """
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    cols6 = cols.reshape(N, C, kh, kw, OH, OW)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + sh * OH:sh, j:j + sw * OW:sw] += cols6[:, :, i, j]
    return np.ascontiguousarray(xp[:, :, ph:ph + H, pw:pw + W])
