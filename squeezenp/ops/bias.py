"""Per-channel bias: adding it to an NCHW output, and its gradient (the sum of ``dout`` over N, H, W).

Teaches: the two cheapest parts of a convolution are easy to make the slowest. ``out += b[:, None]`` and
``dout.sum(axis=(0, 2))`` are single-threaded NumPy passes over the whole output (25 MB for fire2 at
batch 32); the kernels do the same work in parallel, one (image, channel) row per iteration.

Also the epilogues fused into other kernels: ``scale_bias_act`` (one pass over a batch) and
``scale_bias_act_image`` (one image, on the thread that just ran its GEMM), both applying
``act(scale * out + bias)`` per channel (a convolution's bias, an evaluation-mode batch norm folded into
``scale``/``bias``, ReLU or ELU); and the training backward of such an epilogue, ``act_backward_bias_grad``: the
activation's backward from its output and the bias gradient in one pass.

Shapes: ``out``/``dout`` viewed as (N, C, P) with ``P = H*W``; ``bias`` (C,). Reference and Numba kernel
side by side with the same signatures; checked against each other in ``tests/ops`` and by the layer tests.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .elu import elu_scalar_f32

ACTIVATIONS = {None: 0, "identity": 0, "relu": 1, "elu": 2}
ELU_F32 = 3        # kernel code: ELU computed with the vectorisable float32 expm1 (``elu.elu_scalar_f32``)


# --------------------------------------------------------------------------------------------------
# Readable references
# --------------------------------------------------------------------------------------------------
def add_bias_reference(out, bias):
    """In place: ``out[n, c, p] += bias[c]`` for ``out`` of shape (N, C, P). Returns ``out``."""
    out += bias.astype(out.dtype, copy=False)[None, :, None]
    return out


def scale_bias_act_reference(out, scale, bias, activation=None, alpha=1.0):
    """In place, for inference: ``out[n, c, p] = act(scale[c] * out[n, c, p] + bias[c])``, ``act`` one of
    None (identity), "relu", "elu" (with ``alpha``). ``out`` (N, C, P), any strides (a channel slice of a larger
    output is fine); ``scale`` None means 1. One pass instead of three: a convolution's bias, an evaluation-mode
    batch norm folded into ``scale``/``bias``, and the activation. Returns ``out``."""
    code = ACTIVATIONS[activation]
    y = out * (1 if scale is None else scale.astype(out.dtype)[None, :, None]) + bias.astype(out.dtype)[None, :, None]
    if code == 1:
        y = np.maximum(y, 0)
    elif code == 2:
        y = np.where(y > 0, y, alpha * np.expm1(np.minimum(y, 0)))
    out[...] = y
    return out


def scale_bias_act_image_reference(out, scale, bias, code, alpha):
    """One image's output ``out`` (C, P), in place: ``out[c, p] = act(scale[c] * out[c, p] + bias[c])``, the
    activation given by its kernel code (:func:`epilogue_code`). Returns ``out``."""
    activation = {0: None, 1: "relu", 2: "elu", ELU_F32: "elu"}[code]
    scale_bias_act_reference(out[None], scale, bias, activation, alpha)
    return out


def bias_grad_reference(dout):
    """``dbias[c] = sum over n, p of dout[n, c, p]`` for ``dout`` of shape (N, C, P)."""
    return dout.sum(axis=(0, 2))


def act_backward_bias_grad_reference(dout, out, activation, alpha=1.0):
    """Backward of ``out = act(z)`` (z a convolution's output with its bias) from ``out`` alone, and the bias
    gradient in the same pass: ``dz = dout * act'(z)`` with ``act'(z) = [out > 0]`` (ReLU) or ``1 if out > 0 else
    out + alpha`` (ELU; out + alpha = alpha * e^z there), identity for None; ``dbias[c] = sum over n, p of
    dz[n, c, p]``. dout, out (N, C, P), any strides. Returns ``(dz, dbias)``; dz C-contiguous."""
    code = ACTIVATIONS[activation]
    if code == 1:
        dz = dout * (out > 0)
    elif code == 2:
        dz = np.where(out > 0, dout, dout * (out + alpha))
    else:
        dz = dout.copy()
    dz = np.ascontiguousarray(dz, dtype=dout.dtype)
    return dz, dz.sum(axis=(0, 2), dtype=np.float64).astype(dout.dtype)


# --------------------------------------------------------------------------------------------------
# Numba kernels (same signatures); each (image, channel) row belongs to one iteration
# --------------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def _add_bias_kernel(out, bias):
    N, C, P = out.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        b = bias[c]
        for p in range(P):
            out[n, c, p] += b


# 'reassoc' lets a float64 sum of float32 values vectorise (one add's latency per element otherwise); no 'nnan'
# or 'ninf': a NaN or inf in a gradient must reach the sum
@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _row_sums_kernel(dout, rows):
    N, C, P = dout.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        s = 0.0                       # float64 accumulator
        for p in range(P):
            s += dout[n, c, p]
        rows[n, c] = s


@njit(parallel=True, cache=True, fastmath=True)
def _scale_bias_act_kernel_f32(out, scale, bias, code, alpha):
    N, C, P = out.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        a, b = scale[c], bias[c]
        if code == 0:
            for p in range(P):
                out[n, c, p] = a * out[n, c, p] + b
        elif code == 1:
            for p in range(P):
                out[n, c, p] = max(a * out[n, c, p] + b, np.float32(0.0))
        else:
            for p in range(P):
                out[n, c, p] = elu_scalar_f32(a * out[n, c, p] + b, alpha)


@njit(parallel=True, cache=True)
def _scale_bias_act_kernel(out, scale, bias, code, alpha):
    N, C, P = out.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        a, b = scale[c], bias[c]
        for p in range(P):
            v = a * out[n, c, p] + b
            if code == 1:
                v = max(v, 0.0)
            elif code == 2 and v <= 0:
                v = alpha * np.expm1(v)
            out[n, c, p] = v


@njit(cache=True, inline="always", fastmath={"nnan", "ninf", "nsz", "contract", "arcp"})
def act_scalar(v, code, alpha):
    """One value through the activation of ``code`` (:func:`epilogue_code`); shared by the fused kernels (the
    per-image GEMM epilogue, Winograd's output transform, ``patches.fold_patches``)."""
    if code == 1:
        return max(v, 0.0)
    if code == ELU_F32:
        return elu_scalar_f32(v, alpha)
    if code == 2 and v <= 0:
        return alpha * np.expm1(v)
    return v


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "contract", "arcp"})
def scale_bias_act_image(out, scale, bias, code, alpha):
    """Numba twin of :func:`scale_bias_act_image_reference`: serial, for the thread that just computed this image's
    GEMM (``gemm.py``), while its output is in cache."""
    return scale_bias_act_columns(out, 0, out.shape[1], scale, bias, code, alpha)


def scale_bias_act_columns_reference(out, start, stop, scale, bias, code, alpha):
    """:func:`scale_bias_act_image_reference` on the columns ``start:stop`` of every row of ``out`` (C, P) only:
    one thread's band of map rows (rows ``r0:r1`` of an H x W map are the columns ``r0*W:r1*W``). Returns ``out``."""
    scale_bias_act_image_reference(out[:, start:stop], scale, bias, code, alpha)
    return out


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "contract", "arcp"})
def scale_bias_act_columns(out, start, stop, scale, bias, code, alpha):
    """Numba twin of :func:`scale_bias_act_columns_reference`. ``out`` is the whole C-contiguous array, not a
    column view of it: Numba cannot know a view's rows to be contiguous, and the loop over one did not vectorise
    (5-8x slower, ELU the most)."""
    for c in range(out.shape[0]):
        a, b = scale[c], bias[c]
        row = out[c, start:stop]          # a loop from 0 vectorises; one from ``start`` did not (7x slower)
        for p in range(row.shape[0]):
            row[p] = act_scalar(a * row[p] + b, code, alpha)
    return out


@njit(cache=True, inline="always", fastmath={"reassoc", "contract"})     # as _row_sums_kernel
def _act_backward_row(dout, out, code, alpha, dz):
    """One channel's row: ``dz = dout * act'(z)`` from ``out``, and its float64 sum. The activation's branch
    outside the loop and a select inside, so that the loop vectorises."""
    s = 0.0
    if code == 2:
        for p in range(dout.shape[0]):
            o = out[p]
            g = dout[p] * (o + alpha if not o > 0 else 1.0)
            dz[p] = g
            s += g
    elif code == 1:
        for p in range(dout.shape[0]):
            g = dout[p] * (1.0 if out[p] > 0 else 0.0)       # as dout * (out > 0): NaN stays NaN
            dz[p] = g
            s += g
    else:
        for p in range(dout.shape[0]):
            g = dout[p]
            dz[p] = g
            s += g
    return s


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _act_backward_bias_grad_kernel(dout, out, code, alpha, dz, rows):
    N, C = dout.shape[0], dout.shape[1]
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        rows[n, c] = _act_backward_row(dout[n, c], out[n, c], code, alpha, dz[n, c])


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def act_backward_bias_grad_image(dout, out, code, alpha, dz, sums):
    """Serial twin of :func:`act_backward_bias_grad` for one image (C, P), for the thread that runs this image's
    backward (``head.py``): ``dz`` written (it may be ``dout`` itself), ``sums[c]`` the float64 sum of ``dz[c]``;
    ``code`` from ``ACTIVATIONS``. Releases the GIL."""
    for c in range(dout.shape[0]):
        sums[c] = _act_backward_row(dout[c], out[c], code, alpha, dz[c])


def act_backward_bias_grad(dout, out, activation, alpha=1.0):
    """Numba twin of :func:`act_backward_bias_grad_reference`: one parallel pass for both results."""
    dz = np.empty(dout.shape, dtype=dout.dtype)
    rows = np.empty(dout.shape[:2], dtype=np.float64)
    _act_backward_bias_grad_kernel(dout, out, ACTIVATIONS[activation], dout.dtype.type(alpha), dz, rows)
    return dz, rows.sum(axis=0).astype(dout.dtype)


def epilogue_code(activation, dtype) -> int:
    """The kernels' activation code: ``ACTIVATIONS[activation]``, with float32 ELU mapped to ``ELU_F32``."""
    code = ACTIVATIONS[activation]
    return ELU_F32 if code == 2 and np.dtype(dtype) == np.float32 else code


def scale_bias_act(out, scale, bias, activation=None, alpha=1.0):
    """Numba twin of :func:`scale_bias_act_reference` (in place, any strides)."""
    dt = out.dtype.type
    sc = np.ones(out.shape[1], dtype=out.dtype) if scale is None else np.ascontiguousarray(scale, dtype=out.dtype)
    b = np.ascontiguousarray(bias, dtype=out.dtype)
    kernel = _scale_bias_act_kernel_f32 if out.dtype == np.float32 else _scale_bias_act_kernel
    kernel(out, sc, b, ACTIVATIONS[activation], dt(alpha))
    return out


def add_bias(out, bias):
    """Numba twin of :func:`add_bias_reference` (``out`` must be C-contiguous)."""
    if not out.flags.c_contiguous:
        return add_bias_reference(out, bias)
    _add_bias_kernel(out, np.ascontiguousarray(bias, dtype=out.dtype))
    return out


def bias_grad(dout):
    """Numba twin of :func:`bias_grad_reference`: row sums in parallel, then a tiny sum over N."""
    dout = np.ascontiguousarray(dout)
    rows = np.empty(dout.shape[:2], dtype=np.float64)
    _row_sums_kernel(dout, rows)
    return rows.sum(axis=0).astype(dout.dtype)
