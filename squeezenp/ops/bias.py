"""Per-channel bias: adding it to an NCHW output, and its gradient (the sum of ``dout`` over N, H, W).

Teaches: the two cheapest parts of a convolution are easy to make the slowest. ``out += b[:, None]`` and
``dout.sum(axis=(0, 2))`` are single-threaded NumPy passes over the whole output (25 MB for fire2 at
batch 32); the kernels do the same work in parallel, one (image, channel) row per iteration.

Shapes: ``out``/``dout`` viewed as (N, C, P) with ``P = H*W``; ``bias`` (C,). Reference and Numba kernel
side by side with the same signatures; checked against each other in ``tests/ops`` and by the layer tests.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


# --------------------------------------------------------------------------------------------------
# Readable references
# --------------------------------------------------------------------------------------------------
def add_bias_reference(out, bias):
    """In place: ``out[n, c, p] += bias[c]`` for ``out`` of shape (N, C, P). Returns ``out``."""
    out += bias.astype(out.dtype, copy=False)[None, :, None]
    return out


def bias_grad_reference(dout):
    """``dbias[c] = sum over n, p of dout[n, c, p]`` for ``dout`` of shape (N, C, P)."""
    return dout.sum(axis=(0, 2))


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


@njit(parallel=True, cache=True)
def _row_sums_kernel(dout, rows):
    N, C, P = dout.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        s = 0.0                       # float64 accumulator
        for p in range(P):
            s += dout[n, c, p]
        rows[n, c] = s


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
