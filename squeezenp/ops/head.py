"""The proposed CNN's head in evaluation, image by image while it is in cache, with no concatenation: the twin of
``squeezenp/functional/head.py`` (formulas there), same signature plus the speed-only keyword ``workspace``.

Per image, on one of squeezenp's threads (a one-thread BLAS under it, ``gemm.py``):

- ``up``: the upconv's GEMM ``W_up^T @ x9[n]``, then ``patches.fold_patches`` writes its columns straight into
  place with bias and ELU (stride = kernel: each output pixel has exactly one source), no zeroing, no second pass;
- the concatenation is never built: ``W_fuse @ [skip; up] = W_fuse[:, :Cs] @ skip + W_fuse[:, Cs:] @ up``, two
  GEMMs into the same output, then bias and ELU while it is in cache (``bias.scale_bias_act_columns``);
- conv10 and the average pool follow on the same image.

At batch 1 (fewer images than threads) each thread takes a band of the map's rows instead, in one step. Used by
``squeezenp.models.ProposedCNN`` after ``fuse()`` when its upconv's output has the skip's size.

In training, ``upconv_fuse_forward/backward`` (upconv -> ELU -> concat -> conv_fuse -> ELU) make the same two
savings, image by image as above, and keep what the backward needs: the upconv's ELU is applied as it folds (its
output kept: ELU's derivative follows from it), ``conv_fuse`` runs as the two GEMMs with bias and ELU after them;
backward, one pass
per ELU gives the pre-activation gradient and the bias gradient (``bias.act_backward_bias_grad``), and
``conv_fuse``'s weight and input gradients are the two halves' products, with no concatenation or split copy.
Its cache is read by the fast backward only. Tests: ``tests/ops/test_head.py``, ``tests/functional/test_head.py``.
"""
from __future__ import annotations

import numpy as np

from .bias import ACTIVATIONS, act_backward_bias_grad_image, epilogue_code, scale_bias_act_columns
from .gemm import _blas_controllers, _chunks, _run_parallel, _workers, matmul_accumulate, run_parts
from .im2col import im2col_image
from .patches import fold_patches
from .workspace import part_scratch, scratch


def _head_shapes(name, x9, skip, w_up):
    """(N, C9, h, w, Cu, kh, kw, H, W): the upconv (stride = kernel) maps fire9's h x w to H x W, which must be
    the skip's size."""
    N, C9, h, w = x9.shape
    _, Cu, kh, kw = w_up.shape
    H, W = h * kh, w * kw
    if skip.shape[2:] != (H, W):
        raise ValueError(f"{name}: the upconv's output {(N, Cu, H, W)} does not have the skip's size {skip.shape}")
    return N, C9, h, w, Cu, kh, kw, H, W



def _upconv_image(Wt, x9_n, bias, alpha, kh, kw, h, w, cols, up):
    """One image's upconv (or that of a band of h of its rows) on the calling thread: ``cols = Wt @ x9_n``, then
    the patches folded into ``up`` (C, h*kh * w*kw) with bias and ELU."""
    np.matmul(Wt, x9_n, out=cols)
    fold_patches(cols, kh, kw, h, w, bias, "elu", alpha, out=up.reshape(len(up), h * kh, w * kw))


def _fuse_image(Ws, Wu, skip_n, up, bias, ones, elu, alpha, tmp, out, lo=0, hi=None):
    """conv_fuse of one image (or of its columns ``lo:hi``, a band of its rows) without the concatenation:
    ``out[:, lo:hi] = ELU(Ws @ skip_n + Wu @ up + bias)``; ``out`` the image's whole (F, H*W) array, ``skip_n`` and
    ``up`` the band's columns, ``tmp`` a scratch of the band's shape."""
    hi = out.shape[1] if hi is None else hi
    band = out[:, lo:hi]
    np.matmul(Ws, skip_n, out=band)
    np.matmul(Wu, up, out=tmp)
    np.add(band, tmp, out=band)
    scale_bias_act_columns(out, lo, hi, ones, bias, elu, alpha)

def proposed_head_inference(x9, skip, upconv, conv_fuse, conv10, alpha_up=1.0, alpha_fuse=1.0, *, workspace=None):
    """Fast twin of ``functional.proposed_head_inference``."""
    (w_up, b_up), (w_f, b_f), (w_10, b_10) = upconv, conv_fuse, conv10
    dt = x9.dtype
    N, C9, h, w, Cu, kh, kw, H, W = _head_shapes("proposed_head_inference", x9, skip, w_up)
    HW, Cs, F, nc = H * W, skip.shape[1], w_f.shape[0], w_10.shape[0]
    x9 = np.ascontiguousarray(x9).reshape(N, C9, h * w)
    skip = np.ascontiguousarray(skip).reshape(N, Cs, HW)
    Wt = _upconv_matrix(w_up, dt)                                                # (Cu*kh*kw, C9)
    Ws, Wu = _halves(w_f, Cs, dt)
    W10 = w_10.reshape(nc, F).astype(dt)
    b_up, b_f, b10 = b_up.astype(dt), b_f.astype(dt), b_10.astype(dt).reshape(nc, 1)
    a_up, a_f = dt.type(alpha_up), dt.type(alpha_fuse)
    elu = epilogue_code("elu", dt)
    ones = np.ones(F, dt)
    features = np.empty((N, F, HW), dt)
    maps = np.empty((N, nc, HW), dt)
    T = _workers()
    threaded = T > 1 and bool(_blas_controllers())
    if N >= T or not threaded:
        parts = _chunks(N, T) if threaded else [(0, N)]
        cols = scratch(workspace, "head_cols", (len(parts), Cu * kh * kw, h * w), dt)
        ups = scratch(workspace, "head_up", (len(parts), Cu, HW), dt)
        tmp = scratch(workspace, "head_tmp", (len(parts), F, HW), dt)

        def work(t, lo, hi):
            def f():
                for n in range(lo, hi):
                    _upconv_image(Wt, x9[n], b_up, a_up, kh, kw, h, w, cols[t], ups[t])
                    _fuse_image(Ws, Wu, skip[n], ups[t], b_f, ones, elu, a_f, tmp[t], features[n])
                    np.matmul(W10, features[n], out=maps[n])
                    maps[n] += b10
            return f
        fns = [work(t, lo, hi) for t, (lo, hi) in enumerate(parts)]
        run_parts(fns)
    else:   # fewer images than threads: each thread takes a band of x9's rows, from fire9 to the class maps
        # (the upconv's patches do not overlap: x9's rows r0:r1 give exactly the output rows r0*kh:r1*kh, whose
        # fused features and class maps need nothing else), so the threads never wait for each other
        bands = _chunks(h, T)
        scratches = [(scratch(workspace, f"head_cols{t}", (Cu * kh * kw, (r1 - r0) * w), dt),
                      scratch(workspace, f"head_up{t}", (Cu, (r1 - r0) * kh * W), dt),
                      scratch(workspace, f"head_tmp{t}", (F, (r1 - r0) * kh * W), dt))
                     for t, (r0, r1) in enumerate(bands)]
        for n in range(N):
            def band(r0, r1, cols, up, tmp, n=n):
                def f():
                    lo, hi = r0 * kh * W, r1 * kh * W               # the band's columns of the (C, H*W) maps
                    _upconv_image(Wt, x9[n][:, r0 * w:r1 * w], b_up, a_up, kh, kw, r1 - r0, w, cols, up)
                    _fuse_image(Ws, Wu, skip[n][:, lo:hi], up, b_f, ones, elu, a_f, tmp, features[n], lo, hi)
                    np.matmul(W10, features[n][:, lo:hi], out=maps[n][:, lo:hi])
                return f
            _run_parallel([band(r0, r1, *bufs) for (r0, r1), bufs in zip(bands, scratches)])
            maps[n] += b10
    return maps.mean(axis=2), features.reshape(N, F, H, W), maps.reshape(N, nc, H, W)


def upconv_fuse_forward(x9, skip, upconv, conv_fuse, alpha_up=1.0, alpha_fuse=1.0, *, workspace=None):
    """Fast twin of ``functional.upconv_fuse_forward``."""
    (w_up, b_up), (w_f, b_f) = upconv, conv_fuse
    dt = x9.dtype
    N, C9, h, w, Cu, kh, kw, H, W = _head_shapes("upconv_fuse_forward", x9, skip, w_up)
    Cs, F, HW = skip.shape[1], w_f.shape[0], H * W
    x9 = np.ascontiguousarray(x9)
    x93 = x9.reshape(N, C9, h * w)
    Wt = _upconv_matrix(w_up, dt)                                                # (Cu*kh*kw, C9)
    Ws, Wu = _halves(w_f, Cs, dt)
    b_up, b_f = b_up.astype(dt), b_f.astype(dt)
    a_up, a_f = dt.type(alpha_up), dt.type(alpha_fuse)
    elu, ones = epilogue_code("elu", dt), np.ones(F, dt)
    skip3 = np.ascontiguousarray(skip).reshape(N, Cs, HW)
    up3 = np.empty((N, Cu, HW), dt)
    features = np.empty((N, F, HW), dt)
    parts = _chunks(N, min(_workers(), N))
    cols = scratch(workspace, "up_cols", (len(parts), Cu * kh * kw, h * w), dt)
    tmp = scratch(workspace, "fuse_tmp", (len(parts), F, HW), dt)

    def work(t, lo, hi):      # image by image, as proposed_head_inference: each stays in cache
        def f():
            for n in range(lo, hi):
                _upconv_image(Wt, x93[n], b_up, a_up, kh, kw, h, w, cols[t], up3[n])
                _fuse_image(Ws, Wu, skip3[n], up3[n], b_f, ones, elu, a_f, tmp[t], features[n])
        return f
    run_parts([work(t, lo, hi) for t, (lo, hi) in enumerate(parts)])
    cache = ("fused", x9, w_up, skip3, up3, features, w_f, alpha_up, alpha_fuse)
    return features.reshape(N, F, H, W), cache


def upconv_fuse_backward(dout, cache, *, workspace=None):
    """Fast twin of ``functional.upconv_fuse_backward``; reads the fast forward's cache. Image by image on the
    threads, each image's gradients in cache from conv_fuse's ELU back to fire9's output: ELU's backward with the
    bias sums, conv_fuse's two weight-gradient products and two input-gradient products, the upconv's ELU, the
    upconv's columns (im2col with stride = kernel: a permutation), its weight-gradient and input-gradient
    products; the weight gradients summed per thread, then over the threads."""
    if cache[0] != "fused":
        raise ValueError("upconv_fuse_backward: the fast backward needs the fast forward's cache")
    _, x9, w_up, skip3, up3, features, w_f, alpha_up, alpha_fuse = cache
    N, F, P = features.shape
    C9, Cu, kh, kw = w_up.shape
    h, w = x9.shape[2:]
    H, W = h * kh, w * kw
    Cs, dt = skip3.shape[1], dout.dtype
    d3 = np.ascontiguousarray(dout).reshape(N, F, P)
    Ws, Wu = _halves(w_f, Cs, dt)
    WsT, WuT = np.ascontiguousarray(Ws.T), np.ascontiguousarray(Wu.T)
    W_flat = np.ascontiguousarray(w_up.reshape(C9, -1), dtype=dt)              # (C9, Cu*kh*kw)
    x93 = x9.reshape(N, C9, h * w)
    elu, a_f, a_up = ACTIVATIONS["elu"], dt.type(alpha_fuse), dt.type(alpha_up)
    dskip, dx9 = np.empty_like(skip3), np.empty((N, C9, h * w), dt)
    sums_f, sums_up = np.empty((N, F)), np.empty((N, Cu))                        # float64 bias-gradient rows
    parts = _chunks(N, min(_workers(), N))
    shapes = ((F, P), (Cu, P), (Cu * kh * kw, h * w), (F, Cs), (F, Cu), (C9, Cu * kh * kw))
    # per part: dz, dup, dcols, then the three weight-gradient sums and a buffer for each
    scratches = part_scratch(workspace, "head_backward", len(parts), shapes + shapes[3:], dt)

    def job(lo, hi, dz, dup, dcols, acc_s, acc_u, acc_w, buf_s, buf_u, buf_w):
        def f():
            for n in range(lo, hi):
                first = n == lo
                act_backward_bias_grad_image(d3[n], features[n], elu, a_f, dz, sums_f[n])
                matmul_accumulate(dz, skip3[n].T, acc_s, buf_s, first)            # dW_fuse, skip half
                matmul_accumulate(dz, up3[n].T, acc_u, buf_u, first)              # dW_fuse, upconv half
                np.matmul(WsT, dz, out=dskip[n])
                np.matmul(WuT, dz, out=dup)
                act_backward_bias_grad_image(dup, up3[n], elu, a_up, dup, sums_up[n])
                im2col_image(dup.reshape(Cu, H, W), kh, kw, kh, kw, 0, 0, h, w, dcols)
                matmul_accumulate(x93[n], dcols.T, acc_w, buf_w, first)           # dW_up = sum x9 dcols^T
                np.matmul(W_flat, dcols, out=dx9[n])
        return f
    run_parts([job(lo, hi, *buffers) for (lo, hi), buffers in zip(parts, scratches)])
    acc = [np.sum([buffers[i] for buffers in scratches], axis=0) for i in (3, 4, 5)]
    dw_fuse = np.concatenate(acc[:2], axis=1).astype(dt, copy=False).reshape(w_f.shape)
    dw_up = acc[2].astype(dt, copy=False).reshape(w_up.shape)
    db_fuse, db_up = sums_f.sum(axis=0).astype(dt), sums_up.sum(axis=0).astype(dt)
    return dx9.reshape(x9.shape), dskip.reshape(N, Cs, H, W), dw_up, db_up, dw_fuse, db_fuse


def _upconv_matrix(w_up, dtype):
    """The upconv's weight (C9, Cu, kh, kw) as the (Cu*kh*kw, C9) matrix of its GEMM: a transposed view, no copy.
    The BLAS reads a transposed operand as fast; a contiguous copy (a 2 MB strided transpose at 227) at every call
    was a large part of the head at batch 1."""
    return w_up.reshape(w_up.shape[0], -1).astype(dtype, copy=False).T


def _halves(w_f, Cs, dtype):
    """conv_fuse's weight split at the concatenation: (F, Cs) for the skip, (F, Cu) for the upconv."""
    wf = w_f.reshape(w_f.shape[0], -1).astype(dtype)
    return np.ascontiguousarray(wf[:, :Cs]), np.ascontiguousarray(wf[:, Cs:])
