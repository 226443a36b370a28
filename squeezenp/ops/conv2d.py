"""2-D convolution, fast: the twin of ``squeezenp/functional/conv2d.py`` (shapes and formulas there), with the
same signatures and caches plus one speed-only keyword, ``workspace``.

What makes it fast (``benchmarks/bench_layers.py``):

- one BLAS GEMM per image, written straight into the NCHW output with ``out=``, the images split over
  squeezenp's threads with a single-threaded BLAS under each (``gemm.py`` says why); a single
  ``W_flat @ cols`` over the whole batch measured no faster and would need a transpose;
- with im2col, each thread unfolds an image and multiplies it at once, while its columns are still in cache
  (``gemm.im2col_matmul_per_image``); a 1x1 stride-1 convolution (most of SqueezeNet's) needs no im2col at all:
  ``cols[n]`` is ``x[n]`` viewed as (C_in, H*W);
- the bias is added by the thread that ran each image's GEMM, while its output is in cache; the bias gradient
  is a parallel kernel (``bias.bias_grad``);
- the columns and their gradient live in the caller's ``workspace`` (``workspace.py``), reused from one call
  to the next instead of being allocated (and page-faulted) each time.

``conv2d_gemm_into`` is the forward's core for fused callers (``fire.py``): the products without bias, written
into a slice of a larger output. Tests: ``tests/ops/test_conv2d.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import pair
from ..functional.im2col import conv_output_size
from .bias import bias_grad
from .gemm import _workers, im2col_matmul_per_image, matmul_per_image, matmul_sum_per_image
from .im2col import col2im
from .workspace import scratch


def conv2d_gemm_into(x, w, stride, padding, out, bias=None, workspace=None):
    """``out[n] = W_flat @ cols[n] (+ bias[:, None])`` into ``out`` (N, C_out, OH*OW), which may be a channel
    slice of a larger output (each image's slice contiguous). Returns ``cols`` (N, C_in*KH*KW, OH*OW)."""
    N, C, H, W = x.shape
    C_out, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    W_flat = w.reshape(C_out, -1)
    if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0):
        cols = np.ascontiguousarray(x).reshape(N, C, H * W)    # no im2col: x[n] is already (C_in, H*W)
        matmul_per_image(W_flat, cols, out, bias)               # one BLAS GEMM per image, written NCHW
        return cols
    P = conv_output_size(H, kh, sh, ph) * conv_output_size(W, kw, sw, pw)
    cols = scratch(workspace, "cols", (N, W_flat.shape[1], P), x.dtype)
    im2col_matmul_per_image(W_flat, x, (kh, kw, sh, sw, ph, pw), cols, out, bias)
    return cols


def conv2d_forward(x, w, b, stride=1, padding=0, *, workspace=None):
    """Fast twin of ``functional.conv2d_forward``."""
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    N, _, H, W = x.shape
    C_out, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    out = np.empty((N, C_out, OH * OW), dtype=x.dtype)
    cols = conv2d_gemm_into(x, w, stride, padding, out, b, workspace)
    return out.reshape(N, C_out, OH, OW), (x.shape, cols, w, b is not None, stride, padding)


def conv2d_backward(dout, cache, *, workspace=None):
    """Fast twin of ``functional.conv2d_backward``."""
    x_shape, cols, w, has_bias, (sh, sw), (ph, pw) = cache
    N, C_out = dout.shape[:2]
    kh, kw = w.shape[2:]
    d3 = np.ascontiguousarray(dout).reshape(N, C_out, -1)
    W_flat = w.reshape(C_out, -1)
    # dW = sum_n dout[n] @ cols[n].T, accumulated image by image, one partial sum per thread
    dW = scratch(workspace, "dW", W_flat.shape, dout.dtype)
    tmp = scratch(workspace, "dW_n", (max(1, min(_workers(), N)), 2) + W_flat.shape, dout.dtype)
    matmul_sum_per_image(d3, cols, dW, tmp)
    db = bias_grad(d3) if has_bias else None
    if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0):
        dx = np.empty((N, x_shape[1], d3.shape[2]), dtype=dout.dtype)
        return matmul_per_image(W_flat.T, d3, dx).reshape(x_shape), dW.reshape(w.shape).copy(), db
    dcols = scratch(workspace, "dcols", cols.shape, dout.dtype)
    matmul_per_image(W_flat.T, d3, dcols)                        # (N, C_in*KH*KW, OH*OW)
    return col2im(dcols, x_shape, kh, kw, sh, sw, ph, pw), dW.reshape(w.shape).copy(), db
