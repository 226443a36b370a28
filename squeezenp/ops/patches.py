"""Folding non-overlapping patches: the col2im of a transposed convolution whose stride equals its kernel.

Teaches: when ``stride == kernel`` and there is no padding (the proposed CNN's 4x4/4 upsampling), every output
pixel receives exactly one column entry, so col2im is a permutation: no zeroing, no accumulation. The bias (and an
activation that follows) can be applied in the same write.

Shapes, one image::

    cols : (C*KH*KW, H*W)        row (c*KH + i)*KW + j, column h*W + w      (``W_flat.T @ x[n]``)
    out  : (C, H*KH, W*KW)       out[c, h*KH + i, w*KW + j] = act(cols[(c*KH + i)*KW + j, h*W + w] + bias[c])

Reference (NumPy reshape + transpose) and Numba kernel (serial, ``nogil``: one image per thread, see
``conv_transpose2d.py``) with the same signature. Tests: ``tests/ops/test_patches.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .bias import ELU_F32, act_scalar, epilogue_code, scale_bias_act_reference
from .elu import elu_scalar_f32


def fold_patches_reference(cols, kh, kw, H, W, bias, activation=None, alpha=1.0, out=None):
    """``out[c, h*kh + i, w*kw + j] = act(cols[(c*kh + i)*kw + j, h*W + w] + bias[c])``; returns out (C, H*kh, W*kw)."""
    C = cols.shape[0] // (kh * kw)
    y = cols.reshape(C, kh, kw, H, W).transpose(0, 3, 1, 4, 2).reshape(C, H * kh * W * kw)
    y = scale_bias_act_reference(y[None].copy(), None, np.asarray(bias), activation, alpha)[0]
    if out is None:
        out = np.empty((C, H * kh, W * kw), dtype=cols.dtype)
    out[...] = y.reshape(C, H * kh, W * kw)
    return out


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "contract", "arcp"})
def _fold_kernel(cols, kh, kw, H, W, bias, code, alpha, out):
    # each output row in two steps: the permutation (kw strided streams into the row), then bias and activation
    # on the contiguous row, with the activation's branch outside the loop so that it vectorises (the float32 ELU
    # inside the strided loop ran 3x slower)
    C = out.shape[0]
    for c in range(C):
        b = bias[c]
        for h in range(H):
            for i in range(kh):
                row = out[c, h * kh + i]
                for j in range(kw):
                    src = cols[(c * kh + i) * kw + j]
                    for w in range(W):
                        row[w * kw + j] = src[h * W + w]
                if code == ELU_F32:
                    for q in range(row.shape[0]):
                        row[q] = elu_scalar_f32(row[q] + b, alpha)
                elif code == 1:
                    for q in range(row.shape[0]):
                        row[q] = max(row[q] + b, 0.0)
                else:
                    for q in range(row.shape[0]):
                        row[q] = act_scalar(row[q] + b, code, alpha)


def fold_patches(cols, kh, kw, H, W, bias, activation=None, alpha=1.0, out=None):
    """Numba twin of :func:`fold_patches_reference` (``out`` may be a channel slice of a larger array)."""
    C = cols.shape[0] // (kh * kw)
    if out is None:
        out = np.empty((C, H * kh, W * kw), dtype=cols.dtype)
    dt = cols.dtype
    _fold_kernel(cols, kh, kw, H, W, np.ascontiguousarray(bias, dtype=dt), epilogue_code(activation, dt),
                 dt.type(alpha), out)
    return out
