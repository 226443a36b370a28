"""Why the batch-1 plan keeps Python's ``threading.Barrier``: two threads crossing empty barriers, and the plan's
batch-1 forward with its barrier swapped, for three kinds of barrier.

- ``python``: ``threading.Barrier`` (what ``squeezenp/models/plan.py`` uses);
- ``pthread``: the C library's ``pthread_barrier_wait`` through ctypes (which releases the GIL for the call);
- ``spin``: a barrier that spins in Numba without the GIL on an atomic counter (``@intrinsic`` atomics below),
  yielding every ``SPINS`` polls.

Usage::

    python benchmarks/bench_barrier.py                 # crossings, then squeezenet's batch-1 forward per barrier
    python benchmarks/bench_barrier.py --rounds 100
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

import numpy as np  # noqa: E402
from numba import njit, types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

SPINS = 200_000
KINDS = ("python", "pthread", "spin")


@intrinsic
def _atomic_add(typingctx, arr, idx, val):
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")
    return types.int64(arr, idx, val), codegen


@intrinsic
def _atomic_load(typingctx, arr, idx):
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        return builder.load_atomic(ptr, "seq_cst", 8)
    return types.int64(arr, idx), codegen


@njit(nogil=True)
def _arrive(state, parties):
    """Count this thread in; -1 if it was the last (it releases the others), else the generation to wait on."""
    generation = _atomic_load(state, 1)
    if _atomic_add(state, 0, 1) == parties - 1:
        _atomic_add(state, 0, -parties)
        _atomic_add(state, 1, 1)
        return -1
    return generation


@njit(nogil=True)
def _spin(state, generation, polls):
    for _ in range(polls):
        if _atomic_load(state, 1) != generation:
            return True
    return False


class SpinBarrier:
    def __init__(self, parties):
        self.state, self.parties = np.zeros(8, np.int64), parties

    def wait(self):
        generation = _arrive(self.state, self.parties)
        if generation >= 0:
            while not _spin(self.state, generation, SPINS):
                time.sleep(0)

    def reset(self):
        pass

    def abort(self):
        pass


class PthreadBarrier:
    def __init__(self, parties):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        self._wait = libc.pthread_barrier_wait
        self._wait.argtypes = (ctypes.c_void_p,)
        self.buf = ctypes.create_string_buffer(128)
        libc.pthread_barrier_init.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint)
        if libc.pthread_barrier_init(self.buf, None, parties) != 0:
            raise OSError("pthread_barrier_init failed")

    def wait(self):
        self._wait(self.buf)

    def reset(self):
        pass

    def abort(self):
        pass


def make(kind, parties=2):
    return {"python": threading.Barrier, "pthread": PthreadBarrier, "spin": SpinBarrier}[kind](parties)


def crossing_us(kind, n=3000):
    """Microseconds per crossing of two threads doing nothing else (after 100 untimed crossings: Numba compiles
    the spin barrier at its first call)."""
    barrier = make(kind)

    def loop(count):
        for _ in range(count):
            barrier.wait()
    result = 0.0
    for count in (100, n):
        other = threading.Thread(target=loop, args=(count,))
        other.start()
        t = time.perf_counter()
        loop(count)
        other.join()
        result = (time.perf_counter() - t) / count * 1e6
    return result


def plan_forward_ms(rounds, size=227):
    """squeezenet's batch-1 forward on 2 threads with the plan's barrier of each kind, alternated call by call;
    ``{kind: median ms}``."""
    C.set_threads(2)
    model = C.build("squeezenet", size)
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    model.forward(x, training=False)
    plan = model._plan
    plan.choice.parallel = lambda: True
    barriers = {k: make(k, plan.T) for k in KINDS}
    times = {k: [] for k in KINDS}
    for r in range(rounds + 3):
        for k in KINDS:
            plan.team.barrier = barriers[k]
            t = time.perf_counter()
            model.forward(x, training=False)
            if r >= 3:
                times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    a = ap.parse_args(argv)
    print(f"load {C.load_average()}")
    for k in KINDS:
        print(f"{k:8s} empty crossing of 2 threads: {crossing_us(k):7.1f} us")
    ms = plan_forward_ms(a.rounds)
    print("squeezenet batch-1 forward, 2 threads, median of", a.rounds, "alternated calls: "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in ms.items()))
    print(f"load at the end {C.load_average()}")


if __name__ == "__main__":
    main()
