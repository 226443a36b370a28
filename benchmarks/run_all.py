"""Run the whole benchmark suite and write a Markdown and a JSON report.

Every part runs in fresh subprocesses with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000`` and
``OMP_WAIT_POLICY=PASSIVE``; the report states the machine, the environment, the Numba/BLAS thread counts and the
load average before and after each part (a 1-minute load above ~1.5 on this 2-core machine means other
processes shared the cores: treat absolute numbers with care; the ratios are measured side by side).

Parts: classification time per image (``bench_classify.py``), throughput (``bench_throughput.py``), peak memory
(``bench_memory.py``), PyTorch/onnxruntime on the same weights (``bench_reference.py``), conv layers vs GEMM
(``bench_layers.py --network``), thread control (``bench_threads.py``); then the paper's Table 7 (sensitivity per
million parameters) with our parameter count and, given ``--metrics``, our sensitivity, and the projected time
of the paper's full protocol on this machine.

Usage::

    python benchmarks/run_all.py                       # full run, ~10 minutes; writes benchmarks/results/
    python benchmarks/run_all.py --quick               # smaller batches, one repeat, no cold compilation
    python benchmarks/run_all.py --metrics runs/covid_ct/metrics.json --out /tmp/bench
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.reexec_with_malloc_env()

PAPER_TABLE7 = {"network": "proposed CNN (paper)", "sensitivity": 0.85, "params_m": 1.26}
PROTOCOL = {"experiments": 4, "trials": 30, "epochs": 20, "train_images": 1528, "val_images": 118}
TARGETS = {"infer_vs_best_reference": 0.8, "train_vs_torch": 0.5, "classify_all_cores_s": 0.050,
           "conv_fraction_of_gemm": 0.6}


def find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj and isinstance(obj[key], (int, float)):
            return obj[key]
        for v in obj.values():
            got = find_key(v, key)
            if got is not None:
                return got
    return None


def table7(metrics_path, params):
    rows = [dict(PAPER_TABLE7, per_m=PAPER_TABLE7["sensitivity"] / PAPER_TABLE7["params_m"])]
    note = None
    sens = None
    if metrics_path:
        try:
            sens = find_key(json.loads(Path(metrics_path).read_text()), "sensitivity")
            if sens is None:
                note = f"no 'sensitivity' in {metrics_path}"
        except (OSError, ValueError) as e:
            note = f"could not read {metrics_path}: {e}"
    else:
        note = "no --metrics given: our sensitivity not available, row skipped"
    if sens is not None:
        rows.append({"network": "proposed CNN (squeezenp)", "sensitivity": sens, "params_m": params / 1e6,
                     "per_m": sens / (params / 1e6), "source": str(metrics_path)})
    return {"rows": rows, "note": note, "params_squeezenp": params}


def protocol_projection(throughput):
    """4 experiments (the four networks) x 30 trials x 20 epochs x (1528 training + 118 validation images)."""
    p = PROTOCOL
    per_net = {}
    for name, r in throughput.items():
        epoch = p["train_images"] / r["train_ips"] + p["val_images"] / r["infer_ips"]
        per_net[name] = {"epoch_s": epoch, "trial_s": epoch * p["epochs"], "experiment_s": epoch * p["epochs"] * p["trials"]}
    total = sum(v["experiment_s"] for v in per_net.values())
    return {"protocol": p, "per_network": per_net, "total_s": total, "total_h": total / 3600,
            "note": "one process, sequential; experiment i = network i, its 30 trials x 20 epochs; data loading and "
                    "augmentation not included"}


def part(res, key, script, args):
    t = time.perf_counter()
    print(f"[{time.strftime('%H:%M:%S')}] {key}: {script} {' '.join(map(str, args))} (load {C.load_average()})",
          flush=True)
    res[key] = C.run_json(script, args)
    res[key]["wall_s"] = time.perf_counter() - t
    if "error" in res[key]:
        print(f"    failed: {res[key]['error']}", flush=True)


def targets(res):
    out = {}
    ref = res.get("reference", {}).get("networks", {}).get("proposed", {})
    rat = ref.get("ratios", {})
    inf = [rat[f]["infer"] for f in ("torch", "onnxruntime") if f in rat]
    if inf:
        v = min(inf)     # vs the faster of the two
        out["proposed inference b%s >= 0.8x the faster of PyTorch/onnxruntime" % res["reference"]["batch"]] = (
            v, v >= TARGETS["infer_vs_best_reference"])
    if "torch" in rat and "train" in rat["torch"]:
        v = rat["torch"]["train"]
        out["proposed training b%s >= 0.5x PyTorch" % res["reference"]["batch"]] = (v, v >= TARGETS["train_vs_torch"])
    cl = res.get("classify", {}).get("networks", {})
    if cl:
        n = max(res["classify"]["thread_counts"])
        worst = max(r[f"threads_{n}"]["total_s"] for r in cl.values())
        out["classification file -> probability, all cores, every network < 50 ms"] = (
            worst, worst < TARGETS["classify_all_cores_s"])
    lay = res.get("layers", {})
    if "fraction_of_gemm_rate" in lay:
        v = lay["fraction_of_gemm_rate"]
        out["proposed conv layers >= 60% of the GEMM rate (aggregate)"] = (v, v >= TARGETS["conv_fraction_of_gemm"])
    return out


def fmt_s(s):
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def markdown(res):
    L = []
    m, env = res["machine"], res["machine"]["env"]
    L.append(f"# squeezenp benchmark report ({'quick' if res['quick'] else 'full'} run)\n")
    L.append(f"- date: {res['date']}; command: `{res['command']}`")
    L.append(f"- machine: {m['cpu']}, {m['cores']} cores, SIMD: {', '.join(m['simd'])}; {m['platform']}")
    L.append(f"- software: Python {m['python']}, NumPy {m['numpy']}, Numba {m['numba']}")
    L.append("- environment of every process: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    t = res.get("throughput", {}).get("threads", {})
    L.append(f"- threads: Numba {t.get('numba_threads')} ({t.get('numba_threading_layer')}); "
             f"BLAS/OpenMP pools: {'; '.join(t.get('pools', []))}; squeezenp's conv GEMMs run on its own "
             f"{t.get('numba_threads')} threads with a 1-thread BLAS under each (squeezenp/ops/gemm.py)")
    L.append("- 1-minute load average: " + ", ".join(f"{k} {v.get('load_start', '?')}->{v.get('load_end', '?')}"
                                                     for k, v in res.items() if isinstance(v, dict) and "load_start" in v)
             + " (above ~1.5 other processes shared the 2 cores)\n")

    tg = res.get("targets", {})
    if tg:
        L.append("## Targets\n\n| target | measured | met |\n|---|---|---|")
        for k, (v, ok) in tg.items():
            L.append(f"| {k} | {fmt_s(v) if 'ms' in k else f'{v:.2f}'} | {'yes' if ok else 'NO'} |")
        L.append("")

    cl = res.get("classify", {})
    if "networks" in cl:
        L.append("## Classification time per image (file -> decoded -> preprocessed -> probability), 227x227, batch 1\n")
        L.append("Paper: 7.81 s (laptop, no GPU), 1.25 s (workstation). Best of repeats after warm-up.\n")
        L.append("| network | threads | total | decode+preprocess | network | speed-up vs 7.81 s | vs 1.25 s |")
        L.append("|---|---|---|---|---|---|---|")
        for name, r in cl["networks"].items():
            for n in cl["thread_counts"]:
                x = r[f"threads_{n}"]
                L.append(f"| {name} | {n} | {fmt_s(x['total_s'])} | {fmt_s(x['decode_preprocess_s'])} | "
                         f"{fmt_s(x['network_s'])} | {x['speedup_vs_laptop']:.0f}x | {x['speedup_vs_workstation']:.0f}x |")
        L.append("\nOne-off cost in a fresh process (import squeezenp, build, first classification; Numba compiles or "
                 "loads its kernels there). *warm cache*: the on-disk Numba cache as found; *cold*: `NUMBA_CACHE_DIR` "
                 "set to an empty folder (full compilation).\n")
        L.append("| network | cache | import | first classification | second |\n|---|---|---|---|---|")
        for name, r in cl["networks"].items():
            for k, lab in (("first_call_warm_cache", "warm"), ("first_call_cold_cache", "cold")):
                f = r.get(k)
                if f and "error" not in f:
                    L.append(f"| {name} | {lab} | {fmt_s(f['import_s'])} | {fmt_s(f['first_classify_s'])} | "
                             f"{fmt_s(f['second_classify_s'])} |")
        L.append("")

    th = res.get("throughput", {})
    if "networks" in th:
        L.append(f"## Throughput, batch {th['batch']} (images/s, all cores)\n")
        L.append("| network | parameters | inference | training (fwd + bwd + SGDM) |\n|---|---|---|---|")
        for name, r in th["networks"].items():
            L.append(f"| {name} | {r['params']:,} | {r['infer_ips']:.1f} | {r['train_ips']:.1f} |")
        L.append("")

    ref = res.get("reference", {})
    if "networks" in ref:
        L.append(f"## Same network in PyTorch {res.get('torch_version', '')} and onnxruntime, same weights "
                 f"(batch {ref['batch']})\n")
        if ref.get("skipped"):
            L.append("Skipped: " + "; ".join(f"{k}: {v}" for k, v in ref["skipped"].items()) + "\n")
        L.append("PyTorch: channels_last, `torch.inference_mode()`, `set_num_threads(cores)`; onnxruntime: "
                 "`export_onnx` file, all graph optimisations, intra-op threads = cores. Ratio > 1: squeezenp faster.\n")
        L.append("| network | framework | inference img/s | training img/s | batch-1 forward | max abs diff of logits | "
                 "squeezenp/them inference | training | batch 1 |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for name, r in ref["networks"].items():
            for fw in ("squeezenp", "torch", "onnxruntime"):
                o = r.get(fw)
                if not o:
                    continue
                if "error" in o:
                    L.append(f"| {name} | {fw} | failed: {o['error']} | | | | | | |")
                    continue
                q = r["ratios"].get(fw, {})
                tr = f"{o['train_ips']:.1f}" if o.get("train_ips") else "-"
                d = f"{o['max_abs_diff_logits']:.1e}" if "max_abs_diff_logits" in o else "(reference)"
                L.append(f"| {name} | {fw} | {o['infer_ips']:.1f} | {tr} | {fmt_s(o['latency_b1_s'])} | {d} | "
                         f"{q.get('infer', 1):.2f} | {q['train']:.2f} | {q.get('latency_b1', 1):.2f} |"
                         if q and "train" in q else
                         f"| {name} | {fw} | {o['infer_ips']:.1f} | {tr} | {fmt_s(o['latency_b1_s'])} | {d} | "
                         f"{q.get('infer', 1):.2f} | - | {q.get('latency_b1', 1):.2f} |")
        L.append("")

    mem = res.get("memory", {})
    if "networks" in mem:
        L.append(f"## Peak memory (MiB; each in a fresh subprocess)\n")
        L.append(f"Idle process after `import squeezenp`: {mem['idle'].get('maxrss_mib', float('nan')):.0f} MiB ru_maxrss. "
                 "tracemalloc: peak above what existed before the measured call (after one warm-up call); "
                 "workspaces: the layers' reused im2col buffers, held between calls.\n")
        L.append(f"| network | training b{mem['train_batch']}: tracemalloc | ru_maxrss | workspaces | "
                 "inference b1: tracemalloc | ru_maxrss |\n|---|---|---|---|---|---|")
        for name, r in mem["networks"].items():
            t_, i_ = r["train"], r["infer_b1"]
            if "error" in t_ or "error" in i_:
                L.append(f"| {name} | failed | | | | |")
                continue
            L.append(f"| {name} | {t_['tracemalloc_peak_mib']:.0f} | {t_['maxrss_mib']:.0f} | {t_['workspace_mib']:.0f} | "
                     f"{i_['tracemalloc_peak_mib']:.1f} | {i_['maxrss_mib']:.0f} |")
        L.append("")

    lay = res.get("layers", {})
    if "layers" in lay:
        L.append(f"## Conv layers vs NumPy's float32 GEMM ({lay['network']}, batch {lay['batch']}, evaluation forward)\n")
        L.append(f"Aggregate over the {len(lay['layers'])} Conv2d layers: {lay['conv_gflops_per_s']:.1f} GFLOP/s against "
                 f"{lay['gemm_gflops_per_s']:.1f} GFLOP/s for bare GEMMs of the same sizes (the faster of BLAS on all "
                 f"cores and on 1 thread) = **{100 * lay['fraction_of_gemm_rate']:.0f}%**. Per layer: "
                 "`python benchmarks/bench_layers.py --network proposed`.\n")

    thr = res.get("threads_policy", {})
    if "runs" in thr:
        L.append(f"## Thread control: OMP_WAIT_POLICY ({thr['network']}, batch {thr['batch']})\n")
        L.append("| OMP_WAIT_POLICY | threads | next to a CPU-bound process | inference img/s | training img/s |")
        L.append("|---|---|---|---|---|")
        for r in thr["runs"]:
            if "error" in r:
                continue
            L.append(f"| {r['OMP_WAIT_POLICY']} | {r['threads']} | {'yes' if r['competitor'] else 'no'} | "
                     f"{r['infer_ips']:.1f} | {r['train_ips']:.1f} |")
        L.append("")

    t7 = res.get("table7")
    if t7:
        L.append("## Table 7 recomputed: sensitivity per million parameters\n")
        L.append("| network | sensitivity | parameters (M) | sensitivity / M params |\n|---|---|---|---|")
        for r in t7["rows"]:
            L.append(f"| {r['network']} | {r['sensitivity']:.3f} | {r['params_m']:.3f} | {r['per_m']:.3f} |")
        L.append(f"\nsqueezenp's proposed CNN has {t7['params_squeezenp']:,} parameters."
                 + (f" Note: {t7['note']}." if t7.get("note") else "") + "\n")
    pp = res.get("projection")
    if pp:
        p = pp["protocol"]
        L.append(f"## Projected time of the paper's full protocol on this machine\n")
        L.append(f"{p['experiments']} experiments (one per network) x {p['trials']} trials x {p['epochs']} epochs x "
                 f"({p['train_images']} training images + validation of {p['val_images']}), from the measured "
                 f"training and inference throughput above; {pp['note']}.\n")
        L.append("| network | epoch | trial (20 epochs) | experiment (30 trials) |\n|---|---|---|---|")
        for name, v in pp["per_network"].items():
            L.append(f"| {name} | {v['epoch_s']:.0f} s | {v['trial_s'] / 60:.1f} min | {v['experiment_s'] / 3600:.1f} h |")
        L.append(f"\n**Total: {pp['total_h']:.1f} h** on one {res['machine']['cores']}-core process.\n")
    return "\n".join(L) + "\n"


def _portable(arg: str) -> str:
    """An absolute path in the recorded command, written relative to the repository (no machine's paths)."""
    return os.path.relpath(arg, C.REPO) if os.path.isabs(arg) else arg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches, one repeat, no cold-cache compilation")
    ap.add_argument("--metrics", default=None, help="metrics.json with our test sensitivity (for Table 7)")
    ap.add_argument("--out", default=str(C.REPO / "benchmarks" / "results"), help="folder for report.md/report.json")
    ap.add_argument("--skip", nargs="*", default=[], choices=["classify", "throughput", "memory", "reference",
                                                             "layers", "threads_policy"])
    a = ap.parse_args(argv)
    q = ["--quick"] if a.quick else []
    machine = C.machine_info()
    child_env = C.bench_env()          # what every benchmark subprocess runs with
    machine["env"] = {k: child_env.get(k) for k in machine["env"]}
    res = {"quick": a.quick, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine,
           "command": "python benchmarks/run_all.py " + " ".join(map(_portable, sys.argv[1:])),
           "load_first": C.load_average()}
    plan = [("classify", "bench_classify.py", q), ("throughput", "bench_throughput.py", q),
            ("reference", "bench_reference.py", q + (["--networks", "proposed"] if a.quick else [])),
            ("layers", "bench_layers.py", ["--network", "proposed"] + q),
            ("memory", "bench_memory.py", q), ("threads_policy", "bench_threads.py", q)]
    for key, script, args in plan:
        if key not in a.skip:
            part(res, key, script, args)
    try:
        import torch
        res["torch_version"] = torch.__version__
    except ImportError:
        pass
    th = res.get("throughput", {}).get("networks", {})
    if "proposed" in th:
        res["table7"] = table7(a.metrics, th["proposed"]["params"])
    if th:
        res["projection"] = protocol_projection(th)
    res["targets"] = targets(res)
    res["load_last"] = C.load_average()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(res, indent=1))
    md = markdown(res)
    (out / "report.md").write_text(md)
    print(md)
    print(f"written {out / 'report.md'} and {out / 'report.json'}")


if __name__ == "__main__":
    main()
