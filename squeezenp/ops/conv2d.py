"""2-D convolution, fast: the twin of ``squeezenp/functional/conv2d.py`` (shapes and formulas there), with the
same signatures plus two speed-only keywords, ``workspace`` and ``algorithm``.

What makes it fast (``benchmarks/bench_layers.py``):

- one BLAS GEMM per image, written straight into the NCHW output with ``out=``, the images split over
  squeezenp's threads with a single-threaded BLAS under each (``gemm.py`` says why); a single
  ``W_flat @ cols`` over the whole batch measured no faster and would need a transpose;
- with im2col, each thread unfolds an image and multiplies it at once, while its columns are still in cache
  (``gemm.im2col_matmul_per_image``); a 1x1 stride-1 convolution (most of SqueezeNet's) needs no im2col at all:
  ``cols[n]`` is ``x[n]`` viewed as (C_in, H*W);
- a stride-1, pad-1 3x3 convolution (every Fire's expand3x3) runs as Winograd F(2x2, 3x3) instead where that was
  measured faster for its shape and batch class (``winograd.py``: 2.25x fewer multiply-adds; the choice in
  ``conv_algorithm.py``; ``algorithm="im2col" | "winograd"`` or ``SQUEEZENP_CONV3X3`` force either);
- the bias is added by the thread that ran each image's GEMM (or in Winograd's output transform), while its
  output is in cache; the bias gradient is a parallel kernel (``bias.bias_grad``);
- the columns (or Winograd's input transforms) and their gradient live in the caller's ``workspace``
  (``workspace.py``), reused from one call to the next instead of being allocated (and page-faulted) each time.

Caches: an im2col forward returns the textbook cache ``(x_shape, cols, w, has_bias, stride, padding)``, which
either backward reads. A Winograd forward keeps no columns: its cache is a :class:`WinogradCache` (the input and
its transforms, 4x instead of 9x the input's size), which only this module's ``conv2d_backward`` reads, so a
forward and its backward run on the same backend. Both backward products of Winograd are exact adjoints
(``winograd.winograd_conv3x3_backward``).

``conv2d_gemm_into`` is the forward's core for fused callers (``fire.py``): the products with an optional
epilogue (bias, a folded batch norm's scale, ReLU or ELU) applied per image, written into a slice of a larger
output. Tests: ``tests/ops/test_conv2d.py``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core import pair
from ..functional.im2col import conv_output_size
from . import conv_algorithm, winograd
from .bias import bias_grad
from .gemm import _workers, im2col_matmul_per_image, matmul_per_image, matmul_sum_per_image
from .im2col import col2im
from .workspace import scratch


class WinogradCache(NamedTuple):
    """The cache of a Winograd forward (the input's shape first, as in the textbook cache)."""
    x_shape: tuple
    x: np.ndarray
    V: np.ndarray            # (N, 16, C_in, P): every image's input transform (``winograd.planes``)
    w: np.ndarray
    has_bias: bool


def per_image_contiguous(a):
    """``a`` itself when every ``a[n]`` is C-contiguous (a channel slice of an NCHW array is: the per-image GEMMs
    take it as it is), else a contiguous copy."""
    return a if a.shape[0] == 0 or a[0].flags.c_contiguous else np.ascontiguousarray(a)


def algorithm_for(x_shape, w_shape, stride, padding, algorithm="auto") -> str:
    """"winograd" or "im2col" (meaning the GEMM path, with or without im2col): what a fast forward of these
    shapes runs. Winograd only for stride-1, pad-1 3x3 kernels, then as ``conv_algorithm.choose`` says."""
    if not winograd.is_winograd_shape(w_shape[2:], stride, padding):
        conv_algorithm.check_algorithm(algorithm)
        return "im2col"
    N, C, H, W = x_shape
    return conv_algorithm.choose(C, w_shape[0], H, W, N, algorithm)


def conv2d_gemm_into(x, w, stride, padding, out, bias=None, workspace=None, algorithm="auto", keep=False, *,
                     scale=None, activation=None, alpha=1.0):
    """``out[n] = act(scale[:, None] * (W_flat @ cols[n]) + bias[:, None])`` into ``out`` (N, C_out, OH*OW), which
    may be a channel slice of a larger output (each image's slice contiguous); by Winograd where
    :func:`algorithm_for` says so. The epilogue (bias, scale, activation ``None | "relu" | "elu"``; any of them
    may be None) runs on each image right after its GEMM, or in Winograd's output transform.

    Returns ``(algorithm, kept)``: with im2col, ``kept`` is ``cols`` (N, C_in*KH*KW, OH*OW); with Winograd, the
    input transforms ``V`` when ``keep`` (in the ``workspace``), else None (per-thread scratch only)."""
    N, C, H, W = x.shape
    C_out, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    if algorithm_for(x.shape, w.shape, stride, padding, algorithm) == "winograd":
        work = {} if workspace is None else workspace
        th, tw = winograd.tiles(H, W)
        V = winograd.planes_scratch(work, "winograd_V", N, C, th * tw, x.dtype) if keep else None
        winograd.winograd_conv3x3(x, w, bias, out=out.reshape(N, C_out, H, W), scale=scale, activation=activation,
                                  alpha=alpha, V=V, work=work)
        return "winograd", V
    W_flat = w.reshape(C_out, -1)
    if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0):
        cols = np.ascontiguousarray(x).reshape(N, C, H * W)    # no im2col: x[n] is already (C_in, H*W)
        matmul_per_image(W_flat, cols, out, bias, scale, activation, alpha)   # one GEMM per image, written NCHW
        return "im2col", cols
    P = conv_output_size(H, kh, sh, ph) * conv_output_size(W, kw, sw, pw)
    cols = scratch(workspace, "cols", (N, W_flat.shape[1], P), x.dtype)
    im2col_matmul_per_image(W_flat, x, (kh, kw, sh, sw, ph, pw), cols, out, bias, scale, activation, alpha)
    return "im2col", cols


def conv2d_forward(x, w, b, stride=1, padding=0, *, workspace=None, algorithm="auto"):
    """Fast twin of ``functional.conv2d_forward``. ``algorithm``: "auto", "im2col" or "winograd" (for stride-1,
    pad-1 3x3 kernels; ignored for the others)."""
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    N, _, H, W = x.shape
    C_out, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    out = np.empty((N, C_out, OH * OW), dtype=x.dtype)
    algorithm, kept = conv2d_gemm_into(x, w, stride, padding, out, b, workspace, algorithm, keep=True)
    if algorithm == "winograd":
        return out.reshape(N, C_out, OH, OW), WinogradCache(x.shape, x, kept, w, b is not None)
    return out.reshape(N, C_out, OH, OW), (x.shape, kept, w, b is not None, stride, padding)


def conv2d_backward(dout, cache, input_grad=True, *, workspace=None):
    """Fast twin of ``functional.conv2d_backward``; reads the textbook cache and a :class:`WinogradCache`."""
    if isinstance(cache, WinogradCache):
        return _winograd_backward(dout, cache, workspace, input_grad)
    x_shape, cols, w, has_bias, (sh, sw), (ph, pw) = cache
    N, C_out = dout.shape[:2]
    kh, kw = w.shape[2:]
    d3 = per_image_contiguous(dout).reshape(N, C_out, -1)
    W_flat = w.reshape(C_out, -1)
    # dW = sum_n dout[n] @ cols[n].T, accumulated image by image, one partial sum per thread
    dW = scratch(workspace, "dW", W_flat.shape, dout.dtype)
    tmp = scratch(workspace, "dW_n", (max(1, min(_workers(), N)), 2) + W_flat.shape, dout.dtype)
    matmul_sum_per_image(d3, cols, dW, tmp)
    db = bias_grad(d3) if has_bias else None
    if not input_grad:
        return None, dW.reshape(w.shape).copy(), db
    if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0):
        dx = np.empty((N, x_shape[1], d3.shape[2]), dtype=dout.dtype)
        return matmul_per_image(W_flat.T, d3, dx).reshape(x_shape), dW.reshape(w.shape).copy(), db
    dcols = scratch(workspace, "dcols", cols.shape, dout.dtype)
    matmul_per_image(W_flat.T, d3, dcols)                        # (N, C_in*KH*KW, OH*OW)
    return col2im(dcols, x_shape, kh, kw, sh, sw, ph, pw), dW.reshape(w.shape).copy(), db


def _winograd_backward(dout, cache, workspace, input_grad):
    """Both products of the Winograd forward's backward (``winograd.winograd_conv3x3_backward``: the input
    gradient through the same algorithm, the weight gradient from the kept input transforms) and the bias
    gradient."""
    N, C_out = dout.shape[:2]
    dx, dw = winograd.winograd_conv3x3_backward(cache.x, cache.w, dout, V=cache.V, need_dx=input_grad,
                                                work={} if workspace is None else workspace)
    db = bias_grad(dout.reshape(N, C_out, -1)) if cache.has_bias else None
    return dx, dw, db
