"""Batch inference split over the threads (``squeezenp/ops/split_batch.py``: each thread runs its share of the
images from conv1 to the classifier) against the layer-by-layer way (every layer splits its images over the
threads; ``model.split_batches = False``), for the four networks at batch 32.

Both run in one process, alternated round by round (each round the median of ``--calls`` calls of each), so a
loaded machine slows both alike; the figures are the medians and the best of the rounds, and the ratio of the
medians.

Usage::

    python benchmarks/bench_split.py                        # the four networks, batch 32, 227 px, 2 threads
    python benchmarks/bench_split.py --networks squeezenet --rounds 30
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()



def compare(name, batch, size, threads, rounds, calls):
    """``{"split", "layers"}``: images/s, median and best of the rounds; ``ratio``: split / layers (medians)."""
    import numpy as np
    C.set_threads(threads)
    model = C.build(name, size)
    x = np.random.default_rng(0).standard_normal((batch, model.in_channels, size, size)).astype(np.float32)

    def rate(split):
        model.split_batches = split
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            model.forward(x, training=False)
            times.append(time.perf_counter() - t)
        return batch / float(np.median(times))
    for split in (True, False, True, False):          # warm-up: kernels, workspaces of both ways
        rate(split)
    runs = {True: [], False: []}
    for _ in range(rounds):
        for split in (True, False):
            runs[split].append(rate(split))
    out = {("split" if s else "layers"): {"median": float(np.median(v)), "best": float(max(v))}
           for s, v in runs.items()}
    out["ratio"] = out["split"]["median"] / out["layers"]["median"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=None)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=3)
    a = ap.parse_args(argv)
    print(f"batch-{a.batch} inference, {a.size}x{a.size}, {a.threads} threads: split batch vs layer by layer, "
          f"alternated, {a.rounds} rounds of {a.calls} calls; load {C.load_average()}")
    for name in a.networks or C.networks_all():
        r = compare(name, a.batch, a.size, a.threads, a.rounds, a.calls)
        print(f"{name:28s} split {r['split']['median']:6.1f} img/s (best {r['split']['best']:6.1f}), layer by layer "
              f"{r['layers']['median']:6.1f} (best {r['layers']['best']:6.1f}): {r['ratio']:.2f}x")
    print(f"load at the end {C.load_average()}")


if __name__ == "__main__":
    main()
