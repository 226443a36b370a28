"""How fast a batch-1 forward built on BLAS GEMMs could be at best, against onnxruntime's whole forward.

The batch-1 plan (``squeezenp/models/plan.py``) runs every convolution as GEMMs (1x1s directly, 3x3s after im2col
or Winograd's transforms) plus Numba kernels for the rest. This script records every GEMM one batch-1 trunk
forward makes (the operands, as the plan passes them: ``np.matmul`` watched for one serial call) and times those
GEMMs alone on a one-thread BLAS: no im2col, no transforms, no epilogues, no pools, no barriers, no head. Two
figures: back to back, as a forward calls them (each GEMM once: its operands come from L3 or memory), and each
GEMM alone, repeated, its median (operands hot in the caches: the most favourable case), summed. Either is a
lower bound on what a forward made of these GEMMs takes on one thread (half of it on two threads, if the split
were perfect); the operands are replayed as contiguous copies (the plan's are often strided column bands, which
are no faster). Recorded three ways: with the 3x3 algorithms the plan chooses (``conv3x3_table.json``), all
im2col, all Winograd (``SQUEEZENP_CONV3X3``).

Beside it, in fresh processes alternated over ``--rounds`` rounds (best of the rounds' medians, as
``bench_reference.py``): squeezenp's whole batch-1 forward and onnxruntime's (squeezenp's ONNX export), both on
``--threads``. ``--numba-gemm`` also times a plain Numba GEMM (the loop order that vectorises) against NumPy's on
three of the plan's shapes, the other way to write the convolutions.

Usage::

    python benchmarks/bench_batch1_bound.py                          # squeezenet, 1 and 2 threads
    python benchmarks/bench_batch1_bound.py --networks squeezenet --threads 2 --rounds 1
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

ALGORITHMS = ("as chosen", "im2col", "winograd")


def recorded_gemms(model, x):
    """The operands of every GEMM of one serial batch-1 trunk forward: ``[(a, b, out), ...]`` (contiguous copies;
    ``out`` uninitialised)."""
    import numpy as np
    model.forward(x, training=False)                  # builds the plan
    plan = model._plan
    plan.choice.parallel = lambda: False
    calls, matmul = [], np.matmul

    def watch(a, b, out=None, **kw):
        calls.append((np.array(a), np.array(b), np.empty_like(out) if out is not None else None))
        return matmul(a, b, out=out, **kw)
    np.matmul = watch
    try:
        model.trunk_forward(x, False)
    finally:
        np.matmul = matmul
        del plan.choice.parallel               # the plan chooses again, as in any forward
    return calls


def child_bound(name, size, threads, calls):
    """In this process: the GEMM-only time of ``name``'s batch-1 trunk for each 3x3 algorithm setting, and
    squeezenp's whole batch-1 forward."""
    import os

    import numpy as np

    import bench_reference as R
    from squeezenp.ops.gemm import single_thread_blas
    C.set_threads(threads)
    x, _ = R.inputs(1, size)
    out = {}
    for algorithm in ALGORITHMS:
        if algorithm == "as chosen":
            os.environ.pop("SQUEEZENP_CONV3X3", None)
        else:
            os.environ["SQUEEZENP_CONV3X3"] = algorithm
        model = R.reference_model(name, size)
        gemms = recorded_gemms(model, x)
        flops = sum(2 * a.shape[-2] * a.shape[-1] * b.shape[-1] * (a.shape[0] if a.ndim == 3 else 1)
                    for a, b, _ in gemms)

        def run_all():
            for a, b, o in gemms:
                np.matmul(a, b, out=o)
        with single_thread_blas():
            for _ in range(10):
                run_all()
            t = C.median_of(run_all, calls * 10)
            hot = 0.0
            for a, b, o in gemms:                  # each alone, repeated: its operands hot in the caches
                for _ in range(5):
                    np.matmul(a, b, out=o)
                hot += C.median_of(lambda: np.matmul(a, b, out=o), calls * 10)
        out[algorithm] = {"gemm_s": t, "hot_s": hot, "calls": len(gemms), "gflop": flops / 1e9}
        out["blas"] = C.thread_info()["pools"]
        if algorithm == "as chosen":
            for _ in range(10):
                model.forward(x, training=False)
            out["forward_s"] = C.median_of(lambda: model.forward(x, training=False), calls * 10)
    os.environ.pop("SQUEEZENP_CONV3X3", None)
    return out


def numba_gemm(calls=50):
    """A plain Numba GEMM (rows of C updated by rows of B: the inner loop vectorises) against NumPy's BLAS, one
    thread, on three of the plan's batch-1 shapes: GFLOP/s of each."""
    import numpy as np
    from numba import njit

    from squeezenp.ops.gemm import single_thread_blas

    @njit(fastmath=True, nogil=True)
    def gemm(a, b, c):
        M, K = a.shape
        N = b.shape[1]
        for i in range(M):
            c[i, :] = 0.0
            for k in range(K):
                aik = a[i, k]
                for j in range(N):
                    c[i, j] += aik * b[k, j]
    rows = []
    rng = np.random.default_rng(0)
    for m, k, n in [(64, 144, 1568), (128, 288, 392), (256, 576, 91)]:      # fire2, fire4, fire8 expand3x3 parts
        a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
        c = np.empty((m, n), np.float32)
        rates = {}
        with single_thread_blas():
            for label, fn in (("numpy", lambda: np.matmul(a, b, out=c)), ("numba", lambda: gemm(a, b, c))):
                for _ in range(5):
                    fn()
                rates[label] = 2 * m * k * n / C.median_of(fn, calls) / 1e9
                if not np.allclose(c, a @ b, rtol=1e-3):
                    raise AssertionError(f"{label} GEMM disagrees on {m}x{k}x{n}")
        rows.append(((m, k, n), rates))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=["squeezenet"],
                    help="the bound covers the trunk only: of the proposed CNN, not its head (upconv, fuse, conv10)")
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=5)
    ap.add_argument("--numba-gemm", action="store_true", help="also a plain Numba GEMM against NumPy's")
    ap.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.child:
        name, size, threads = a.child
        return C.emit(child_bound(name, int(size), int(threads), a.calls), True)
    print(f"batch 1, {a.size}x{a.size}: the trunk plan's GEMMs alone (one-thread BLAS) against the whole forward of "
          f"squeezenp and onnxruntime; best of {a.rounds} rounds; load {C.load_average()}")
    m = C.machine_info()
    print(f"CPU {m['cpu']}, {m['cores']} cores, {' '.join(m['simd'])}; OPENBLAS_CORETYPE="
          f"{m['env']['OPENBLAS_CORETYPE']}, NUMBA_CPU_NAME={m['env']['NUMBA_CPU_NAME']}")
    for name in a.networks:
        for n in a.threads:
            ours, theirs = [], []
            for _ in range(a.rounds):               # each in a fresh process, alternated
                ours.append(C.run_json("bench_batch1_bound.py", ["--calls", a.calls, "--child", name, a.size, n]))
                theirs.append(C.run_json("bench_reference.py", ["--threads", n, "--child", "onnxruntime", name, 1,
                                                                a.size, a.calls]))
            ok = [r for r in ours if "error" not in r]
            ort = [r["latency_b1_s"] for r in theirs if "error" not in r]
            if not ok:
                print(f"{name:12s} threads {n}: squeezenp failed: {ours[-1]['error']}")
                continue
            ort_s = min(ort) if ort else float("nan")
            fwd = min(r["forward_s"] for r in ok)
            if n == a.threads[0] and name == a.networks[0]:
                print(f"BLAS of the squeezenp process: {'; '.join(ok[0]['blas'])}")
            print(f"{name:12s} threads {n}: onnxruntime forward {ort_s * 1e3:6.2f} ms, squeezenp forward "
                  f"{fwd * 1e3:6.2f} ms ({ort_s / fwd:.2f}x)" + ("" if ort else f"  [onnxruntime: {theirs[-1]}]"))
            for algorithm in ALGORITHMS:
                g = min(r[algorithm]["gemm_s"] for r in ok)
                hot = min(r[algorithm]["hot_s"] for r in ok)
                r0 = ok[0][algorithm]
                print(f"    GEMMs alone, 3x3 {algorithm:9s}: {r0['calls']:2d} calls, {r0['gflop']:.3f} GFLOP; on one "
                      f"thread back to back {g * 1e3:5.2f} ms ({r0['gflop'] / g:5.1f} GFLOP/s), each hot "
                      f"{hot * 1e3:5.2f} ms ({r0['gflop'] / hot:5.1f} GFLOP/s); over {n} thread(s) at best "
                      f"{g / n * 1e3:5.2f} / {hot / n * 1e3:5.2f} ms = {g / n / ort_s:.2f} / {hot / n / ort_s:.2f}x "
                      f"onnxruntime's whole forward")
    if a.numba_gemm:
        print("plain Numba GEMM against NumPy's BLAS, one thread, GFLOP/s:")
        for (m, k, n), rates in numba_gemm():
            print(f"    {m}x{k}x{n}: numpy {rates['numpy']:5.1f}, numba {rates['numba']:5.1f}")
    print(f"load at the end {C.load_average()}")


if __name__ == "__main__":
    main()
