"""A convolution and its activation (and the max pool after conv1), fused: the twin of
``squeezenp/functional/conv_act.py``, same signatures plus ``workspace``. The activation is the epilogue of each image's GEMM (``conv2d.conv2d_gemm_into``), so
the output is written once: at conv1 of the networks (the largest activation of all, 64 x 113 x 113 per image at
227) that saves a whole pass. ``conv2d_act_pool_inference`` also pools each image's output on the thread that
just computed it, before it leaves the cache, and applies bias and activation to the pooled map only: the
conv1 -> ReLU -> pool1 of every network in one pass, without the 105 MB conv1 output of a batch of 32 at 227.
The evaluation ops keep no cache.

In training, ``conv2d_act_pool_forward`` runs the same per-image pass, the max pool keeping its argmax, and keeps
only what the backward needs: the columns, the pooled map and the argmax, not the (N, C_out, OH, OW) activation
(105 MB at batch 32). ``conv2d_act_pool_backward`` scatters each image's pooled gradient, masked by the
activation's derivative read off the pooled value (``functional/conv_act.py`` says why that is exact), into a
scratch of its thread and multiplies it by the image's columns at once: the pool's, the activation's and the
convolution's backward in one pass per image, the input gradient only when asked for.
Tests: ``tests/ops/test_conv_act.py``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..core import pair
from ..functional.im2col import conv_output_size
from ..functional.maxpool2d import pool_output_size
from .bias import ACTIVATIONS, scale_bias_act_image
from .conv2d import conv2d_gemm_into
from .gemm import _chunks, _epilogue, _workers, matmul_accumulate, run_parts
from .im2col import col2im_image, im2col_image
from .maxpool2d import maxpool_argmax_planes_into, maxpool_planes_into
from .workspace import part_scratch, scratch


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
    scratches = part_scratch(workspace, "conv_pool", len(parts), ((C * kh * kw, OH * OW), (K, OH * OW)), x.dtype)

    def job(lo, hi, cols, z):
        def f():
            for n in range(lo, hi):
                im2col_image(x[n], kh, kw, sh, sw, ph, pw, OH, OW, cols)
                np.matmul(A, cols, out=z)
                maxpool_planes_into(z.reshape(K, OH, OW), pool_kernel, pool_stride, out[n])
                scale_bias_act_image(out[n].reshape(K, PH * PW), sc, bias, code, a)
        return f
    run_parts([job(lo, hi, *buffers) for (lo, hi), buffers in zip(parts, scratches)])
    return out


class ConvActPoolCache(NamedTuple):
    """What ``conv2d_act_pool_backward`` reads: the forward's columns (in the caller's workspace), its pooled
    output and argmax (flat ``h*W + w`` into each (OH, OW) plane of the activation), and the geometry."""
    x_shape: tuple
    cols: np.ndarray         # (N, C_in*KH*KW, OH*OW)
    w: np.ndarray
    has_bias: bool
    geometry: tuple          # (kh, kw, sh, sw, ph, pw, OH, OW)
    out: np.ndarray          # (N, C_out, PH, PW): the pooled activation
    argmax: np.ndarray       # (N, C_out, PH, PW) int32
    activation: str
    alpha: float


def conv2d_act_pool_forward(x, w, b, stride=1, padding=0, activation="relu", alpha=1.0, pool_kernel=3,
                            pool_stride=2, ceil_mode=True, *, workspace=None):
    """Fast twin of ``functional.conv2d_act_pool_forward``: per image, im2col into the kept columns, the GEMM,
    bias and activation into a scratch of its thread, then the max pool with its argmax into the output."""
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    N, C, H, W = x.shape
    K, _, kh, kw = w.shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    PH, PW = (pool_output_size(n, pool_kernel, pool_stride, ceil_mode) for n in (OH, OW))
    x = np.ascontiguousarray(x)
    A = np.ascontiguousarray(w.reshape(K, -1), dtype=x.dtype)
    sc, bias, code, a = _epilogue(K, x.dtype, b, None, activation, alpha)
    cols = scratch(workspace, "cols", (N, C * kh * kw, OH * OW), x.dtype)
    out = np.empty((N, K, PH, PW), dtype=x.dtype)
    argmax = np.empty((N, K, PH, PW), dtype=np.int32)
    parts = _chunks(N, min(_workers(), N))

    def job(lo, hi, z):
        def f():
            for n in range(lo, hi):
                im2col_image(x[n], kh, kw, sh, sw, ph, pw, OH, OW, cols[n])
                np.matmul(A, cols[n], out=z)
                scale_bias_act_image(z, sc, bias, code, a)
                maxpool_argmax_planes_into(z.reshape(K, OH, OW), pool_kernel, pool_stride, out[n], argmax[n])
        return f
    run_parts([job(lo, hi, *buffers) for (lo, hi), buffers in
               zip(parts, part_scratch(workspace, "conv_pool_z", len(parts), ((K, OH * OW),), x.dtype))])
    return out, ConvActPoolCache(x.shape, cols, w, b is not None, (kh, kw, sh, sw, ph, pw, OH, OW), out, argmax,
                                 activation, float(alpha))


def unpool_act_backward_reference(dout, out, argmax, activation, alpha, dz):
    """One image: ``dz`` (C, OH*OW) zeroed, then ``dz[c, argmax] += dout * act'(out)`` with ``act'`` read off the
    pooled value ``out`` (1 where ``out > 0``, else 0 for ReLU, ``out + alpha`` for ELU). Returns the per-channel
    sums of what was scattered (the bias gradient's share of this image), float64."""
    scale = np.where(out > 0, 1.0, 0.0 if activation == "relu" else out + alpha)
    g = dout * scale
    dz[...] = 0
    for c in range(dz.shape[0]):
        np.add.at(dz[c], argmax[c].ravel(), g[c].ravel())
    return g.reshape(len(g), -1).sum(axis=1, dtype=np.float64)


@njit(cache=True, nogil=True)
def unpool_act_backward_image(dout, out, argmax, code, alpha, dz, sums):
    """Numba twin of :func:`unpool_act_backward_reference` (``code`` from ``bias.ACTIVATIONS``; the sums written
    into ``sums``); serial, releases the GIL."""
    C, PH, PW = dout.shape
    for c in range(C):
        for p in range(dz.shape[1]):
            dz[c, p] = 0
        s = 0.0
        for i in range(PH):
            for j in range(PW):
                g = dout[c, i, j]
                o = out[c, i, j]
                if not o > 0:
                    g = g * (o + alpha) if code == 2 else g * 0     # as dout * (out > 0): NaN stays NaN
                dz[c, argmax[c, i, j]] += g
                s += g
        sums[c] = s


def conv2d_act_pool_backward(dout, cache, input_grad=True, *, workspace=None):
    """Fast twin of ``functional.conv2d_act_pool_backward`` (reads a :class:`ConvActPoolCache`). Per image, on the
    thread of its part: the masked scatter into ``dz`` (``unpool_act_backward_image``), ``dW += dz @ cols[n].T``
    into the part's sum, and with ``input_grad`` ``col2im(W_flat.T @ dz)``; the parts' sums added at the end."""
    x_shape, cols, w, has_bias, (kh, kw, sh, sw, ph, pw, OH, OW), out, argmax, activation, alpha = cache
    N = dout.shape[0]
    K, CKK = w.shape[0], cols.shape[1]
    dtype = dout.dtype
    dout = np.ascontiguousarray(dout)
    A_T = np.ascontiguousarray(w.reshape(K, -1).T, dtype=dtype)
    code, a = ACTIVATIONS[activation], dtype.type(alpha)
    dx = np.empty(x_shape, dtype=dtype) if input_grad else None
    parts = _chunks(N, min(_workers(), N))
    shapes = ((K, OH * OW), (K, CKK), (K, CKK), (CKK, OH * OW) if input_grad else (0, 0))
    scratches = part_scratch(workspace, "conv_pool_backward", len(parts), shapes, dtype)
    sums = np.empty((N, K), dtype=np.float64)                 # each image's row written by its part

    def job(lo, hi, dz, acc, buf, dcols):
        def f():
            for n in range(lo, hi):
                unpool_act_backward_image(dout[n], out[n], argmax[n], code, a, dz, sums[n])
                matmul_accumulate(dz, cols[n].T, acc, buf, n == lo)
                if input_grad:
                    np.matmul(A_T, dz, out=dcols)
                    col2im_image(dcols, kh, kw, sh, sw, ph, pw, OH, OW, dx[n])
        return f
    run_parts([job(lo, hi, *s) for (lo, hi), s in zip(parts, scratches)])
    dW = np.sum([s[1] for s in scratches], axis=0).astype(dtype, copy=False).reshape(w.shape)
    db = sums.sum(axis=0).astype(dtype) if has_bias else None
    return dx, dW, db
