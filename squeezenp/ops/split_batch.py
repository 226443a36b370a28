"""An evaluation batch split over the threads: each thread runs its share of the images through the whole
network on its own, one Numba thread and a one-thread BLAS under it.

Teaches: two ways to use two cores on a batch. The layer-by-layer way splits every layer's images over the
threads (``gemm.py``): the threads meet after every layer (26 times per SqueezeNet forward), and every layer's
output for the whole batch goes out to memory before the next layer reads it back (fire2's output alone is 51 MB
at batch 32, more than the 32 MB L3). Splitting the *batch* once instead lets each thread run its 16 images
from conv1 to the classifier without waiting for the other, and the threads meet once, at the end. Batch-32
inference at 227 px ran 1.12-1.23x faster this way for the SqueezeNets and 1.07-1.09x for the proposed CNN on the
2-core benchmark machine (``python benchmarks/bench_split.py``, both ways alternated in one process;
``docs/benchmarks.md``). Used by every network's evaluation forward after ``fuse()`` (``Model._splits_batch``).

What makes it safe: ``numba.set_num_threads`` is per thread, so inside a share every op sees one thread and runs
its serial path in the calling thread; the BLAS runs on one thread for the whole call (``gemm.single_thread_blas``);
each share works in its own workspace slot (``workspace.in_slot``), so no scratch array is shared. The function
run on each share must not write state that another share reads (the networks give it one that returns its
results instead of storing them). Same numbers as one call on the whole batch: ``tests/ops/test_split_batch.py``.
"""
from __future__ import annotations

import numba

from .gemm import _blas_controllers, _chunks, _run_parallel, _workers
from .workspace import in_slot


def split_threads(batch: int) -> int:
    """How many threads a batch of ``batch`` images is split over: every thread squeezenp may use, if each gets at
    least two images (one image goes to the batch-1 plan instead) and the BLAS's threads can be controlled;
    else 1 (do not split)."""
    T = _workers()
    return T if T > 1 and batch >= 2 * T and _blas_controllers() else 1


def split_batch(fn, x):
    """``[fn(x[lo:hi]) for each thread's share]``, the shares run at once, each on one thread (see above).
    Returns the results in the order of the shares; the caller joins them."""
    parts = _chunks(len(x), split_threads(len(x)))
    results = [None] * len(parts)

    def share(i, lo, hi):
        def run():
            threads = numba.get_num_threads()
            numba.set_num_threads(1)          # this thread only: every op inside takes its one-thread path
            try:
                with in_slot(("split", i)):
                    results[i] = fn(x[lo:hi])
            finally:
                numba.set_num_threads(threads)
        return run
    if len(parts) == 1:
        return [fn(x)]
    _run_parallel([share(i, lo, hi) for i, (lo, hi) in enumerate(parts)])
    return results
