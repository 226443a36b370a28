"""Classification time per image, the paper's measure: file on disk -> decoded -> preprocessed -> probability.

For each network at 227x227, batch 1: ``squeezenp.data.images.load_image`` (PNG decode, grayscale, bilinear
resize, normalisation, replicated to 3 channels) then ``model.predict_proba`` (evaluation-mode forward +
softmax). The image is a 512x512 8-bit grayscale PNG of a synthetic chest-CT phantom (``squeezenp.data.phantoms``)
written to a temporary folder; the clock starts at the file path.

- warm: in this process after warm-up, best of ``--repeats``, with 1 thread and with ``--threads`` (the
  protocol's 2 by default, at most the cores; Numba and BLAS both set, ``numba.set_num_threads`` +
  ``threadpoolctl``); decode+preprocess and network shown apart;
- one-off cost: a fresh process (``--first-call``) timing ``import squeezenp``, building the network and the
  first classification (Numba compiles or loads its kernels there). "cold" runs it with ``NUMBA_CACHE_DIR`` set to
  an empty folder (full compilation; the repository's own cache is left untouched; run for the proposed CNN only,
  whose kernels are a superset of the other networks'); "warm cache" with the
  on-disk cache as found (``__pycache__`` next to ``squeezenp/ops``).

Printed next to the paper's 7.81 s (laptop, no GPU) and 1.25 s (workstation) per image as speed-up factors.

Usage::

    python benchmarks/bench_classify.py            # all networks, 1 and 2 threads, cold + warm cache
    python benchmarks/bench_classify.py --quick    # fewer repeats, no cold compilation run
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


def write_test_image(folder, size=512, seed=0) -> Path:
    import numpy as np
    from PIL import Image
    from squeezenp.data.phantoms import make_phantom
    img = make_phantom(np.random.default_rng(seed), size=size, covid=True)
    img = np.asarray(img[0] if isinstance(img, tuple) else img, dtype=np.float64)
    img = (255 * (img - img.min()) / max(np.ptp(img), 1e-12)).astype(np.uint8)
    path = Path(folder) / "phantom_covid.png"
    Image.fromarray(img).save(path)
    return path


def classify(model, path, size=227):
    from squeezenp.data.images import load_image
    x = load_image(path, (size, size), channels=model.in_channels)
    return model.predict_proba(x[None])


def first_call_child(name, size):
    """Fresh process: import, build, first classification; prints JSON."""
    t0 = time.perf_counter()
    import squeezenp.models  # noqa: F401
    t1 = time.perf_counter()
    model = C.build(name, size)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        path = write_test_image(d)
        t3 = time.perf_counter()
        classify(model, path, size)
        t4 = time.perf_counter()
        classify(model, path, size)
        t5 = time.perf_counter()
    C.emit({"import_s": t1 - t0, "build_s": t2 - t1, "first_classify_s": t4 - t3, "second_classify_s": t5 - t4,
            "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR")}, True)


def measure_warm(name, path, size, repeats, thread_counts):
    import squeezenp.data.images as I
    model = C.build(name, size)
    classify(model, path, size)
    classify(model, path, size)
    out = {"params": model.num_parameters()}
    for n in thread_counts:
        C.set_threads(n)
        classify(model, path, size)
        total = C.best_of(lambda: classify(model, path, size), repeats, min_time=0.5)
        decode = C.best_of(lambda: I.load_image(path, (size, size), channels=model.in_channels), repeats)
        x = I.load_image(path, (size, size), channels=model.in_channels)[None]
        net = C.best_of(lambda: model.predict_proba(x), repeats)
        out[f"threads_{n}"] = {"total_s": total, "decode_preprocess_s": decode, "network_s": net,
                               "speedup_vs_laptop": C.PAPER_SECONDS["laptop (no GPU)"] / total,
                               "speedup_vs_workstation": C.PAPER_SECONDS["workstation"] / total}
    return out


def run(networks, size, repeats, cold, first_call=True, threads=None):
    res = {"load_start": C.load_average(), "size": size, "repeats": repeats, "networks": {},
           "thread_counts": sorted({1, min(threads or C.protocol_threads(), C.cores())}),
           "paper_s_per_image": C.PAPER_SECONDS}
    with tempfile.TemporaryDirectory() as d:
        path = write_test_image(d)
        res["image"] = {"file": "512x512 8-bit grayscale PNG (synthetic CT phantom)", "bytes": path.stat().st_size}
        for name in networks:
            res["networks"][name] = measure_warm(name, path, size, repeats, res["thread_counts"])
    res["threads"] = C.thread_info()
    if first_call:
        for name in networks:
            r = res["networks"][name]
            r["first_call_warm_cache"] = C.run_json("bench_classify.py", ["--first-call", name, "--size", size])
            if cold and name == "proposed":     # its kernels are a superset of the SqueezeNets' ones
                with tempfile.TemporaryDirectory() as cache:
                    r["first_call_cold_cache"] = C.run_json("bench_classify.py", ["--first-call", name, "--size", size],
                                                            extra_env={"NUMBA_CACHE_DIR": cache})
    res["load_end"] = C.load_average()
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 repeats, no cold-cache compilation run")
    ap.add_argument("--networks", nargs="+", default=None)
    ap.add_argument("--size", type=int, default=227)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-cold", action="store_true", help="skip the empty-NUMBA_CACHE_DIR compilation run")
    ap.add_argument("--no-first-call", action="store_true", help="skip the fresh-process one-off cost runs")
    ap.add_argument("--threads", type=int, default=None,
                    help=f"the second thread count (default {C.PROTOCOL_THREADS}, at most the cores)")
    ap.add_argument("--first-call", default=None, metavar="NETWORK", help="(internal) fresh-process child")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.first_call:
        return first_call_child(a.first_call, a.size)
    res = run(a.networks or C.networks_all(), a.size, a.repeats or (3 if a.quick else 10),
              cold=not (a.quick or a.no_cold), first_call=not a.no_first_call, threads=a.threads)
    if a.json:
        return C.emit(res, True)
    print(f"classification time per image (file -> probability), {a.size}x{a.size}, batch 1, "
          f"load {res['load_start']} -> {res['load_end']}")
    print(f"{'network':28s}{'threads':>8s}{'total ms':>10s}{'decode ms':>10s}{'net ms':>9s}"
          f"{'x vs 7.81 s':>13s}{'x vs 1.25 s':>13s}")
    for name, r in res["networks"].items():
        for n in res["thread_counts"]:
            t = r[f"threads_{n}"]
            print(f"{name:28s}{n:>8d}{t['total_s'] * 1e3:>10.1f}{t['decode_preprocess_s'] * 1e3:>10.1f}"
                  f"{t['network_s'] * 1e3:>9.1f}{t['speedup_vs_laptop']:>13.0f}{t['speedup_vs_workstation']:>13.0f}")
        for k in ("first_call_warm_cache", "first_call_cold_cache"):
            if k in r:
                f = r[k]
                print(f"    {k}: " + (f"import {f['import_s']:.2f} s, first classification {f['first_classify_s']:.2f} s, "
                                      f"second {f['second_classify_s']:.3f} s" if "error" not in f else f["error"]))


if __name__ == "__main__":
    main()
