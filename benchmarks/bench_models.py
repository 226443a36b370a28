"""Benchmark the four networks: time per image (forward; forward + backward) and peak memory of a training step.

Usage::

    python benchmarks/bench_models.py            # 227x227, batch 1 and 32, float32, 3 timed repeats
    python benchmarks/bench_models.py --quick    # batches 1 and 8, 1 timed repeat, memory at batch 8
    python benchmarks/bench_models.py --networks proposed --batches 1 8 --size 227

Timings run in this process after a warm-up pass (Numba compiles and caches its kernels on first use), taking
the best of the repeats. "forward" is an evaluation-mode pass (inference); "fwd+bwd" a training-mode forward
(dropout on, batch norm on batch statistics), the softmax cross-entropy and the full backward pass. Memory is
measured in a fresh subprocess per network (so one network's peak does not hide another's): ``tracemalloc`` peak
of NumPy/Python allocations during one batch training step, above what the model and the input already hold,
plus the process's peak resident set size (``ru_maxrss``, including the interpreter, Numba and the weights).
The transfer network has the architecture of ``squeezenet_bypass``; it is benchmarked from its random
initialisation (weights do not change the cost), so no weights file is needed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

# before NumPy/Numba load their thread pools (as squeezenp/__init__ does): idle OpenMP threads sleep instead of
# spinning, so Numba's parallel kernels and the BLAS GEMMs stop stealing each other's two cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

import squeezenp.models as M  # noqa: E402
from squeezenp.layers import SoftmaxCrossEntropy  # noqa: E402


def build(name, size):
    if name == "squeezenet_bypass_transfer":          # same architecture and cost as squeezenet_bypass
        return M.build(name, num_classes=2, input_size=size)
    return M.create(name, num_classes=2, input_size=size)


def train_step(model, loss, x, y):
    logits = model.forward(x, training=True)
    loss.forward(logits, y)
    model.backward(loss.backward(), input_grad=False)


def best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def time_network(name, size, batches, repeats):
    model, loss = build(name, size), SoftmaxCrossEntropy()
    rng = np.random.default_rng(0)
    out = {}
    for n in batches:
        x = rng.standard_normal((n, 3, size, size)).astype(np.float32)
        y = rng.integers(0, 2, n)
        model.forward(x[:1], training=False)                                # warm-up (JIT, caches)
        train_step(model, loss, x[:min(n, 2)], y[:min(n, 2)])
        fwd = best_time(lambda: model.forward(x, training=False), repeats)
        step = best_time(lambda: train_step(model, loss, x, y), repeats)
        out[n] = (fwd / n, step / n)
    return out


def memory_child(name, size, batch):
    """Run in a subprocess: one warm-up step at batch 2, then the measured step; print JSON."""
    model, loss = build(name, size), SoftmaxCrossEntropy()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, size, size)).astype(np.float32)
    y = rng.integers(0, 2, batch)
    train_step(model, loss, x[:2], y[:2])     # warm-up: Numba kernels loaded before tracing
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    train_step(model, loss, x, y)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    print(json.dumps({"tracemalloc_peak": peak, "maxrss": rss}))


def measure_memory(name, size, batch):
    cmd = [sys.executable, __file__, "--_memory-child", name, "--size", str(size), "--batches", str(batch)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    if res.returncode != 0:
        return None, res.stderr.strip().splitlines()[-1:] or ["failed"]
    return json.loads(res.stdout.strip().splitlines()[-1]), None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="batches 1 and 8 (unless --batches is given) and one timed repeat instead of three")
    ap.add_argument("--networks", nargs="+", default=M.available(), choices=M.available())
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--batches", type=int, nargs="+", default=None, help="default: 1 32 (quick: 1 8)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--_memory-child", dest="memory_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.batches is None:
        args.batches = [1, 8] if args.quick else [1, 32]
    if args.memory_child:
        memory_child(args.memory_child, args.size, args.batches[-1])
        return
    repeats = args.repeats or (1 if args.quick else 3)
    import numba
    print(f"squeezenp models, {args.size}x{args.size}x3 float32, batches {args.batches}, best of {repeats}; "
          f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} threads), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (above the CPU count: timings unreliable)")
    mem_batch = max(args.batches)
    head = f"{'network':28s} {'params':>10s} {'GFLOPs/img':>10s}"
    for n in args.batches:
        head += f" {f'fwd b{n} ms/img':>15s} {f'fwd+bwd b{n} ms/img':>19s}"
    if not args.no_memory:
        head += f" {f'step b{mem_batch} peak MiB':>19s} {'maxrss MiB':>11s}"
    print(head)
    print("-" * len(head))
    for name in args.networks:
        model = build(name, args.size)
        flops = sum(r[4] for r in M.summary.trace(model, (1, 3, args.size, args.size)))
        row = f"{name:28s} {model.num_parameters():>10,d} {flops / 1e9:>10.3f}"
        times = time_network(name, args.size, args.batches, repeats)
        for n in args.batches:
            f, s = times[n]
            row += f" {f * 1e3:>15.1f} {s * 1e3:>19.1f}"
        if not args.no_memory:
            mem, err = measure_memory(name, args.size, mem_batch)
            row += (f" {mem['tracemalloc_peak'] / 2**20:>19.0f} {mem['maxrss'] / 2**20:>11.0f}" if mem
                    else f"  memory failed: {err[0]}")
        print(row, flush=True)
    print("fwd: eval-mode forward; fwd+bwd: training forward + softmax CE + backward; peak: tracemalloc peak of one "
          "training step above the model and input; maxrss: whole subprocess.")


if __name__ == "__main__":
    main()
