"""Keep freed large blocks in the process instead of giving them back to the OS (glibc only).

A training step allocates and frees activations of 10-100 MB. By default glibc serves each from a fresh ``mmap``
and unmaps it on ``free``, so every step touches new pages: the page faults were up to 40% of a step on a loaded
2-core machine (``docs/benchmarks.md``). ``mallopt(M_MMAP_MAX, 0)`` serves large blocks from the heap instead
and a high ``M_TRIM_THRESHOLD`` keeps the heap from shrinking, the same as starting Python with
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...`` (what the benchmarks do), but for any process that imports
squeezenp (``squeezenp/__init__.py`` calls :func:`keep_freed_memory`). The cost: the process keeps its peak heap
size until it exits. Every thread allocates from the one main arena (``M_ARENA_MAX`` 1): a thread of its own
arena gets its large blocks from 64 MB heaps that glibc unmaps when they empty, whatever the trim threshold (the
threads of a split evaluation batch, ``squeezenp/ops/split_batch.py``, took 1,300 page faults per SqueezeNet
batch that way); squeezenp's threads allocate rarely, so they never wait long for the arena's lock.

The two heap settings are not applied when the user set either glibc variable (glibc has applied theirs); the
arena count not when ``MALLOC_ARENA_MAX`` is set; nothing when ``SQUEEZENP_MALLOC=system``, or off glibc. Tests: ``tests/test_malloc.py``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8      # glibc's mallopt parameter numbers (malloc.h)
TRIM_THRESHOLD = 2**31 - 1                      # mallopt takes an int: 2 GiB, far above any single free here
ENV = "SQUEEZENP_MALLOC"


def _mallopt():
    """glibc's ``mallopt`` through ctypes, or None off glibc (macOS, Windows, musl without mallopt)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt


def keep_freed_memory() -> bool:
    """Apply the settings; returns True when the two that keep freed memory were applied (the arena count is
    set on its own, unless ``MALLOC_ARENA_MAX`` is set)."""
    if os.environ.get(ENV, "").lower() == "system":
        return False
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(M_ARENA_MAX, 1)         # one arena (see above)
    if "MALLOC_MMAP_MAX_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
