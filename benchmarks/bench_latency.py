"""Batch-1 forward: the trunk's plan (what a one-image evaluation forward runs, ``squeezenp/models/plan.py``)
against the layer-by-layer fused path it replaced (``model.batch1_plan = False``), and where the plan's time goes.

Both run in the same process, alternated call block by call block (``--rounds`` rounds of a median of 5 calls
each), so a loaded machine slows both alike; the figures are the medians over the rounds and the ratio of them.
Each block starts after the other way's, with what it needs out of the caches; "warm" is the median of 50 plan
calls back to back after the rounds. ``--stages`` prints the plan's time per stage and thread (the compute of each
thread between two barriers), with the threads and with both threads' shares run one after the other in the
caller. ``--gemm-shapes`` times, on a one-thread BLAS, fire2's GEMMs at batch 1 as a split of the map's rows over
two threads gives them (every output channel, half the columns) against a split of the output channels.
``--against CHECKOUT`` compares this tree's batch-1 trunk plan and the proposed CNN's batch-1 head with those of
another checkout of the repository (its ``squeezenp/models/plan.py`` and ``squeezenp/ops/head.py``, loaded into
this package, so they run on this tree's kernels), called alternately, call by call: the trunks with the threads
and serially, the heads on ``--threads``.

Usage::

    python benchmarks/bench_latency.py                                  # all networks, 1 and 2 threads
    python benchmarks/bench_latency.py --networks squeezenet --threads 2 --stages
    python benchmarks/bench_latency.py --gemm-shapes
    python benchmarks/bench_latency.py --networks squeezenet proposed --threads 2 --against ../other-checkout
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()


def compare(name, size, threads, rounds):
    """``{"plan_s", "layers_s", "ratio"}``: medians over the rounds, ratio = layers / plan."""
    import numpy as np
    C.set_threads(threads)
    model = C.build(name, size)
    x = np.random.default_rng(0).standard_normal((1, model.in_channels, size, size)).astype(np.float32)

    def forward(plan):
        model.batch1_plan = plan
        return C.median_of(lambda: model.forward(x, training=False), 5)
    for plan in (True, False, True, False):         # warm-up: Numba kernels, the plan, the workspaces
        forward(plan)
    plan_s, layers_s = [], []
    for _ in range(rounds):
        plan_s.append(forward(True))
        layers_s.append(forward(False))
    p, q = float(np.median(plan_s)), float(np.median(layers_s))
    model.batch1_plan = True
    warm = C.median_of(lambda: model.forward(x, training=False), 50)
    return {"plan_s": p, "layers_s": q, "ratio": q / p, "warm_s": warm}


def _load_other(checkout, relative, name):
    """``checkout/relative`` loaded as the module ``name`` of this package (its relative imports are this tree's)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, Path(checkout) / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _alternated(fns, calls):
    """Median seconds of each callable over ``calls`` calls, the callables alternated call by call."""
    import numpy as np
    times = [[] for _ in fns]
    for _ in range(calls):
        for fn, t in zip(fns, times):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return tuple(float(np.median(t)) for t in times)


def against(name, size, threads, checkout, calls=150):
    """``{way: (this tree's trunk, the other plan's trunk)}``: median seconds over ``calls`` calls of each, the
    two plans alternated call by call, with the threads ("parallel") and serially."""
    import numpy as np

    from squeezenp.models.plan import TrunkPlan
    other = _load_other(checkout, "squeezenp/models/plan.py", "squeezenp.models._plan_against")
    C.set_threads(threads)
    model = C.build(name, size)
    x = np.random.default_rng(0).standard_normal((1, model.in_channels, size, size)).astype(np.float32)
    model.forward(x, training=False)
    plans = (TrunkPlan(model, x), other.TrunkPlan(model, x))
    if not np.allclose(plans[0](x)[0], plans[1](x)[0], rtol=1e-4, atol=1e-4):
        raise SystemExit(f"--against: the two plans disagree on {name}")
    result = {}
    for way in ("parallel", "serial"):
        for plan in plans:
            plan.choice.parallel = lambda way=way: way == "parallel"
        result[way] = _alternated([lambda plan=plan: plan(x) for plan in plans], calls)
    return result


def head_against(size, threads, checkout, calls=150):
    """(this tree's, the other's) median seconds of the proposed CNN's evaluation head at batch 1
    (``ops.proposed_head_inference``, fire9's and fire3's outputs random), alternated call by call."""
    import numpy as np

    from squeezenp import ops
    from squeezenp.layers import weight_and_bias
    other = _load_other(checkout, "squeezenp/ops/head.py", "squeezenp.ops._head_against")
    C.set_threads(threads)
    model = C.build("proposed", size)
    x = np.random.default_rng(0).standard_normal((1, model.in_channels, size, size)).astype(np.float32)
    x9, skip = model.trunk_forward(x, False)
    x9, skip = x9.copy(), skip.copy()
    args = [weight_and_bias(layer, np.float32) for layer in (model.upconv, model.conv_fuse, model.conv10)]
    heads = [ops.proposed_head_inference, other.proposed_head_inference]
    outs = [head(x9, skip, *args, workspace={}) for head in heads]
    if not np.allclose(outs[0][2], outs[1][2], rtol=1e-4, atol=1e-4):
        raise SystemExit("--against: the two heads disagree")
    workspaces = ({}, {})
    return _alternated([lambda h=h, ws=ws: h(x9, skip, *args, workspace=ws) for h, ws in zip(heads, workspaces)],
                       calls)


def gemm_shapes(calls=300):
    """fire2's squeeze (16 x 64) and expand3x3 (64 x 144, im2col) GEMMs over its 56 x 56 map at batch 1, as one of
    two threads computes them: half the map's columns with every output channel, or every column for half the
    output channels. Median ms per GEMM on a one-thread BLAS, the two alternated."""
    import numpy as np
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    P = 56 * 56
    cases = {"squeeze": ((16, 64, P // 2), (8, 64, P)), "expand3x3": ((64, 144, P // 2), (32, 144, P))}
    rows = []
    with threadpool_limits(1):
        for name, shapes in cases.items():
            ops = [(rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32),
                    np.empty((m, n), np.float32)) for m, k, n in shapes]
            medians = _alternated([lambda a=a, b=b, c=c: np.matmul(a, b, out=c) for a, b, c in ops], calls)
            rows.append((name, shapes, list(medians)))
    return rows


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
            t = C.median_of(lambda: model.trunk_forward(x, False), 1)
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
    ap.add_argument("--gemm-shapes", action="store_true", help="only fire2's GEMMs split by rows vs by channels")
    ap.add_argument("--against", metavar="CHECKOUT", help="only: the trunk and the proposed CNN's head vs another "
                                                          "checkout's, alternated")
    a = ap.parse_args(argv)
    if a.against:
        print(f"batch 1, {a.size}x{a.size}: this tree vs {a.against}, alternated call by call; "
              f"load {C.load_average()}")
        for name in a.networks or C.networks_all():
            for n in a.threads:
                for way, (mine, theirs) in against(name, a.size, n, a.against).items():
                    if n > 1 or way == "parallel":
                        print(f"{name:28s} trunk, threads {n} {way:8s}: this {mine * 1e3:6.2f} ms, other "
                              f"{theirs * 1e3:6.2f} ms ({theirs / mine:.2f}x)")
        for n in a.threads:
            mine, theirs = head_against(a.size, n, a.against)
            print(f"{'proposed':28s} head, threads {n}          : this {mine * 1e3:6.2f} ms, other "
                  f"{theirs * 1e3:6.2f} ms ({theirs / mine:.2f}x)")
        print(f"load at the end {C.load_average()}")
        return
    if a.gemm_shapes:
        print(f"fire2's GEMMs at batch 1, one of two threads' part, one-thread BLAS; load {C.load_average()}")
        for name, shapes, (rows_s, channels_s) in gemm_shapes():
            (m, k, n), (m2, k2, n2) = shapes
            print(f"{name:10s} half the rows {m}x{k}x{n}: {rows_s * 1e3:.3f} ms   half the channels {m2}x{k2}x{n2}: "
                  f"{channels_s * 1e3:.3f} ms   ({channels_s / rows_s:.2f}x)")
        return
    print(f"batch-1 forward, {a.size}x{a.size}: plan vs layer path, alternated, medians of {a.rounds} rounds; "
          f"load {C.load_average()}")
    for name in a.networks or C.networks_all():
        for n in a.threads:
            r = compare(name, a.size, n, a.rounds)
            print(f"{name:28s} threads {n}: plan {r['plan_s'] * 1e3:6.2f} ms, layer path {r['layers_s'] * 1e3:6.2f} ms,"
                  f" {r['ratio']:.2f}x; plan warm {r['warm_s'] * 1e3:6.2f} ms")
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
