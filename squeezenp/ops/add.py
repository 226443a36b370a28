"""Fast twin of ``functional.add_inference``: the evaluation-mode bypass ``out += x`` in one parallel pass.

NumPy's ``out += x`` runs on one thread; over fire3's output at batch 32 (13 million numbers at 227 px) that pass
is as long as a small convolution. Here each thread adds its own contiguous chunk.
Tests: ``tests/ops/test_add.py``.
"""
from __future__ import annotations

from numba import njit, prange

from .. import functional


@njit(parallel=True, cache=True, nogil=True)     # nogil: the threads of a split batch call it at once
def _add_inference_kernel(out, x):
    for i in prange(out.size):
        out[i] += x[i]


def add_inference(out, x):
    """Numba twin of ``functional.add_inference`` (C-contiguous arrays of one shape and dtype; otherwise NumPy's)."""
    if out.shape != x.shape or out.dtype != x.dtype or not (out.flags.c_contiguous and x.flags.c_contiguous):
        return functional.add_inference(out, x)
    _add_inference_kernel(out.reshape(-1), x.reshape(-1))
    return out
