"""Shared by the benchmark scripts: the malloc environment, thread control, machine facts, timing.

Every benchmark process runs with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000`` (glibc keeps
freed large blocks instead of unmapping them; without it page faults on fresh 100 MB arrays ate up to 40% of
a step here). ``reexec_with_malloc_env()`` restarts the script with them if they are missing, before NumPy
loads. ``OPENBLAS_CORETYPE`` is left as found. ``OMP_WAIT_POLICY`` defaults to PASSIVE, as ``squeezenp``
itself sets it (``bench_threads.py`` measures why).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}
CONV3X3_ENV = "SQUEEZENP_CONV3X3"      # im2col|winograd|auto, read by squeezenp.ops.conv_algorithm when wired in
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:      # measure the squeezenp of this checkout, not an installed copy
    sys.path.insert(0, str(REPO))
PAPER_SECONDS = {"laptop (no GPU)": 7.81, "workstation": 1.25}      # per image, Polsinelli et al. 2020


def reexec_with_malloc_env() -> None:
    """Restart this script with MALLOC_ENV unless already set (call before importing NumPy)."""
    if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()) and os.environ.get("_BENCH_REEXEC") != "1":
        env = dict(os.environ, **MALLOC_ENV, _BENCH_REEXEC="1")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def bench_env(extra=None) -> dict:
    """Environment for a benchmark subprocess: ours plus MALLOC_ENV and the repository on the path."""
    env = dict(os.environ, **MALLOC_ENV, _BENCH_REEXEC="1")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def run_json(script: str, args, extra_env=None, timeout=3600) -> dict:
    """Run ``benchmarks/<script> --json ...`` in a fresh process; return its last stdout line parsed as JSON,
    or ``{"error": ...}``."""
    cmd = [sys.executable, str(REPO / "benchmarks" / script), "--json", *map(str, args)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=bench_env(extra_env), timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout} s: {' '.join(cmd)}"}
    lines = [ln for ln in res.stdout.strip().splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {res.returncode}: {tail}"}
    return json.loads(lines[-1])


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


PROTOCOL_THREADS = 2     # the comparison protocol's thread count (fewer if the machine has fewer cores)


def protocol_threads() -> int:
    return min(PROTOCOL_THREADS, cores())


def set_threads(n: int) -> None:
    """Numba and BLAS thread counts for this process (OpenMP of torch is set by the torch runner)."""
    import numba
    from threadpoolctl import threadpool_limits
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    threadpool_limits(n)


def thread_info() -> dict:
    """The Numba and BLAS/OpenMP thread counts this process runs with."""
    import numba
    info = {"numba_threads": numba.get_num_threads(), "NUMBA_NUM_THREADS": numba.config.NUMBA_NUM_THREADS}
    try:
        import llvmlite.binding as llvm
        info["numba_cpu"] = numba.config.CPU_NAME or f"host ({llvm.get_host_cpu_name()})"
    except Exception:       # noqa: BLE001   informative only
        info["numba_cpu"] = numba.config.CPU_NAME or "host"
    info["numba_avx512_code"] = numba_emits_avx512()
    try:
        info["numba_threading_layer"] = numba.threading_layer()
    except ValueError:
        info["numba_threading_layer"] = "not yet chosen"
    try:
        from threadpoolctl import threadpool_info
        info["pools"] = [f"{p['user_api']}:{p['internal_api']} {p.get('version') or ''} "
                         f"{p.get('architecture') or ''} x{p['num_threads']}".replace("  ", " ")
                         for p in threadpool_info()]
    except ImportError:
        info["pools"] = ["threadpoolctl not installed: BLAS threads unknown"]
    return info


def numba_emits_avx512():
    """Whether Numba, as configured in this process, compiles to AVX-512: a float32 dot-product loop compiled
    here (not cached) and its assembly searched for zmm registers. ``NUMBA_CPU_NAME=haswell`` alone is not
    enough: Numba still passes the host's feature list (AVX-512 included) to LLVM unless ``NUMBA_CPU_FEATURES``
    is set too. None if the check could not run."""
    try:
        import numba
        import numpy as np

        @numba.njit(fastmath=True, cache=False)
        def dot(a, b):
            s = np.float32(0.0)
            for i in range(a.size):
                s += a[i] * b[i]
            return s
        a = np.ones(64, np.float32)
        dot(a, a)
        return any("zmm" in asm for asm in dot.inspect_asm().values())
    except Exception:       # noqa: BLE001   informative only
        return None


def machine_info() -> dict:
    cpu, flags = platform.processor() or "?", ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        fields = dict(ln.split(":", 1) for ln in out.splitlines() if ":" in ln)
        cpu = fields.get("Model name", cpu).strip()
        flags = fields.get("Flags", "")
    except OSError:
        pass
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                        "avx512_bf16") if f in flags.split()]
    import numpy as np
    import numba
    return {"cpu": cpu, "cores": cores(), "simd": simd, "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "platform": platform.platform(),
            "env": {k: os.environ.get(k) for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "OMP_WAIT_POLICY",
                                                   "OPENBLAS_CORETYPE", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES",
                                                   "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                                   "MKL_ENABLE_INSTRUCTIONS",
                                                   CONV3X3_ENV, "OMP_NUM_THREADS", "NUMBA_NUM_THREADS")}}


def cpu_flags() -> dict:
    """The instruction-set facts the targets depend on: AVX2 present, AVX-512 (F) present."""
    simd = machine_info()["simd"]
    return {"avx2": "avx2" in simd, "avx512f": "avx512f" in simd}


def conv3x3_mode(run) -> dict:
    """Which algorithm ran the 3x3 convolutions during ``run()``: ``SQUEEZENP_CONV3X3`` as set, the answers of
    ``squeezenp.ops.conv_algorithm.choose`` and the calls of the Winograd entry points (``ops.winograd``)
    during the call, found by wrapping those functions (and every alias of them in loaded squeezenp modules)
    for that one call. Works whether or not the convolution dispatch consults the choice: with no answers and
    no Winograd call, every 3x3 convolution ran by im2col."""
    import collections
    import importlib
    import inspect
    counts = collections.Counter()
    targets = []
    for modname in ("squeezenp.ops.conv_algorithm", "squeezenp.ops.winograd"):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for fname, fn in vars(mod).items():      # choose(), and every public winograd_* entry point
            if inspect.isfunction(fn) and fn.__module__ == modname and (
                    fname == "choose" if modname.endswith("conv_algorithm") else fname.startswith("winograd_")):
                targets.append((fname, fn))

    depth = [0]      # count outermost Winograd calls only (an entry point may call another)

    def wrap(fname, fn):
        key = "winograd_backward" if "backward" in fname else "winograd_forward"

        def wrapper(*a, **k):
            if fname == "choose":
                out = fn(*a, **k)
                counts[f"choose:{out}"] += 1
                return out
            depth[0] += 1
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    counts[key] += 1
        return wrapper
    patched = []
    for fname, fn in targets:
        w = wrap(fname, fn)
        for mod in [m for k, m in list(sys.modules.items()) if k.startswith("squeezenp") and m is not None]:
            for attr, val in list(vars(mod).items()):
                if val is fn:
                    setattr(mod, attr, w)
                    patched.append((mod, attr, fn))
    try:
        run()
    finally:
        for mod, attr, fn in patched:
            setattr(mod, attr, fn)
    chosen = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("choose:")}
    wino = counts["winograd_forward"]
    if chosen:
        ran = " + ".join(f"{k} x{v}" for k, v in sorted(chosen.items())) + " (per call, as chosen)"
    elif wino:
        ran = f"winograd in {wino} call(s), im2col in any other"
    else:
        ran = "im2col"
    return {"env": os.environ.get(CONV3X3_ENV) or "unset", "ran": ran, "choices": chosen,
            "winograd_forward_calls": wino, "winograd_backward_calls": counts["winograd_backward"],
            "dispatch_consults_choice": bool(chosen)}


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def best_of(fn, repeats: int, min_time: float = 0.0) -> float:
    """Best wall time of ``repeats`` calls (at least ``repeats``; more until ``min_time`` s have passed).
    Best-of, not mean: on a shared machine other processes only ever add time."""
    times, start = [], time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def median_of(fn, calls: int) -> float:
    """Median wall time of ``calls`` back-to-back calls (after the caller's warm-up): one slow call, another
    process's moment, does not move it."""
    import statistics
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def networks_all():
    import squeezenp.models as M
    return M.available()


def build(name, size=227, seed=0):
    """A network from its seeded initialisation. The transfer network has squeezenet_bypass's architecture
    and cost, so no ImageNet weights file is needed to time it."""
    import squeezenp.models as M
    return M.build(name, num_classes=2, input_size=size, seed=seed)


def emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
