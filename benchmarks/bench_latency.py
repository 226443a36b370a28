"""Batch-1 forward: the trunk's plan (what a one-image evaluation forward runs, ``squeezenp/models/plan.py``)
against the layer-by-layer fused path it replaced (``model.batch1_plan = False``), and where the plan's time goes.

Both run in the same process, alternated call block by call block (``--rounds`` rounds of a median of 5 calls
each), so a loaded machine slows both alike; the figures are the medians over the rounds and the ratio of them.
``--stages`` prints the plan's time per stage and thread (the compute of each thread between two barriers), with
the threads and with both threads' shares run one after the other in the caller: in the second way the second
share finds in the cache what the first brought there; with the threads, each thread reads the channels the other
wrote from the other core's cache or memory.

Usage::

    python benchmarks/bench_latency.py                                  # all networks, 1 and 2 threads
    python benchmarks/bench_latency.py --networks squeezenet --threads 2 --stages
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()


def _median_call(fn, calls=5):
    import numpy as np
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def compare(name, size, threads, rounds):
    """``{"plan_s", "layers_s", "ratio"}``: medians over the rounds, ratio = layers / plan."""
    import numpy as np
    C.set_threads(threads)
    model = C.build(name, size)
    x = np.random.default_rng(0).standard_normal((1, model.in_channels, size, size)).astype(np.float32)

    def forward(plan):
        model.batch1_plan = plan
        return _median_call(lambda: model.forward(x, training=False))
    for plan in (True, False, True, False):         # warm-up: Numba kernels, the plan, the workspaces
        forward(plan)
    plan_s, layers_s = [], []
    for _ in range(rounds):
        plan_s.append(forward(True))
        layers_s.append(forward(False))
    p, q = float(np.median(plan_s)), float(np.median(layers_s))
    return {"plan_s": p, "layers_s": q, "ratio": q / p}


def stages(name, size, threads, calls=100):
    """The plan's stages: median seconds of each thread's part, per stage (barrier waits excluded), with the
    threads (``parallel``) and with both shares run one after the other in the caller (``serial``, what the plan
    does when that was faster lately); ``trunk_s``: the median trunk with the threads."""
    import numpy as np
    C.set_threads(threads)
    model = C.build(name, size)
    x = np.random.default_rng(0).standard_normal((1, model.in_channels, size, size)).astype(np.float32)
    model.forward(x, training=False)
    plan = model._plan
    names = [stage.name for stage in plan.stages]
    ways = ("parallel", "serial") if plan.T > 1 else ("parallel",)
    times = {(w, n, t): [] for w in ways for n in names for t in range(plan.T)}
    way = ["parallel"]

    def timed(stage, n):
        def f(t):
            start = time.perf_counter()
            stage(t)
            times[(way[0], n, t)].append(time.perf_counter() - start)
        return f
    plan.stages[:] = [timed(s, n) for s, n in zip(list(plan.stages), names)]
    trunk = []
    for _ in range(calls):
        for w in ways:                       # the two ways alternated call by call
            way[0] = w
            plan.choice.parallel = lambda w=w: w == "parallel"
            t = _median_call(lambda: model.trunk_forward(x, False), 1)
            if w == "parallel":
                trunk.append(t)
    rows = [(n, {w: [float(np.median(times[(w, n, t)])) for t in range(plan.T)] for w in ways}) for n in names]
    return {"stages": rows, "trunk_s": float(np.median(trunk))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=None)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--stages", action="store_true", help="also the plan's time per stage and thread")
    a = ap.parse_args(argv)
    print(f"batch-1 forward, {a.size}x{a.size}: plan vs layer path, alternated, medians of {a.rounds} rounds; "
          f"load {C.load_average()}")
    for name in a.networks or C.networks_all():
        for n in a.threads:
            r = compare(name, a.size, n, a.rounds)
            print(f"{name:28s} threads {n}: plan {r['plan_s'] * 1e3:6.2f} ms, layer path {r['layers_s'] * 1e3:6.2f} ms,"
                  f" {r['ratio']:.2f}x")
            if a.stages:
                s = stages(name, a.size, n)
                ways = list(s["stages"][0][1])
                print(f"    {'stage':28s} " + " | ".join(f"{w}: ms per thread's share" for w in ways))
                for stage, per_way in s["stages"]:
                    print(f"    {stage:28s} " + " | ".join("  ".join(f"{v * 1e3:6.3f}" for v in per_way[w])
                                                          for w in ways))
                for w in ways:
                    total = [sum(per_way[w][t] for _, per_way in s["stages"]) for t in range(n)]
                    print(f"    {'sum, ' + w:28s} " + "  ".join(f"{v * 1e3:6.3f}" for v in total) + " ms")
                print(f"    trunk with the threads       {s['trunk_s'] * 1e3:6.3f} ms (barriers included)")
    print(f"load at the end {C.load_average()}")


if __name__ == "__main__":
    main()
