"""Where a network's time goes, layer by layer: CPU seconds of each top-level layer on one thread.

Every top-level layer's ``forward`` (and, with ``--training``, ``backward``) and the fused steps a network runs
outside its layers (conv1 + ReLU + pool1 at inference, the proposed CNN's head) are wrapped with
``time.thread_time``; one thread for Numba and the BLAS, so the figures are CPU time of the work itself, steadier
than wall time on a shared machine and comparable between two checkouts (run the script in each). Warm-up: three
calls (the first pays Numba's loading and the heap's growth: page faults that later calls do not have).

    python benchmarks/bench_profile.py --network squeezenet                 # inference, batch 32, 227 px
    python benchmarks/bench_profile.py --network proposed --training        # forward + backward (no optimiser)
"""
from __future__ import annotations

import argparse
import time

from _common import reexec_with_malloc_env, set_threads

reexec_with_malloc_env()

import numpy as np  # noqa: E402

from squeezenp.layers import SoftmaxCrossEntropy  # noqa: E402
from squeezenp.models import create  # noqa: E402
from squeezenp.models import networks  # noqa: E402

FUSED_STEPS = ("_fused_conv1_pool1",)                              # model methods that stand for several layers
FUSED_OPS = ("upconv_fuse_forward", "upconv_fuse_backward", "proposed_head_inference",   # ops the models call
             "conv2d_act_pool_forward", "conv2d_act_pool_backward")


def profile(network: str, batch: int, size: int, training: bool, repeats: int) -> tuple[float, dict]:
    """``(CPU seconds per image of the whole step, {part: CPU seconds per image})``."""
    model = create(network, input_size=size).train(training)
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
    y = np.arange(batch) % 2
    loss = SoftmaxCrossEntropy()
    spent: dict[str, float] = {}

    def timed(key, f):
        def g(*args, **kwargs):
            t = time.thread_time()
            out = f(*args, **kwargs)
            spent[key] = spent.get(key, 0.0) + time.thread_time() - t
            return out
        return g

    for name, layer in model.children.items():
        layer.forward = timed(f"{name} forward", layer.forward)
        layer.backward = timed(f"{name} backward", layer.backward)
    for method in FUSED_STEPS:
        if hasattr(model, method):
            setattr(model, method, timed(f"{method.strip('_')} (fused)", getattr(model, method)))
    originals = {op: getattr(networks.ops, op) for op in FUSED_OPS}
    for op, f in originals.items():
        setattr(networks.ops, op, timed(f"{op} (fused)", f))

    def step():
        if training:
            loss.forward(model.forward(x, training=True), y)
            model.backward(loss.backward(), input_grad=False)     # a training step's backward
        else:
            model.forward(x)

    try:
        for _ in range(3):
            step()
        spent.clear()
        t = time.thread_time()
        for _ in range(repeats):
            step()
        total = time.thread_time() - t
    finally:
        for op, f in originals.items():
            setattr(networks.ops, op, f)
    per = batch * repeats
    return total / per, {k: v / per for k, v in spent.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--network", default="squeezenet")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=227)
    p.add_argument("--training", action="store_true", help="forward + backward instead of inference")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    set_threads(1)
    total, parts = profile(args.network, args.batch, args.size, args.training, args.repeats)
    mode = "training step (forward + backward)" if args.training else "inference"
    print(f"{args.network}, {mode}, batch {args.batch}, {args.size} px, one thread: "
          f"{total * 1e3:.2f} ms of CPU per image")
    for key, sec in sorted(parts.items(), key=lambda kv: -kv[1]):
        if sec * 1e3 >= 0.005:
            print(f"  {key:34s} {sec * 1e3:7.3f} ms  {100 * sec / total:5.1f}%")
    rest = total - sum(parts.values())
    print(f"  {'(outside the parts above)':34s} {rest * 1e3:7.3f} ms  {100 * rest / total:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
