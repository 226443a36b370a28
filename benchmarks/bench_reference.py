"""The same networks in PyTorch (CPU) and onnxruntime, same weights, outputs compared, timed in the same run.

Protocol (the comparison table's): every (framework, network) runs in its own fresh process, the frameworks
alternated in ``--rounds`` rounds (3); in each process, after warm-up, the median of ``--calls`` (5) timed calls
per measure; the result is the best of the rounds' medians (other processes on a shared machine only ever add
time; the median inside a process drops a single slow call). Measures: batch-32 inference, batch-1 forward,
batch-32 training step. Also, once per network: squeezenp's training and inference on one thread (for the
projected time on a cluster of one-thread workers), and, for the proposed CNN, squeezenp with ``import torch``
in the same process (two OpenMP runtimes in one process). Each child reports the BLAS library and core type
that ran (threadpoolctl) and PyTorch its CPU capability; squeezenp's children also which algorithm ran the 3x3
convolutions (``SQUEEZENP_CONV3X3`` as set, and what the dispatch did: ``_common.conv3x3_mode``).

Threads: ``--threads`` (the protocol's 2 by default; fewer on a machine with fewer cores) for every framework:
Numba and BLAS (threadpoolctl) for squeezenp, ``torch.set_num_threads``, onnxruntime's ``intra_op_num_threads``.

- squeezenp: ``forward(training=False)``; training step forward -> softmax CE -> backward -> SGDM;
- PyTorch, as a competent user runs it: ``channels_last`` weights and inputs, ``torch.set_num_threads(threads)``,
  ``torch.inference_mode()`` for inference; training with ``torch.optim.SGD(momentum=0.9, weight_decay=1e-4)``
  and ``cross_entropy`` (dropout on, batch norm on batch statistics, as ours);
- onnxruntime: the file written by ``squeezenp.interop.onnx_export.export_onnx``, CPUExecutionProvider, all graph
  optimisations, ``intra_op_num_threads = threads`` (inference only).

squeezenp is imported in the PyTorch and onnxruntime processes too (it builds the weights and writes the ONNX
file), but runs its forward there only after the timings, for the logits comparison: its Numba/OpenMP thread pool
does not exist while the other library is timed.

Weights: the network's seeded initialisation, with batch-norm running statistics set to non-trivial values (a
fixed seed), copied into PyTorch by ``_torch_squeezenet.from_squeezenp`` and into ONNX by the exporter. The max
abs difference of the logits against squeezenp's (batch 2) is printed per framework. Every process runs with the
malloc environment of ``_common.MALLOC_ENV``. Missing torch or onnxruntime: that side is skipped and reported.

Usage::

    python benchmarks/bench_reference.py                      # all networks, batch 32 (+ batch-1 latency)
    python benchmarks/bench_reference.py --quick              # proposed only, batch 8, one round, 3 calls
    python benchmarks/bench_reference.py --networks proposed --rounds 1 --calls 2 --batch 2 --size 64   # smoke
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

FRAMEWORKS = ("squeezenp", "torch", "onnxruntime")
EXTRA = ("squeezenp_1thread", "squeezenp_with_torch")     # once per network, not in the ratios
THREADS = C.protocol_threads()      # set from --threads in every process


def reference_model(name, size):
    """The squeezenp network every framework gets: seeded weights + fixed non-trivial BN statistics."""
    import numpy as np
    model = C.build(name, size)
    rng = np.random.default_rng(123)
    for k, v in model.named_buffers():
        v[...] = rng.uniform(0.5, 1.5, v.shape) if k.endswith("running_var") else rng.normal(0.0, 0.1, v.shape)
    return model


def inputs(batch, size):
    import numpy as np
    rng = np.random.default_rng(7)
    return rng.standard_normal((batch, 3, size, size), dtype=np.float32), rng.integers(0, 2, batch)


def child_squeezenp(name, batch, size, calls, threads=None, with_torch=False):
    if with_torch:
        import torch  # noqa: F401   two OpenMP runtimes in one process, as a user mixing both would have
    from squeezenp.layers import SoftmaxCrossEntropy
    from squeezenp.train import SGDM
    C.set_threads(threads or THREADS)
    model = reference_model(name, size)
    x, y = inputs(batch, size)
    loss, opt = SoftmaxCrossEntropy(), SGDM(1e-4, 0.9, 1e-4)
    conv3x3 = {"inference": C.conv3x3_mode(lambda: model.forward(x, training=False)),
               "batch_1": C.conv3x3_mode(lambda: model.forward(x[:1].copy(), training=False))}

    def step():
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward(), input_grad=False)
        opt.step(model)
    x1 = x[:1].copy()
    for _ in range(3):
        model.forward(x1, training=False)
    model.forward(x, training=False)
    t_lat = C.median_of(lambda: model.forward(x1, training=False), calls * 4)
    t_inf = C.median_of(lambda: model.forward(x, training=False), calls)
    step()
    conv3x3["training"] = C.conv3x3_mode(step)
    t_train = C.median_of(step, calls)
    return {"infer_ips": batch / t_inf, "train_ips": batch / t_train, "latency_b1_s": t_lat,
            "threads": C.thread_info(), "conv3x3": conv3x3, "with_torch": with_torch}


def child_torch(name, batch, size, calls):
    import numpy as np
    import torch
    import _torch_squeezenet as T
    torch.set_num_threads(THREADS)
    model = reference_model(name, size)
    x, y = inputs(batch, size)
    net = T.from_squeezenp(model).to(memory_format=torch.channels_last).eval()
    xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        got = net(xt[:2]).numpy()       # compared with squeezenp's logits after the timings (see below)
    x1 = xt[:1].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(2):          # the same warm-up as squeezenp's: 2 batch calls, 3 batch-1 calls, 2 steps
            net(xt)
        for _ in range(3):
            net(x1)
        t_lat = C.median_of(lambda: net(x1), calls * 4)
        t_inf = C.median_of(lambda: net(xt), calls)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
    yt = torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    step()
    step()
    t_train = C.median_of(step, calls)
    diff = float(np.abs(got - model.forward(x[:2], training=False)).max())     # squeezenp's pool starts only now
    return {"infer_ips": batch / t_inf, "train_ips": batch / t_train, "latency_b1_s": t_lat,
            "max_abs_diff_logits": diff, "version": torch.__version__,
            "threads": {"torch_threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads(),
                        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or "none (all the CPU has)"},
            "settings": "channels_last, inference_mode, set_num_threads(threads)"}


def child_onnxruntime(name, batch, size, calls):
    import numpy as np
    import onnxruntime as ort
    from squeezenp.interop.onnx_export import export_onnx
    model = reference_model(name, size)
    x, _ = inputs(batch, size)
    with tempfile.TemporaryDirectory() as d:
        path = export_onnx(model, Path(d) / f"{name}.onnx")
        so = ort.SessionOptions()
        so.intra_op_num_threads = THREADS
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    li = out_names.index("logits")
    got = sess.run(None, {"input": x[:2]})[li]
    x1 = x[:1].copy()
    for _ in range(2):
        sess.run(None, {"input": x})
    for _ in range(3):
        sess.run(None, {"input": x1})
    t_lat = C.median_of(lambda: sess.run(None, {"input": x1}), calls * 4)
    t_inf = C.median_of(lambda: sess.run(None, {"input": x}), calls)
    diff = float(np.abs(got - model.forward(x[:2], training=False)).max())     # squeezenp's pool starts only now
    return {"infer_ips": batch / t_inf, "train_ips": None, "latency_b1_s": t_lat, "max_abs_diff_logits": diff,
            "version": ort.__version__, "threads": {"intra_op_num_threads": THREADS},
            "settings": "export_onnx file, CPUExecutionProvider, ORT_ENABLE_ALL, intra_op_num_threads = threads"}


def child(framework, name, batch, size, calls):
    t = time.perf_counter()
    runners = {"squeezenp": child_squeezenp, "torch": child_torch, "onnxruntime": child_onnxruntime,
               "squeezenp_1thread": lambda *a: child_squeezenp(*a, threads=1),
               "squeezenp_with_torch": lambda *a: child_squeezenp(*a, with_torch=True)}
    res = runners[framework](name, batch, size, calls)
    res["wall_s"] = time.perf_counter() - t
    C.emit(res, True)


def available(framework):
    if framework == "squeezenp":
        return None
    mods = {"torch": ["torch"], "onnxruntime": ["onnxruntime", "onnx"], "squeezenp_1thread": [],
            "squeezenp_with_torch": ["torch"]}[framework]
    import importlib.util
    missing = [m for m in mods if importlib.util.find_spec(m) is None]
    return f"skipped: {', '.join(missing)} not installed" if missing else None


def best_of_rounds(runs):
    """Per measure, the best of the rounds' medians (largest img/s, smallest latency); errors kept if all failed."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    best = dict(ok[0])
    for k in ("infer_ips", "train_ips"):
        vals = [r[k] for r in ok if r.get(k)]
        best[k] = max(vals) if vals else None
    best["latency_b1_s"] = min(r["latency_b1_s"] for r in ok)
    best["rounds"] = [{k: r.get(k) for k in ("infer_ips", "train_ips", "latency_b1_s")} for r in ok]
    return best


def run(networks, batch, size, rounds, calls, extras=True):
    res = {"load_start": C.load_average(), "batch": batch, "size": size, "rounds": rounds, "calls": calls,
           "threads_requested": THREADS,
           "protocol": f"each (framework, network) in a fresh process, frameworks alternated over {rounds} rounds; "
                       f"median of {calls} timed calls after warm-up (batch 1: {calls * 4}); best of the rounds",
           "networks": {}, "skipped": {}}
    for fw in FRAMEWORKS + EXTRA:
        why = available(fw)
        if why:
            res["skipped"][fw] = why
    for name in networks:
        r = res["networks"][name] = {"load_start": C.load_average()}
        runs = {fw: [] for fw in FRAMEWORKS if fw not in res["skipped"]}
        for _ in range(rounds):
            for fw in runs:
                runs[fw].append(C.run_json("bench_reference.py", ["--child", fw, name, batch, size, calls,
                                                                  "--threads", THREADS]))
        for fw, rr in runs.items():
            r[fw] = best_of_rounds(rr)
        if extras:
            for fw in EXTRA:
                if fw in res["skipped"] or (fw == "squeezenp_with_torch" and name != "proposed"):
                    continue
                r[fw] = C.run_json("bench_reference.py", ["--child", fw, name, batch, size, max(2, calls // 2),
                                                          "--threads", THREADS])
        ours = r["squeezenp"]
        ratios = {}
        for fw in ("torch", "onnxruntime"):
            o = r.get(fw)
            if not o or "error" in o or "error" in ours:
                continue
            ratios[fw] = {"infer": ours["infer_ips"] / o["infer_ips"],
                          "latency_b1": o["latency_b1_s"] / ours["latency_b1_s"]}
            if o.get("train_ips"):
                ratios[fw]["train"] = ours["train_ips"] / o["train_ips"]
        r["ratios"] = ratios     # > 1: squeezenp faster
        r["load_end"] = C.load_average()
    res["load_end"] = C.load_average()
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="proposed only, batch 8, one round, 3 calls")
    ap.add_argument("--networks", nargs="+", default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--rounds", type=int, default=None, help="fresh-process rounds per framework (3)")
    ap.add_argument("--calls", type=int, default=None, help="timed calls per measure, median taken (5)")
    ap.add_argument("--no-extras", action="store_true", help="skip the one-thread and same-process runs")
    ap.add_argument("--threads", type=int, default=None,
                    help=f"threads of every framework (default {C.PROTOCOL_THREADS}, at most the cores)")
    ap.add_argument("--child", nargs=5, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    global THREADS
    THREADS = a.threads or THREADS
    if a.child:
        fw, name, batch, size, calls = a.child
        return child(fw, name, int(batch), int(size), int(calls))
    nets = a.networks or (["proposed"] if a.quick else C.networks_all())
    res = run(nets, a.batch or (8 if a.quick else 32), a.size, a.rounds or (1 if a.quick else 3),
              a.calls or (3 if a.quick else 5), extras=not a.no_extras)
    if a.json:
        return C.emit(res, True)
    print(f"squeezenp vs PyTorch CPU vs onnxruntime, batch {res['batch']}, {a.size}x{a.size}, "
          f"load {res['load_start']} -> {res['load_end']}; skipped: {res['skipped'] or 'none'}")
    print(f"{'network':28s}{'framework':>12s}{'infer img/s':>13s}{'train img/s':>13s}{'b1 ms':>8s}"
          f"{'max|dlogit|':>13s}{'ours/them infer':>17s}{'train':>7s}")
    for name, r in res["networks"].items():
        for fw in FRAMEWORKS + EXTRA:
            o = r.get(fw)
            if o is None:
                continue
            if "error" in o:
                print(f"{name:28s}{fw:>12s}  {o['error']}")
                continue
            q = r["ratios"].get(fw, {})
            tr = f"{o['train_ips']:13.1f}" if o.get("train_ips") else f"{'-':>13s}"
            print(f"{name:28s}{fw:>12s}{o['infer_ips']:13.1f}{tr}{o['latency_b1_s'] * 1e3:8.1f}"
                  f"{o.get('max_abs_diff_logits', 0):13.1e}{q.get('infer', 1.0):17.2f}"
                  f"{q.get('train', float('nan')) if fw != 'onnxruntime' else float('nan'):7.2f}")


if __name__ == "__main__":
    main()
