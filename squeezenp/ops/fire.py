"""A Fire module's evaluation forward and its expand branches' training pair, fused: the twins of ``squeezenp/functional/fire.py`` (same signature plus
``workspace`` and ``algorithm``), in three matrix products with their epilogues instead of ten layer calls.

    squeeze GEMM, each image followed at once by (bias, batch norm folded into scale/shift, activation)
    expand1x1 and expand3x3 GEMMs (or Winograd for the 3x3) written straight into the two channel slices of one
    preallocated output, each image followed at once by (bias, activation)

No caches, no concatenation copy and no pass of its own over any output: each epilogue runs on an image's output
while it is still in cache (``gemm.py``; in Winograd's output transform). The batch-norm folding, for
``y = BN(conv + b)`` with running statistics::

    scale = gamma / sqrt(running_var + eps),  shift = beta - running_mean * scale
    y = gemm * scale + (b * scale + shift)

is recomputed at every call from the current weights (C numbers), so training between calls is safe.

The training pair of the two expand branches (``fire_expand_forward/backward``, the twins of the textbook pair in
``squeezenp/functional/fire.py``): the forward writes both branches into their channel slices of one output, bias
and activation applied per image (no concatenation copy, no activation pass), and keeps that output, since both
activations' derivatives follow from it alone; the backward gets both branches' pre-activation gradient and both
bias gradients in one pass (``bias.act_backward_bias_grad``), then each convolution's weight and input gradients
from the channel slices of it, without copies. Its cache is read by the fast backward only.

Used by ``squeezenp.models.Fire`` after ``fuse()``; tests in ``tests/ops/test_fire.py``.
"""
from __future__ import annotations

import numpy as np

from .bias import act_backward_bias_grad
from .conv2d import WinogradCache, conv2d_backward, conv2d_gemm_into


def fold_batchnorm(bias, bn, dtype):
    """``(scale, shift)`` in ``dtype`` such that ``scale * conv + shift == BN(conv + bias)`` with the running
    statistics of ``bn = (gamma, beta, running_mean, running_var, eps)``, computed in float64; ``scale`` None when
    ``bn`` is None (then ``shift`` is the bias)."""
    b = bias.astype(np.float64)
    if bn is None:
        return None, b.astype(dtype)
    gamma, beta, running_mean, running_var, eps = bn
    scale = gamma * (1.0 / np.sqrt(running_var.astype(np.float64) + eps))
    return scale.astype(dtype), (b * scale + (beta - running_mean * scale)).astype(dtype)


def fire_inference(x, squeeze, expand1x1, expand3x3, bn=None, activation="relu", alpha=1.0, *, workspace=None,
                   algorithm="auto"):
    """Fast twin of ``functional.fire_inference``. ``workspace``, ``algorithm``: scratch arrays and the algorithm
    (``conv_algorithm.py``) of the 3x3 convolution."""
    N, _, H, W = x.shape
    (w_s, b_s), (w_1, b_1), (w_3, b_3) = squeeze, expand1x1, expand3x3
    S, E1, E3 = w_s.shape[0], w_1.shape[0], w_3.shape[0]
    s = np.empty((N, S, H * W), dtype=x.dtype)
    scale, b = fold_batchnorm(b_s, bn, x.dtype)
    conv2d_gemm_into(x, w_s, (1, 1), (0, 0), s, b, scale=scale, activation=activation, alpha=alpha)
    s4 = s.reshape(N, S, H, W)
    out = np.empty((N, E1 + E3, H * W), dtype=x.dtype)
    conv2d_gemm_into(s4, w_1, (1, 1), (0, 0), out[:, :E1], b_1.astype(x.dtype), activation=activation, alpha=alpha)
    conv2d_gemm_into(s4, w_3, (1, 1), (1, 1), out[:, E1:], b_3.astype(x.dtype), workspace, algorithm,
                     activation=activation, alpha=alpha)
    return out.reshape(N, E1 + E3, H, W)


def fire_expand_forward(s, expand1x1, expand3x3, activation="relu", alpha=1.0, *, workspace=None, algorithm="auto"):
    """Fast twin of ``functional.fire_expand_forward``. ``workspace``, ``algorithm``: scratch arrays and the
    algorithm (``conv_algorithm.py``) of the 3x3 convolution."""
    N, S, H, W = s.shape
    (w_1, b_1), (w_3, b_3) = expand1x1, expand3x3
    E1, E3 = w_1.shape[0], w_3.shape[0]
    out = np.empty((N, E1 + E3, H * W), dtype=s.dtype)
    _, cols = conv2d_gemm_into(s, w_1, (1, 1), (0, 0), out[:, :E1], b_1.astype(s.dtype), keep=True,
                               activation=activation, alpha=alpha)
    ran, kept = conv2d_gemm_into(s, w_3, (1, 1), (1, 1), out[:, E1:], b_3.astype(s.dtype), workspace, algorithm,
                                 keep=True, activation=activation, alpha=alpha)
    # the convolutions' caches without a bias: the bias gradients come from the activations' backward pass
    cache_1 = (s.shape, cols, w_1, False, (1, 1), (0, 0))
    cache_3 = WinogradCache(s.shape, s, kept, w_3, False) if ran == "winograd" else \
        (s.shape, kept, w_3, False, (1, 1), (1, 1))
    return out.reshape(N, E1 + E3, H, W), ("fused", out, activation, alpha, cache_1, cache_3)


def fire_expand_backward(dout, cache, *, workspace=None):
    """Fast twin of ``functional.fire_expand_backward``; reads the fast forward's cache."""
    if cache[0] != "fused":
        raise ValueError("fire_expand_backward: the fast backward needs the fast forward's cache")
    _, out, activation, alpha, cache_1, cache_3 = cache
    N, E = out.shape[:2]
    E1 = cache_1[2].shape[0]
    dz, dbias = act_backward_bias_grad(dout.reshape(out.shape), out, activation, alpha)   # (N, E, H*W), (E,)
    dz = dz.reshape(dout.shape)
    ds, dw1, _ = conv2d_backward(dz[:, :E1], cache_1)
    ds_3, dw3, _ = conv2d_backward(dz[:, E1:], cache_3, workspace=workspace)
    ds += ds_3                                           # s fanned out to both branches: the gradients add
    return ds, dw1, dbias[:E1].copy(), dw3, dbias[E1:].copy()
