"""A convolution and its activation in evaluation, fused: the twin of ``squeezenp/functional/conv_act.py``, same
signature plus ``workspace``. The activation is the epilogue of each image's GEMM (``conv2d.conv2d_gemm_into``), so
the output is written once: at conv1 of the networks (the largest activation of all, 64 x 113 x 113 per image at
227) that saves a whole pass. ``conv2d_act_pool_inference`` also pools each image's output on the thread that
just computed it, before it leaves the cache, and applies bias and activation to the pooled map only: the
conv1 -> ReLU -> pool1 of every network in one pass, without the 105 MB conv1 output of a batch of 32 at 227.
No cache. Tests: ``tests/ops/test_conv_act.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import pair
from ..functional.im2col import conv_output_size
from ..functional.maxpool2d import pool_output_size
from .bias import scale_bias_act_image
from .conv2d import conv2d_gemm_into
from .gemm import _chunks, _epilogue, _workers, run_parts
from .im2col import im2col_image
from .maxpool2d import maxpool_planes_into


def conv2d_act_inference(x, w, b, stride=1, padding=0, activation="relu", alpha=1.0, *, workspace=None):
    """Fast twin of ``functional.conv2d_act_inference``."""
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    N, _, H, W = x.shape
    C_out, _, kh, kw = w.shape
    OH, OW = conv_output_size(H, kh, stride[0], padding[0]), conv_output_size(W, kw, stride[1], padding[1])
    out = np.empty((N, C_out, OH * OW), dtype=x.dtype)
    conv2d_gemm_into(x, w, stride, padding, out, b, workspace, activation=activation, alpha=alpha)
    return out.reshape(N, C_out, OH, OW)


def conv2d_act_pool_inference(x, w, b, stride=1, padding=0, activation="relu", alpha=1.0, pool_kernel=3,
                              pool_stride=2, ceil_mode=True, *, workspace=None):
    """Fast twin of ``functional.conv2d_act_pool_inference``: per image, im2col, the GEMM into a scratch of its
    thread, the max pool into the output, then bias and activation on the pooled map; images split over the
    threads as ``gemm.run_parts`` runs them (one-thread BLAS under each; one part runs in the caller)."""
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    N, C, H, W = x.shape
    K, _, kh, kw = w.shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    PH, PW = (pool_output_size(n, pool_kernel, pool_stride, ceil_mode) for n in (OH, OW))
    out = np.empty((N, K, PH, PW), dtype=x.dtype)
    x = np.ascontiguousarray(x)
    A = np.ascontiguousarray(w.reshape(K, -1), dtype=x.dtype)
    sc, bias, code, a = _epilogue(K, x.dtype, b, None, activation, alpha)
    parts = _chunks(N, min(_workers(), N))
    work = {} if workspace is None else workspace
    key = ("conv_pool_scratch", len(parts), C * kh * kw, OH * OW, K, x.dtype.str)
    if key not in work:
        work[key] = [(np.empty((C * kh * kw, OH * OW), x.dtype), np.empty((K, OH * OW), x.dtype)) for _ in parts]

    def job(lo, hi, cols, z):
        def f():
            for n in range(lo, hi):
                im2col_image(x[n], kh, kw, sh, sw, ph, pw, OH, OW, cols)
                np.matmul(A, cols, out=z)
                maxpool_planes_into(z.reshape(K, OH, OW), pool_kernel, pool_stride, out[n])
                scale_bias_act_image(out[n].reshape(K, PH * PW), sc, bias, code, a)
        return f
    run_parts([job(lo, hi, *scratch) for (lo, hi), scratch in zip(parts, work[key])])
    return out
