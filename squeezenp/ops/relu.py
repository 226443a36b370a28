"""ReLU as parallel Numba kernels: the twin of ``squeezenp/functional/relu.py`` (formulas there), same signatures
and cache.

``np.maximum(x, 0)`` and ``dout * (x > 0)`` are single-threaded passes (the second with a boolean temporary);
at conv1's output (13 M values at batch 16) they were a measurable part of a training step. The kernels do the
same work on the flat contiguous array in parallel chunks. A NaN input stays NaN, as with ``np.maximum``.
Tests: ``tests/ops/test_relu.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _relu_forward_kernel(x, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = 0 if v <= 0 else v


@njit(parallel=True, cache=True)
def _relu_backward_kernel(dout, x, dx):
    for i in prange(x.size):
        dx[i] = dout[i] if x[i] > 0 else dout[i] * 0     # as dout * (x > 0): inf or NaN gives NaN


def relu_forward(x):
    """Numba twin of ``functional.relu_forward``: ``(out, x)``."""
    xc = np.ascontiguousarray(x)
    out = np.empty_like(xc)
    _relu_forward_kernel(xc.reshape(-1), out.reshape(-1))
    return out, x


def relu_backward(dout, cache):
    """Numba twin of ``functional.relu_backward``."""
    dout = np.ascontiguousarray(dout)
    dx = np.empty_like(dout)
    _relu_backward_kernel(dout.reshape(-1), np.ascontiguousarray(cache).reshape(-1), dx.reshape(-1))
    return dx
