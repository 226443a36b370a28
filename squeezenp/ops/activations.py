"""Elementwise activations: ELU (Clevert et al. 2016) and ReLU.

ELU::

    forward : out = x                    if x > 0  else  alpha * (exp(x) - 1)
    backward: dx  = dout                 if x > 0  else  dout * (out + alpha)      (since d/dx alpha*e^x = out + alpha)

ReLU::

    forward : out = max(x, 0)
    backward: dx  = dout * (x > 0)

``expm1(min(x, 0))`` keeps exp from ever seeing a large positive x (no overflow warnings) and is exact
near 0. Any shape; dtype kept. Reference and Numba kernel side by side with the same signatures; the
kernels work on the flat contiguous array in parallel chunks. Tests in ``tests/ops/test_activations.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


# --------------------------------------------------------------------------------------------------
# Readable references
# --------------------------------------------------------------------------------------------------
def elu_forward_reference(x, alpha, out=None):
    res = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
    if out is not None:
        out[...] = res
        return out
    return res


def elu_backward_reference(dout, x, out, alpha):
    return np.where(x > 0, dout, dout * (out + alpha)).astype(dout.dtype, copy=False)


def relu_forward_reference(x):
    return np.maximum(x, 0)


def relu_backward_reference(dout, x):
    return dout * (x > 0)


# --------------------------------------------------------------------------------------------------
# Numba kernels (same signatures)
# --------------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True, fastmath=True)
def _elu_forward_kernel(x, alpha, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = v if v > 0 else alpha * np.expm1(v)


@njit(parallel=True, cache=True)
def _elu_backward_kernel(dout, x, out, alpha, dx):
    for i in prange(x.size):
        dx[i] = dout[i] if x[i] > 0 else dout[i] * (out[i] + alpha)


def elu_forward(x, alpha, out=None):
    """Numba twin of :func:`elu_forward_reference`; ``out`` may be ``x`` itself for in-place use."""
    x = np.ascontiguousarray(x)
    if out is None:
        out = np.empty_like(x)
    _elu_forward_kernel(x.reshape(-1), x.dtype.type(alpha), out.reshape(-1))
    return out


def elu_backward(dout, x, out, alpha):
    """Numba twin of :func:`elu_backward_reference`."""
    dout = np.ascontiguousarray(dout)
    dx = np.empty_like(dout)
    _elu_backward_kernel(dout.reshape(-1), np.ascontiguousarray(x).reshape(-1),
                         np.ascontiguousarray(out).reshape(-1), dout.dtype.type(alpha), dx.reshape(-1))
    return dx


# ReLU is a single vectorised NumPy call already; its "kernel" is the reference.
relu_forward = relu_forward_reference
relu_backward = relu_backward_reference
