"""Thread control: the effect of ``OMP_WAIT_POLICY`` (which ``squeezenp/__init__.py`` sets to PASSIVE) and of
the thread count, on the proposed CNN's inference and training throughput.

Numba's parallel kernels run on OpenMP (libgomp) threads. With ``OMP_WAIT_POLICY=ACTIVE`` (the busy-wait that
libgomp falls back to for a while after every parallel region), those threads keep spinning on the cores the
very next GEMM needs. Each configuration runs ``bench_throughput.py`` in a fresh process (the policy is read
when libgomp starts), once on the machine as it is and once next to one CPU-bound competitor process (a
``while True`` loop started and stopped by this script) - the situation of a 2-core machine shared with a test
suite, where the difference shows most.

Usage::

    python benchmarks/bench_threads.py            # batch 16, 3 repeats
    python benchmarks/bench_threads.py --quick    # batch 8, 1 repeat
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

CONFIGS = [("PASSIVE", None), ("ACTIVE", None), ("PASSIVE", 1)]   # (OMP_WAIT_POLICY, threads or all cores)


def run(network, batch, repeats, competitor=True):
    res = {"load_start": C.load_average(), "network": network, "batch": batch, "repeats": repeats, "runs": []}
    for loaded in ([False, True] if competitor else [False]):
        spinner = None
        if loaded:
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for policy, threads in CONFIGS:
                args = ["--networks", network, "--batch", batch, "--repeats", repeats]
                if threads:
                    args += ["--threads", threads]
                r = C.run_json("bench_throughput.py", args, extra_env={"OMP_WAIT_POLICY": policy})
                row = {"OMP_WAIT_POLICY": policy, "threads": threads or C.cores(), "competitor": loaded}
                if "error" in r:
                    row["error"] = r["error"]
                else:
                    n = r["networks"][network]
                    row.update(infer_ips=n["infer_ips"], train_ips=n["train_ips"],
                               numba_layer=r["threads"].get("numba_threading_layer"))
                res["runs"].append(row)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    res["load_end"] = C.load_average()
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batch 8, one repeat")
    ap.add_argument("--network", default="proposed")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-competitor", action="store_true", help="skip the runs next to a CPU-bound process")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = run(a.network, a.batch or (8 if a.quick else 16), a.repeats or (1 if a.quick else 3), not a.no_competitor)
    if a.json:
        return C.emit(res, True)
    print(f"{a.network}, batch {res['batch']}: OMP_WAIT_POLICY and threads; load {res['load_start']} -> {res['load_end']}")
    print(f"{'OMP_WAIT_POLICY':>16s}{'threads':>8s}{'competitor':>11s}{'infer img/s':>13s}{'train img/s':>13s}")
    for r in res["runs"]:
        if "error" in r:
            print(f"{r['OMP_WAIT_POLICY']:>16s}{r['threads']:>8d}{str(r['competitor']):>11s}  {r['error']}")
        else:
            print(f"{r['OMP_WAIT_POLICY']:>16s}{r['threads']:>8d}{str(r['competitor']):>11s}"
                  f"{r['infer_ips']:>13.1f}{r['train_ips']:>13.1f}")


if __name__ == "__main__":
    main()
