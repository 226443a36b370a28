"""Peak memory per network: a batch-32 training step and a batch-1 inference, each in a fresh subprocess.

Two measures, both printed:

- ``tracemalloc`` peak: NumPy/Python allocations during the measured call, above what was allocated before it
  (the model, the input, the layers' reusable workspaces from the warm-up, which are part of the model's cost
  and are therefore reported in ``workspace_mib``);
- ``ru_maxrss``: the subprocess's peak resident set (interpreter, NumPy, Numba and LLVM, the weights, the
  workspaces, the measured call). The baseline of an idle process that imported squeezenp is given too.

Training step: forward(training=True) -> softmax cross-entropy -> backward -> SGDM step, after one warm-up step
at the same batch (so the workspaces and optimiser velocities exist). Inference: ``predict_proba`` at batch 1
after one warm-up call.

Usage::

    python benchmarks/bench_memory.py            # all networks, training batch 32
    python benchmarks/bench_memory.py --quick    # training batch 8
"""
from __future__ import annotations

import argparse
import resource
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

MiB = 2.0 ** 20


def maxrss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def workspace_bytes(model):
    return sum(a.nbytes for _, layer in model.named_layers() for slot in getattr(layer, "workspaces", {}).values()
               for a in slot.values())


def child(name, mode, batch, size):
    import numpy as np
    from squeezenp.layers import SoftmaxCrossEntropy
    from squeezenp.train import SGDM
    base_rss = maxrss_bytes()
    model = C.build(name, size)
    rng = np.random.default_rng(0)
    if mode == "idle":
        return C.emit({"maxrss_mib": base_rss / MiB}, True)
    x = rng.standard_normal((batch, 3, size, size), dtype=np.float32)
    y = rng.integers(0, 2, batch)
    if mode == "train":
        loss, opt = SoftmaxCrossEntropy(), SGDM(1e-4)

        def call():
            loss.forward(model.forward(x, training=True), y)
            model.backward(loss.backward(), input_grad=False)
            opt.step(model)
    else:
        def call():
            model.predict_proba(x)
    call()                                           # warm-up: kernels, workspaces, velocities
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    call()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    C.emit({"tracemalloc_peak_mib": peak / MiB, "maxrss_mib": maxrss_bytes() / MiB,
            "workspace_mib": workspace_bytes(model) / MiB, "batch": batch}, True)


def run(networks, train_batch, size):
    res = {"load_start": C.load_average(), "train_batch": train_batch, "size": size, "networks": {},
           "idle": C.run_json("bench_memory.py", ["--child", "proposed", "idle", 1, size])}
    for name in networks:
        res["networks"][name] = {
            "train": C.run_json("bench_memory.py", ["--child", name, "train", train_batch, size]),
            "infer_b1": C.run_json("bench_memory.py", ["--child", name, "infer", 1, size])}
    res["load_end"] = C.load_average()
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="training batch 8")
    ap.add_argument("--networks", nargs="+", default=None)
    ap.add_argument("--batch", type=int, default=None, help="training batch (default 32, quick 8)")
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--child", nargs=4, default=None, metavar=("NETWORK", "MODE", "BATCH", "SIZE"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.child:
        return child(a.child[0], a.child[1], int(a.child[2]), int(a.child[3]))
    res = run(a.networks or C.networks_all(), a.batch or (8 if a.quick else 32), a.size)
    if a.json:
        return C.emit(res, True)
    print(f"peak memory (MiB), {a.size}x{a.size}; idle process after import: "
          f"{res['idle'].get('maxrss_mib', float('nan')):.0f} MiB maxrss")
    print(f"{'network':28s}{'train b%d tracemalloc' % res['train_batch']:>22s}{'maxrss':>8s}{'workspaces':>11s}"
          f"{'infer b1 tracemalloc':>22s}{'maxrss':>8s}")
    for name, r in res["networks"].items():
        t, i = r["train"], r["infer_b1"]
        if "error" in t or "error" in i:
            print(f"{name:28s} failed: {t.get('error') or i.get('error')}")
            continue
        print(f"{name:28s}{t['tracemalloc_peak_mib']:>22.0f}{t['maxrss_mib']:>8.0f}{t['workspace_mib']:>11.0f}"
              f"{i['tracemalloc_peak_mib']:>22.1f}{i['maxrss_mib']:>8.0f}")


if __name__ == "__main__":
    main()
