"""The proposed CNN's head in evaluation, image by image while it is in cache, with no concatenation: the twin of
``squeezenp/functional/head.py`` (formulas there), same signature plus the speed-only keyword ``workspace``.

Per image, on one of squeezenp's threads (a one-thread BLAS under it, ``gemm.py``):

- ``up``: the upconv's GEMM ``W_up^T @ x9[n]``, then ``patches.fold_patches`` writes its columns straight into
  place with bias and ELU (stride = kernel: each output pixel has exactly one source), no zeroing, no second pass;
- the concatenation is never built: ``W_fuse @ [skip; up] = W_fuse[:, :Cs] @ skip + W_fuse[:, Cs:] @ up``, two
  GEMMs into the same output, then bias and ELU while it is in cache (``bias.scale_bias_act_image``);
- conv10 and the average pool follow on the same image.

At batch 1 (fewer images than threads) the threads split the output channels instead, in two steps. Used by
``squeezenp.models.ProposedCNN`` after ``fuse()`` when its upconv's output has the skip's size.

In training, ``upconv_fuse_forward/backward`` (upconv -> ELU -> concat -> conv_fuse -> ELU) make the same two
savings and keep what the backward needs: the upconv's ELU is applied as it folds (its output kept: ELU's
derivative follows from it), ``conv_fuse`` runs as the two GEMMs with bias and ELU after them; backward, one pass
per ELU gives the pre-activation gradient and the bias gradient (``bias.act_backward_bias_grad``), and
``conv_fuse``'s weight and input gradients are the two halves' products, with no concatenation or split copy.
Its cache is read by the fast backward only. Tests: ``tests/ops/test_head.py``, ``tests/functional/test_head.py``.
"""
from __future__ import annotations

import numpy as np

from .bias import act_backward_bias_grad, epilogue_code, scale_bias_act, scale_bias_act_image
from .conv_transpose2d import conv_transpose2d_backward, fold_non_overlapping
from .gemm import (_blas_controllers, _chunks, _run_parallel, _workers, matmul_per_image, matmul_sum_per_image,
                   run_parts)
from .patches import fold_patches
from .workspace import scratch


def _head_shapes(name, x9, skip, w_up):
    """(N, C9, h, w, Cu, kh, kw, H, W): the upconv (stride = kernel) maps fire9's h x w to H x W, which must be
    the skip's size."""
    N, C9, h, w = x9.shape
    _, Cu, kh, kw = w_up.shape
    H, W = h * kh, w * kw
    if skip.shape[2:] != (H, W):
        raise ValueError(f"{name}: the upconv's output {(N, Cu, H, W)} does not have the skip's size {skip.shape}")
    return N, C9, h, w, Cu, kh, kw, H, W


def proposed_head_inference(x9, skip, upconv, conv_fuse, conv10, alpha_up=1.0, alpha_fuse=1.0, *, workspace=None):
    """Fast twin of ``functional.proposed_head_inference``."""
    (w_up, b_up), (w_f, b_f), (w_10, b_10) = upconv, conv_fuse, conv10
    dt = x9.dtype
    N, C9, h, w, Cu, kh, kw, H, W = _head_shapes("proposed_head_inference", x9, skip, w_up)
    HW, Cs, F, nc = H * W, skip.shape[1], w_f.shape[0], w_10.shape[0]
    x9 = np.ascontiguousarray(x9).reshape(N, C9, h * w)
    skip = np.ascontiguousarray(skip).reshape(N, Cs, HW)
    Wt = np.ascontiguousarray(w_up.reshape(C9, -1).T, dtype=dt)                 # (Cu*kh*kw, C9)
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
                    np.matmul(Wt, x9[n], out=cols[t])
                    fold_patches(cols[t], kh, kw, h, w, b_up, "elu", a_up, out=ups[t].reshape(Cu, H, W))
                    np.matmul(Ws, skip[n], out=features[n])
                    np.matmul(Wu, ups[t], out=tmp[t])
                    features[n] += tmp[t]
                    scale_bias_act_image(features[n], ones, b_f, elu, a_f)
                    np.matmul(W10, features[n], out=maps[n])
                    maps[n] += b10
            return f
        fns = [work(t, lo, hi) for t, (lo, hi) in enumerate(parts)]
        run_parts(fns)
    else:   # fewer images than threads: the threads split the output channels, two steps per image
        cols = scratch(workspace, "head_cols", (Cu * kh * kw, h * w), dt)
        ups = scratch(workspace, "head_up", (Cu, HW), dt)
        tmp = scratch(workspace, "head_tmp", (F, HW), dt)
        for n in range(N):
            def up_rows(lo, hi, n=n):
                def f():
                    r0, r1 = lo * kh * kw, hi * kh * kw
                    np.matmul(Wt[r0:r1], x9[n], out=cols[r0:r1])
                    fold_patches(cols[r0:r1], kh, kw, h, w, b_up[lo:hi], "elu", a_up,
                                 out=ups[lo:hi].reshape(-1, H, W))
                return f

            def fuse_rows(lo, hi, n=n):
                def f():
                    np.matmul(Ws[lo:hi], skip[n], out=features[n, lo:hi])
                    np.matmul(Wu[lo:hi], ups, out=tmp[lo:hi])
                    features[n, lo:hi] += tmp[lo:hi]
                    scale_bias_act_image(features[n, lo:hi], ones[lo:hi], b_f[lo:hi], elu, a_f)
                return f
            _run_parallel([up_rows(lo, hi) for lo, hi in _chunks(Cu, T)])
            _run_parallel([fuse_rows(lo, hi) for lo, hi in _chunks(F, T)])
            np.matmul(W10, features[n], out=maps[n])
            maps[n] += b10
    return maps.mean(axis=2), features.reshape(N, F, H, W), maps.reshape(N, nc, H, W)


def upconv_fuse_forward(x9, skip, upconv, conv_fuse, alpha_up=1.0, alpha_fuse=1.0, *, workspace=None):
    """Fast twin of ``functional.upconv_fuse_forward``."""
    (w_up, b_up), (w_f, b_f) = upconv, conv_fuse
    dt = x9.dtype
    N, C9, h, w, Cu, kh, kw, H, W = _head_shapes("upconv_fuse_forward", x9, skip, w_up)
    Cs, F = skip.shape[1], w_f.shape[0]
    x9 = np.ascontiguousarray(x9)
    cols = scratch(workspace, "up_cols", (N, Cu * kh * kw, h * w), dt)
    matmul_per_image(w_up.reshape(C9, -1).T, x9.reshape(N, C9, h * w), cols)
    up = fold_non_overlapping(cols, kh, kw, h, w, b_up, np.empty((N, Cu, H, W), dt), "elu", alpha_up)
    Ws, Wu = _halves(w_f, Cs, dt)
    skip3, up3 = np.ascontiguousarray(skip).reshape(N, Cs, H * W), up.reshape(N, Cu, H * W)
    features = np.empty((N, F, H * W), dt)
    matmul_per_image(Ws, skip3, features)
    tmp = scratch(workspace, "fuse_tmp", features.shape, dt)
    matmul_per_image(Wu, up3, tmp)
    features += tmp
    scale_bias_act(features, None, b_f, "elu", alpha_fuse)
    cache = ("fused", x9, w_up, skip3, up3, features, w_f, alpha_up, alpha_fuse)
    return features.reshape(N, F, H, W), cache


def upconv_fuse_backward(dout, cache, *, workspace=None):
    """Fast twin of ``functional.upconv_fuse_backward``; reads the fast forward's cache."""
    if cache[0] != "fused":
        raise ValueError("upconv_fuse_backward: the fast backward needs the fast forward's cache")
    _, x9, w_up, skip3, up3, features, w_f, alpha_up, alpha_fuse = cache
    N, F, P = features.shape
    Cs, (kh, kw) = skip3.shape[1], w_up.shape[2:]
    dt = dout.dtype
    dz, db_fuse = act_backward_bias_grad(np.ascontiguousarray(dout).reshape(N, F, P), features, "elu", alpha_fuse)
    Ws, Wu = _halves(w_f, Cs, dt)
    dw_fuse = np.empty((F, w_f.shape[1]), dt)
    matmul_sum_per_image(dz, skip3, dw_fuse[:, :Cs])      # sum_n dz[n] @ skip[n].T
    matmul_sum_per_image(dz, up3, dw_fuse[:, Cs:])        # sum_n dz[n] @ up[n].T
    dskip = np.empty_like(skip3)
    matmul_per_image(np.ascontiguousarray(Ws.T), dz, dskip)
    dup = np.empty_like(up3)
    matmul_per_image(np.ascontiguousarray(Wu.T), dz, dup)
    dup, db_up = act_backward_bias_grad(dup, up3, "elu", alpha_up)
    H, W = x9.shape[2] * kh, x9.shape[3] * kw
    dx9, dw_up, _ = conv_transpose2d_backward(dup.reshape(N, -1, H, W), (x9, w_up, False, (kh, kw), (0, 0)),
                                              workspace=workspace)
    return dx9, dskip.reshape(N, Cs, H, W), dw_up, db_up, dw_fuse.reshape(w_f.shape), db_fuse


def _halves(w_f, Cs, dtype):
    """conv_fuse's weight split at the concatenation: (F, Cs) for the skip, (F, Cu) for the upconv."""
    wf = w_f.reshape(w_f.shape[0], -1).astype(dtype)
    return np.ascontiguousarray(wf[:, :Cs]), np.ascontiguousarray(wf[:, Cs:])
