"""CPU seconds per call (process CPU time, not wall time): a relative measure of work for a loaded machine.

On a machine shared with other processes wall-clock timings measure the queue for the cores; the process's CPU
time (``time.process_time``, all threads) counts the work done. It still counts busy-waiting (OpenBLAS threads
spin briefly after each call), so batch-1 figures are only indicative, and it says nothing about how well the
two cores are used: use it to compare two versions of the code, never as a speed figure.

``--source PATH`` measures the squeezenp of another checkout (for example the main branch) in the same way.
``--variants`` instead measures this checkout's evaluation forward in one process with the 3x3 algorithm forced
each way (``SQUEEZENP_CONV3X3=im2col|winograd``) and the fused evaluation path on and off (``Model.fuse``),
alternated; each line also says which algorithm actually ran the 3x3 convolutions (``_common.conv3x3_mode``: a
dispatch that does not read the variable runs im2col both ways).

Usage::

    python benchmarks/bench_cpu_time.py --networks proposed squeezenet --batch 16
    python benchmarks/bench_cpu_time.py --source ../main --networks proposed
    python benchmarks/bench_cpu_time.py --variants --networks proposed --batch 8
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(name, batch, size, repeats):
    import numpy as np
    import _common as C
    from squeezenp.layers import SoftmaxCrossEntropy
    from squeezenp.train import SGDM
    C.set_threads(C.cores())
    model, loss, opt = C.build(name, size), SoftmaxCrossEntropy(), SGDM(1e-4, 0.9, 1e-4)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, size, size), dtype=np.float32)
    y = rng.integers(0, 2, batch)
    x1 = x[:1].copy()

    def step():
        loss.forward(model.forward(x, training=True), y)
        model.backward(loss.backward(), input_grad=False)
        opt.step(model)

    def cpu(fn, n):
        fn()
        best = float("inf")
        for _ in range(n):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
        return best
    return {"infer_cpu_s": cpu(lambda: model.forward(x, training=False), repeats),
            "train_cpu_s": cpu(step, repeats),
            "b1_cpu_s": cpu(lambda: model.forward(x1, training=False), 4 * repeats)}


def variants(name, batch, size, rounds):
    """Evaluation-forward CPU seconds, alternating im2col/Winograd and the fused/layer-by-layer path:
    ``{variant: (best CPU seconds, what ran the 3x3 convolutions)}``."""
    import os
    import numpy as np
    import _common as C
    C.set_threads(C.cores())
    model = C.build(name, size)
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size), dtype=np.float32)
    before, best, ran = os.environ.get(C.CONV3X3_ENV), {}, {}
    try:
        for _ in range(rounds):
            for algo in ("im2col", "winograd"):
                for fused in (False, True):
                    os.environ[C.CONV3X3_ENV] = algo
                    model.fuse(fused)
                    key = f"{algo}, {'fused' if fused else 'layer by layer'}"
                    ran[key] = C.conv3x3_mode(lambda: model.forward(x, training=False))["ran"]   # warm-up
                    t = time.process_time()
                    model.forward(x, training=False)
                    best[key] = min(best.get(key, float("inf")), time.process_time() - t)
    finally:
        model.fuse(True)
        if before is None:
            os.environ.pop(C.CONV3X3_ENV, None)
        else:
            os.environ[C.CONV3X3_ENV] = before
    return {k: (v, ran[k]) for k, v in best.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=["proposed", "squeezenet"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--source", default=None, help="root of the squeezenp checkout to measure (default: this one)")
    ap.add_argument("--system-malloc", action="store_true",
                    help="without the malloc environment: page faults count too")
    ap.add_argument("--variants", action="store_true",
                    help="this checkout, one process: SQUEEZENP_CONV3X3=im2col/winograd x fused/layer by layer")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.variants:
        sys.path.insert(0, str(HERE))
        for name in a.networks:
            print(f"{name}, evaluation forward, batch {a.batch}, CPU seconds (best of {a.repeats} alternations):")
            for k, (v, ran) in variants(name, a.batch, a.size, a.repeats).items():
                print(f"  SQUEEZENP_CONV3X3={k:28s} {v:.3f} s   (3x3 ran: {ran})")
        return
    if a.child:
        sys.path.insert(0, str(HERE))
        import _common  # noqa: F401   (puts this checkout on the path: the source goes before it)
        sys.path.insert(0, a.child)
        import squeezenp
        assert Path(squeezenp.__file__).resolve().parents[1] == Path(a.child), squeezenp.__file__
        print(json.dumps(measure(a.networks[0], a.batch, a.size, a.repeats)))
        return
    source = str(Path(a.source or HERE.parent).resolve())
    env_note = ("glibc's default malloc" if a.system_malloc
                else "MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000")
    print(f"CPU seconds per call, {source}, batch {a.batch}, {a.size}x{a.size}, best of {a.repeats}; {env_note}")
    for name in a.networks:
        import os
        env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), _BENCH_REEXEC="1")
        if a.system_malloc:
            env = {k: v for k, v in env.items() if k not in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")}
        else:
            env.update(MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_="100000000000")
        out = subprocess.run([sys.executable, __file__, "--child", source, "--networks", name, "--batch", str(a.batch),
                              "--size", str(a.size), "--repeats", str(a.repeats)], capture_output=True, text=True,
                             env=env, cwd="/")
        if out.returncode:
            print(f"{name}: failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:12s} inference b{a.batch} {r['infer_cpu_s']:.3f} s   training step {r['train_cpu_s']:.3f} s   "
              f"batch-1 forward {r['b1_cpu_s'] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
