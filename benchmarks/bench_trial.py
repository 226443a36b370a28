"""Benchmark one trial of the Bayesian search at the paper's size, and project the full protocol.

Usage::

    python benchmarks/bench_trial.py                      # all four networks, batch 32, 2 timed steps
    python benchmarks/bench_trial.py --threads 1          # one trial per core, as with tune --jobs N
    python benchmarks/bench_trial.py --networks proposed --steps 3 --workers 4 8 16

A paper-size trial is 20 epochs over 1528 training images (Table 1: 382 x4 augmentation) at 227x227 with batch
32, validated every epoch on 118 images (60 COVID + 58 NonCOVID). We time a few training steps (forward,
loss, backward, sgdm update) and a few validation batches after a warm-up step, then extrapolate:

    trial    = epochs * (ceil(1528 / 32) * step + ceil(118 / 32) * val_batch)        PROJECTION, not a run
    protocol = 30 trials x 4 networks;  on N workers: 4 * ceil(30 / N) rounds of one trial each

(the search asks N points at a time, so N workers run the 30 trials of an experiment in ceil(30/N) rounds;
each worker is assumed as fast as this machine with ``--threads`` threads). The transfer network has the
architecture of network 2; it is timed from its random initialisation (the weights do not change the cost).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

from squeezenp import models as M  # noqa: E402
from squeezenp.layers import SoftmaxCrossEntropy  # noqa: E402
from squeezenp.search import limit_threads  # noqa: E402
from squeezenp.train import SGDM  # noqa: E402
from squeezenp.train.trainer import format_seconds  # noqa: E402

TRAIN_IMAGES, VAL_IMAGES, EPOCHS, CALLS = 1528, 118, 20, 30


def time_network(name, size, batch, steps, rng):
    model = M.build(name, num_classes=2, input_size=size, seed=0)
    loss_fn, opt = SoftmaxCrossEntropy(), SGDM(0.007132, 0.87589, 9.532e-07)
    x = rng.standard_normal((batch, 3, size, size)).astype(np.float32)
    y = rng.integers(0, 2, batch)

    def step():
        loss_fn.forward(model.forward(x, training=True), y)
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step(model)

    def val():
        model.forward(x, training=False)
    step(), val()                                          # warm-up: Numba loads or compiles its kernels
    t_step = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        t_step.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    val()
    t_val = time.perf_counter() - t0
    return float(np.median(t_step)), t_val


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--networks", nargs="+", default=M.available(), choices=M.available())
    p.add_argument("--size", type=int, default=227)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=2, help="timed training steps per network (median)")
    p.add_argument("--threads", type=int, help="limit this process to THREADS threads (default: all)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8, 30])
    a = p.parse_args(argv)
    if a.threads:
        limit_threads(a.threads)
    import numba
    print(f"trial benchmark: {a.size}x{a.size}, batch {a.batch}, {a.steps} timed steps, "
          f"{numba.get_num_threads()} Numba thread(s), {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    nb_train, nb_val = math.ceil(TRAIN_IMAGES / a.batch), math.ceil(VAL_IMAGES / a.batch)
    rng, trial = np.random.default_rng(0), {}
    print(f"\n| network | train step (s, measured) | val batch (s, measured) | epoch (projected) "
          f"| {EPOCHS}-epoch trial (projected) |\n|---|---|---|---|---|")
    for name in a.networks:
        t_step, t_val = time_network(name, a.size, a.batch, a.steps, rng)
        epoch = nb_train * t_step + nb_val * t_val
        trial[name] = EPOCHS * epoch
        print(f"| {name} | {t_step:.2f} | {t_val:.2f} | {format_seconds(epoch)} | {format_seconds(trial[name])} |",
              flush=True)
    one = sum(trial.values())
    print(f"\nprojected full protocol ({CALLS} trials x {len(trial)} networks), same speed per worker:")
    print("| workers | wall time (projected) |\n|---|---|")
    for n in a.workers:
        print(f"| {n} | {format_seconds(math.ceil(CALLS / n) * one)} |")


if __name__ == "__main__":
    main()
