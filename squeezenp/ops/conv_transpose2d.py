"""2-D transposed convolution, fast: the twin of ``squeezenp/functional/conv_transpose2d.py`` (shapes and
formulas there), with the same signatures and caches plus the speed-only keyword ``workspace``.

The products run one per image on squeezenp's threads (``gemm.py``), im2col/col2im and the bias are Numba
kernels, and the columns, their gradient and the dW accumulator live in the caller's ``workspace``
(``workspace.py``).

When the stride equals the kernel and there is no padding (the proposed CNN's 4x4/4 upsampling) the patches do
not overlap and col2im is a permutation: ``patches.fold_patches`` writes each output pixel once, bias included
(no zeroing, no accumulation, no separate bias pass), one image per thread. Tests:
``tests/ops/test_conv_transpose2d.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import pair
from ..functional.conv_transpose2d import conv_transpose_output_size
from .bias import add_bias, bias_grad
from .gemm import _chunks, _workers, matmul_per_image, matmul_sum_per_image, run_parts
from .im2col import col2im, im2col
from .patches import fold_patches
from .workspace import scratch


def conv_transpose2d_forward(x, w, b, stride=1, padding=0, *, workspace=None):
    """Fast twin of ``functional.conv_transpose2d_forward``."""
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv_transpose2d"), pair(padding, "padding", "conv_transpose2d")
    N, C_in, H, W = x.shape
    _, C_out, kh, kw = w.shape
    out_shape = (N, C_out, conv_transpose_output_size(H, kh, sh, ph), conv_transpose_output_size(W, kw, sw, pw))
    W_flat = w.reshape(C_in, -1)
    x = np.ascontiguousarray(x)
    cols = scratch(workspace, "cols", (N, W_flat.shape[1], H * W), x.dtype)   # never returned
    matmul_per_image(W_flat.T, x.reshape(N, C_in, H * W), cols)            # (N, C_out*KH*KW, H*W)
    if (kh, kw) == (sh, sw) and (ph, pw) == (0, 0):
        out = np.empty(out_shape, dtype=x.dtype)
        fold_non_overlapping(cols, kh, kw, H, W, np.zeros(C_out, x.dtype) if b is None else b, out)
        return out, (x, w, b is not None, (sh, sw), (ph, pw))
    out = col2im(cols, out_shape, kh, kw, sh, sw, ph, pw)
    if b is not None:
        add_bias(out.reshape(N, C_out, -1), b)
    return out, (x, w, b is not None, (sh, sw), (ph, pw))


def fold_non_overlapping(cols, kh, kw, H, W, bias, out, activation=None, alpha=1.0):
    """``out[n] = fold_patches(cols[n], ...)`` for every image (stride = kernel, no padding), the images split over
    squeezenp's threads. cols (N, C_out*KH*KW, H*W), out (N, C_out, H*KH, W*KW). Returns ``out``."""
    def fold(lo, hi):
        def f():
            for n in range(lo, hi):
                fold_patches(cols[n], kh, kw, H, W, bias, activation, alpha, out=out[n])
        return f
    fns = [fold(lo, hi) for lo, hi in _chunks(cols.shape[0], _workers())]
    run_parts(fns)
    return out


def conv_transpose2d_backward(dout, cache, *, workspace=None):
    """Fast twin of ``functional.conv_transpose2d_backward``."""
    x, w, has_bias, (sh, sw), (ph, pw) = cache
    N, C_in, H, W = x.shape
    kh, kw = w.shape[2:]
    W_flat = w.reshape(C_in, -1)
    dcols = scratch(workspace, "dcols", (N, W_flat.shape[1], H * W), dout.dtype)
    im2col(dout, kh, kw, sh, sw, ph, pw, out=dcols)                         # (N, C_out*KH*KW, H*W)
    dW = scratch(workspace, "dW", W_flat.shape, dout.dtype)
    tmp = scratch(workspace, "dW_n", (max(1, min(_workers(), N)), 2) + W_flat.shape, dout.dtype)
    matmul_sum_per_image(x.reshape(N, C_in, H * W), dcols, dW, tmp)        # sum_n x[n] @ dcols[n].T
    db = bias_grad(dout.reshape(N, w.shape[1], -1)) if has_bias else None
    dx = np.empty((N, C_in, H * W), dtype=dout.dtype)
    return matmul_per_image(W_flat, dcols, dx).reshape(x.shape), dW.reshape(w.shape).copy(), db
