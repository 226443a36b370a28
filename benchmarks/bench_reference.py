"""The same networks in PyTorch (CPU) and onnxruntime, same weights, outputs compared, timed in the same run.

Each framework runs in its own fresh process, one after the other (so no two thread pools share a process):

- squeezenp: ``forward(training=False)``; training step forward -> softmax CE -> backward -> SGDM;
- PyTorch, as a competent user runs it: ``channels_last`` weights and inputs, ``torch.set_num_threads(cores)``,
  ``torch.inference_mode()`` for inference; training with ``torch.optim.SGD(momentum=0.9, weight_decay=1e-4)``
  and ``cross_entropy`` (dropout on, batch norm on batch statistics, as ours);
- onnxruntime: the file written by ``squeezenp.interop.onnx_export.export_onnx``, CPUExecutionProvider, all graph
  optimisations, ``intra_op_num_threads = cores`` (inference only).

Weights: the network's seeded initialisation, with batch-norm running statistics set to non-trivial values (a
fixed seed), copied into PyTorch by ``_torch_squeezenet.from_squeezenp`` and into ONNX by the exporter. The max
abs difference of the logits against squeezenp's (batch 2) is printed per framework. Every process runs with the
malloc environment of ``_common.MALLOC_ENV``. Missing torch or onnxruntime: that side is skipped and reported.

Usage::

    python benchmarks/bench_reference.py                      # all networks, batch 32 (+ batch-1 latency)
    python benchmarks/bench_reference.py --quick              # proposed only, batch 8, one repeat
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

FRAMEWORKS = ("squeezenp", "torch", "onnxruntime")


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


def child_squeezenp(name, batch, size, repeats):
    from squeezenp.layers import SoftmaxCrossEntropy
    from squeezenp.train import SGDM
    C.set_threads(C.cores())
    model = reference_model(name, size)
    x, y = inputs(batch, size)
    loss, opt = SoftmaxCrossEntropy(), SGDM(1e-4, 0.9, 1e-4)

    def step():
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward())
        opt.step(model)
    x1 = x[:1].copy()
    model.forward(x1, training=False)
    model.forward(x, training=False)
    t_lat = C.best_of(lambda: model.forward(x1, training=False), repeats * 3, min_time=0.5)
    t_inf = C.best_of(lambda: model.forward(x, training=False), repeats)
    step()
    t_train = C.best_of(step, repeats)
    return {"infer_ips": batch / t_inf, "train_ips": batch / t_train, "latency_b1_s": t_lat,
            "threads": C.thread_info()}


def child_torch(name, batch, size, repeats):
    import numpy as np
    import torch
    import _torch_squeezenet as T
    torch.set_num_threads(C.cores())
    model = reference_model(name, size)
    x, y = inputs(batch, size)
    net = T.from_squeezenp(model).to(memory_format=torch.channels_last).eval()
    xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        got = net(xt[:2]).numpy()
    diff = float(np.abs(got - model.forward(x[:2], training=False)).max())
    x1 = xt[:1].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        net(xt)
        net(x1)
        t_lat = C.best_of(lambda: net(x1), repeats * 3, min_time=0.5)
        t_inf = C.best_of(lambda: net(xt), repeats)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
    yt = torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    step()
    t_train = C.best_of(step, repeats)
    return {"infer_ips": batch / t_inf, "train_ips": batch / t_train, "latency_b1_s": t_lat,
            "max_abs_diff_logits": diff, "version": torch.__version__,
            "threads": {"torch_threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads()},
            "settings": "channels_last, inference_mode, set_num_threads(cores)"}


def child_onnxruntime(name, batch, size, repeats):
    import numpy as np
    import onnxruntime as ort
    from squeezenp.interop.onnx_export import export_onnx
    model = reference_model(name, size)
    x, _ = inputs(batch, size)
    with tempfile.TemporaryDirectory() as d:
        path = export_onnx(model, Path(d) / f"{name}.onnx")
        so = ort.SessionOptions()
        so.intra_op_num_threads = C.cores()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    li = out_names.index("logits")
    got = sess.run(None, {"input": x[:2]})[li]
    diff = float(np.abs(got - model.forward(x[:2], training=False)).max())
    x1 = x[:1].copy()
    sess.run(None, {"input": x})
    sess.run(None, {"input": x1})
    t_lat = C.best_of(lambda: sess.run(None, {"input": x1}), repeats * 3, min_time=0.5)
    t_inf = C.best_of(lambda: sess.run(None, {"input": x}), repeats)
    return {"infer_ips": batch / t_inf, "train_ips": None, "latency_b1_s": t_lat, "max_abs_diff_logits": diff,
            "version": ort.__version__, "threads": {"intra_op_num_threads": C.cores()}}


def child(framework, name, batch, size, repeats):
    t = time.perf_counter()
    res = {"squeezenp": child_squeezenp, "torch": child_torch, "onnxruntime": child_onnxruntime}[framework](
        name, batch, size, repeats)
    res["wall_s"] = time.perf_counter() - t
    C.emit(res, True)


def available(framework):
    if framework == "squeezenp":
        return None
    mods = {"torch": ["torch"], "onnxruntime": ["onnxruntime", "onnx"]}[framework]
    import importlib.util
    missing = [m for m in mods if importlib.util.find_spec(m) is None]
    return f"skipped: {', '.join(missing)} not installed" if missing else None


def run(networks, batch, size, repeats):
    res = {"load_start": C.load_average(), "batch": batch, "size": size, "repeats": repeats, "networks": {},
           "skipped": {}}
    for fw in FRAMEWORKS:
        why = available(fw)
        if why:
            res["skipped"][fw] = why
    for name in networks:
        r = res["networks"][name] = {}
        for fw in FRAMEWORKS:
            if fw not in res["skipped"]:
                r[fw] = C.run_json("bench_reference.py", ["--child", fw, name, batch, size, repeats])
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
    res["load_end"] = C.load_average()
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="proposed only, batch 8, one repeat")
    ap.add_argument("--networks", nargs="+", default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--child", nargs=5, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.child:
        fw, name, batch, size, repeats = a.child
        return child(fw, name, int(batch), int(size), int(repeats))
    nets = a.networks or (["proposed"] if a.quick else C.networks_all())
    res = run(nets, a.batch or (8 if a.quick else 32), a.size, a.repeats or (1 if a.quick else 3))
    if a.json:
        return C.emit(res, True)
    print(f"squeezenp vs PyTorch CPU vs onnxruntime, batch {res['batch']}, {a.size}x{a.size}, "
          f"load {res['load_start']} -> {res['load_end']}; skipped: {res['skipped'] or 'none'}")
    print(f"{'network':28s}{'framework':>12s}{'infer img/s':>13s}{'train img/s':>13s}{'b1 ms':>8s}"
          f"{'max|dlogit|':>13s}{'ours/them infer':>17s}{'train':>7s}")
    for name, r in res["networks"].items():
        for fw in FRAMEWORKS:
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
