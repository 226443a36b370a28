"""Winograd F(2x2, 3x3) against im2col + GEMM for every expand3x3 shape of the networks, at 227 and 128 px.

For each shape (the Fire modules' squeeze -> expand3x3 channels at the map sizes of a 227x227 and a 128x128
input), batch 1 and batch 32, evaluation forward ("inference") and forward + backward ("training"), im2col
through ``ops.conv2d.conv2d_forward/backward`` and Winograd through ``ops.winograd``, timed in alternating blocks
(best of ``--repeats`` blocks, each the mean of several back-to-back calls after a warm-up). Batch-1 inference is
timed where it runs, inside the trunk's batch-1 plan (:func:`measure_in_plan`: the whole trunk, the Fire modules
of that shape on each algorithm). Also the float32 max abs error of each against a float64 reference.

``--write-table`` stores, per shape and batch class, both modes' timings and the faster algorithm (by the sum
of both modes; at batch 1 by inference alone) in ``squeezenp/ops/conv3x3_table.json``, which ``squeezenp/ops/conv_algorithm.py``
reads. Measure on a quiet machine before writing it.

Usage::

    python benchmarks/bench_winograd.py                 # print the table
    python benchmarks/bench_winograd.py --quick         # batch 8 instead of 32, fewer repeats
    python benchmarks/bench_winograd.py --write-table   # and store the winners
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

import numpy as np  # noqa: E402

ALGOS = ("im2col", "winograd")


def expand3x3_shapes(sizes=(227, 128)):
    """(input size, fire names, C_in = squeeze, C_out = expand3x3, H) for every distinct expand3x3 shape."""
    from squeezenp.models.networks import FIRE_SPECS
    from squeezenp import ops
    out = {}
    for size in sizes:
        s1 = ops.conv_output_size(size, 3, 2, 0)
        s2 = ops.pool_output_size(s1, 3, 2, True)
        s4 = ops.pool_output_size(s2, 3, 2, True)
        s6 = ops.pool_output_size(s4, 3, 2, True)
        hw = {"fire2": s2, "fire3": s2, "fire4": s4, "fire5": s4}
        for name, (_, sq, _, e3) in FIRE_SPECS.items():
            key = (size, sq, e3, hw.get(name, s6))
            out.setdefault(key, []).append(name)
    return [(size, names, c, k, h) for (size, c, k, h), names in out.items()]


def timed_block(fn, calls):
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def measure(cin, cout, h, batch, training, repeats):
    from squeezenp.ops import conv2d as im2col
    from squeezenp.ops import winograd as wg
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, cin, h, h)).astype(np.float32)
    w = (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32)   # He-normal
    b = np.zeros(cout, np.float32)
    dout = rng.standard_normal((batch, cout, h, h)).astype(np.float32)
    workspaces = {a: {} for a in ALGOS}      # one per algorithm, as a layer owns one

    def forward(a, xs):
        if a == "winograd":
            return wg.winograd_conv3x3(xs, w, b, work=workspaces[a])
        return im2col.conv2d_forward(xs, w, b, 1, 1, workspace=workspaces[a], algorithm="im2col")[0]

    def backward(a):
        if a == "winograd":
            return wg.winograd_conv3x3_backward(x, w, dout, work=workspaces[a])
        return im2col.conv2d_backward(dout, im2col.conv2d_forward(x, w, b, 1, 1, workspace=workspaces[a],
                                                                  algorithm="im2col")[1],
                                      workspace=workspaces[a])

    def call(a):
        if training:
            return lambda: (forward(a, x), backward(a)) if a == "winograd" else backward(a)
        return lambda: forward(a, x)
    fns = {a: call(a) for a in ALGOS}
    once = {}
    for a in ALGOS:                      # warm-up (compile / load kernels, allocate workspaces); calls per block
        t = time.perf_counter()
        fns[a]()
        fns[a]()
        once[a] = max(time.perf_counter() - t, 1e-6) / 2
    calls = {a: max(1, int(0.05 / once[a])) for a in ALGOS}
    best = {a: float("inf") for a in ALGOS}
    for _ in range(repeats):             # alternate the two algorithms block by block
        for a in ALGOS:
            best[a] = min(best[a], timed_block(fns[a], calls[a]))
    from squeezenp.ops.winograd import winograd_conv3x3_reference
    exact = winograd_conv3x3_reference(x[:2].astype(np.float64), w.astype(np.float64))
    err = {a: float(np.abs(forward(a, x[:2]) - exact).max()) for a in ALGOS}
    return best, err


def measure_in_plan(size, fires, repeats):
    """Batch-1 inference as it really runs, inside the trunk's plan (``squeezenp/models/plan.py``: each thread
    transforms or unfolds the squeeze output of its band of rows, then computes the expand of that band): the whole
    batch-1 trunk on all threads with the expand3x3 of ``fires`` on each algorithm and every other Fire module on
    im2col; seconds per trunk, best of alternating blocks of 5 calls' medians. The whole trunk, not the two stages
    of those Fire modules alone: Winograd's transforms (3 MB at fire2) push later layers' data out of the cache,
    which timing its stages in a loop hides (it then won every shape by 1.1-1.3x; in the trunk it lost)."""
    from squeezenp.models.networks import FIRE_SPECS
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    runs = {}
    for a in ALGOS:
        model = C.build("squeezenet", size)
        for name in FIRE_SPECS:
            model.children[name].expand3x3.algorithm = a if name in fires else "im2col"
        model.forward(x, training=False)                        # builds the plan
        model._plan.choice.parallel = lambda threads=model._plan.T: threads > 1
        runs[a] = lambda model=model: model.trunk_forward(x, False)
    for a in ALGOS:
        for _ in range(5):
            runs[a]()
    best = {a: float("inf") for a in ALGOS}
    for _ in range(max(20, 8 * repeats)):
        for a in ALGOS:
            best[a] = min(best[a], float(np.median([timed_block(runs[a], 1) for _ in range(5)])))
    return best


def run(batches, repeats, sizes):
    C.set_threads(C.cores())
    res = {"load_start": C.load_average(), "batches": batches, "repeats": repeats, "rows": []}
    for size, names, cin, cout, h in expand3x3_shapes(sizes):
        for batch in batches:
            for training in (False, True):
                best, err = measure(cin, cout, h, batch, training, repeats)
                if batch == 1 and not training:          # what a one-image forward runs: the plan
                    best = measure_in_plan(size, names, repeats)
                res["rows"].append({"input": size, "fires": names, "C": cin, "K": cout, "H": h, "W": h,
                                    "batch": batch, "mode": "training" if training else "inference",
                                    "im2col_ms": round(best["im2col"] * 1e3, 3), "winograd_ms": round(best["winograd"] * 1e3, 3),
                                    "speedup": best["im2col"] / best["winograd"],
                                    "faster": min(ALGOS, key=best.get),
                                    "max_abs_err_f32": err})
                print(json.dumps(res["rows"][-1]), file=sys.stderr, flush=True)
    res["threads"] = C.thread_info()
    res["load_end"] = C.load_average()
    return res


def write_table(res, command):
    """Per shape and batch class: both modes' timings and the faster algorithm, by the sum of the two modes for
    batches, by inference alone for batch 1 (a batch-1 training step is no use case; batch-1 latency is)."""
    from squeezenp.ops import conv_algorithm
    groups = {}
    for r in res["rows"]:
        key = (r["C"], r["K"], r["H"], r["W"], "1" if r["batch"] == 1 else "many")
        g = groups.setdefault(key, {"C": key[0], "K": key[1], "H": key[2], "W": key[3], "batch": key[4]})
        g[f"{r['mode']}_ms"] = {a: r[f"{a}_ms"] for a in ALGOS}
    entries = []
    for g in groups.values():
        modes = ("inference_ms",) if g["batch"] == "1" else ("inference_ms", "training_ms")
        total = {a: sum(g[m][a] for m in modes if m in g) for a in ALGOS}
        entries.append(dict(g, choice=min(ALGOS, key=total.get)))
    doc = {"written_by": command, "date": time.strftime("%Y-%m-%d"), "machine": C.machine_info()["cpu"],
           "load_average": [res["load_start"], res["load_end"]],
           "note": "per shape and batch class: ms per call of each algorithm (best of alternating blocks), choice = the "
                   "smaller inference + training sum (batch 1: inference alone, timed as the whole batch-1 trunk plan with "
                   "this shape's Fire modules on each algorithm, the others on im2col); read by "
                   "squeezenp/ops/conv_algorithm.py", "entries": entries}
    from squeezenp.core.atomic import atomic_write_text
    rows = ",\n  ".join(json.dumps(e) for e in entries)       # one shape per line: readable diffs
    head = json.dumps({k: v for k, v in doc.items() if k != "entries"}, indent=1)[:-2]
    atomic_write_text(conv_algorithm.TABLE, head + ',\n "entries": [\n  ' + rows + "\n ]\n}\n")
    return conv_algorithm.TABLE


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batch 8 instead of 32, 2 repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[227, 128])
    ap.add_argument("--write-table", action="store_true", help="store the winners in squeezenp/ops/conv3x3_table.json")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = run([1, 8 if a.quick else 32], a.repeats or (2 if a.quick else 5), a.sizes)
    if a.write_table:
        res["table"] = str(write_table(res, "python benchmarks/bench_winograd.py " + " ".join(sys.argv[1:])))
    if a.json:
        return C.emit(res, True)
    print(f"Winograd F(2x2,3x3) vs im2col, expand3x3 shapes; load {res['load_start']} -> {res['load_end']}")
    print(f"{'input':>5s} {'fires':16s}{'C':>4s}{'K':>5s}{'HxW':>7s}{'batch':>6s} {'mode':10s}{'im2col ms':>10s}"
          f"{'wino ms':>9s}{'speed-up':>9s} {'f32 err im2col/wino':>20s}")
    for r in res["rows"]:
        print(f"{r['input']:5d} {','.join(r['fires']):16s}{r['C']:4d}{r['K']:5d}{r['H']:4d}x{r['W']:<2d}{r['batch']:6d} "
              f"{r['mode']:10s}{r['im2col_ms']:10.3f}{r['winograd_ms']:9.3f}{r['speedup']:8.2f}x "
              f"{r['max_abs_err_f32']['im2col']:9.1e}/{r['max_abs_err_f32']['winograd']:.1e}")
    if a.write_table:
        print(f"written {res['table']}")


if __name__ == "__main__":
    main()
