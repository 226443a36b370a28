"""Inference and training throughput of the four networks (images/s), 227x227, batch 32, float32.

- inference: ``model.forward(x, training=False)`` on a batch (evaluation mode: no caches kept);
- training: one full step, ``forward(training=True)`` -> softmax cross-entropy -> ``backward`` ->
  ``SGDM(lr, momentum=0.9, l2=1e-4).step(model)``, as the trainer runs it.

Warm-up first (Numba compiles or loads its cache), then best of ``--repeats`` (best-of: on a shared machine
other processes only add time). Threads: all cores unless ``--threads``.

Usage::

    python benchmarks/bench_throughput.py                 # all networks, batch 32
    python benchmarks/bench_throughput.py --quick         # batch 8, one repeat
    python benchmarks/bench_throughput.py --networks proposed --threads 1 --json
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

import numpy as np  # noqa: E402


def make_batch(batch, size, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 3, size, size), dtype=np.float32), rng.integers(0, 2, batch)


def train_step(model, loss, opt, x, y):
    loss.forward(model.forward(x, training=True), y)
    model.backward(loss.backward(), input_grad=False)
    opt.step(model)


def measure(name, batch=32, size=227, repeats=3):
    from squeezenp.layers import SoftmaxCrossEntropy
    from squeezenp.train import SGDM
    model, loss, opt = C.build(name, size), SoftmaxCrossEntropy(), SGDM(1e-4, 0.9, 1e-4)
    x, y = make_batch(batch, size)
    model.forward(x[:2], training=False)                 # warm-up: compile / load kernels, allocate workspaces
    train_step(model, loss, opt, x, y)
    model.forward(x, training=False)
    t_inf = C.best_of(lambda: model.forward(x, training=False), repeats)
    t_train = C.best_of(lambda: train_step(model, loss, opt, x, y), repeats)
    return {"params": model.num_parameters(), "batch": batch, "infer_s_per_batch": t_inf,
            "train_s_per_step": t_train, "infer_ips": batch / t_inf, "train_ips": batch / t_train}


def run(networks, batch, size, repeats, threads):
    C.set_threads(threads)
    res = {"load_start": C.load_average(), "batch": batch, "size": size, "repeats": repeats, "networks": {}}
    for name in networks:
        res["networks"][name] = measure(name, batch, size, repeats)
    res["threads"] = C.thread_info()
    res["load_end"] = C.load_average()
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batch 8 and one repeat")
    ap.add_argument("--networks", nargs="+", default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="Numba and BLAS threads (default: all cores)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    a = ap.parse_args(argv)
    res = run(a.networks or C.networks_all(), a.batch or (8 if a.quick else 32), a.size,
              a.repeats or (1 if a.quick else 3), a.threads or C.cores())
    if a.json:
        return C.emit(res, True)
    print(f"throughput, {a.size}x{a.size}, batch {res['batch']}, best of {res['repeats']}, "
          f"threads {res['threads']['numba_threads']}, load {res['load_start']} -> {res['load_end']}")
    print(f"{'network':28s}{'params':>11s}{'infer img/s':>13s}{'train img/s':>13s}")
    for name, r in res["networks"].items():
        print(f"{name:28s}{r['params']:>11,d}{r['infer_ips']:>13.1f}{r['train_ips']:>13.1f}")


if __name__ == "__main__":
    main()
