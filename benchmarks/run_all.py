"""Run the whole benchmark suite and write a Markdown and a JSON report, with the speed targets checked.

The comparison protocol (``bench_reference.py``): every (library, network) runs in its own fresh process, the
libraries alternated over 3 rounds; in each process the median of 5 timed calls after warm-up; the result is the
best of the three medians. Every process runs with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000``,
``OMP_WAIT_POLICY=PASSIVE`` and 2 threads (``--threads``), on 227x227 float32 inputs. Tuned PyTorch means
``channels_last`` + ``torch.inference_mode()``; onnxruntime runs the file ``export_onnx`` writes. squeezenp is also
timed once with ``import torch`` in the same process (two OpenMP runtimes) and once on one thread (for the
cluster projection).

Parts: the comparison table (``bench_reference.py``: batch-32 inference and training step, batch-1 forward, four
networks), file -> P(COVID) per image (``bench_classify.py``), conv layers vs GEMM (``bench_layers.py --network``),
Winograd vs im2col per expand3x3 shape (``bench_winograd.py``), throughput (``bench_throughput.py``), peak memory
(``bench_memory.py``), thread control (``bench_threads.py``); then the paper's Table 7 (sensitivity per million
parameters) and the projected time of the paper's protocol (``--preset paper``) on this machine and on a Dask
cluster of 8 and 32 one-thread workers.

Instruction sets: by default everything runs as the machine allows (pass ``native``); on a machine with AVX-512
the comparison parts (reference, classify, layers) then run a second time restricted to AVX2 (pass ``avx2``),
and both are reported. ``--avx2`` runs only the restricted pass, ``--native`` only the unrestricted one.
Restricted means, in the environment of every benchmark process (``AVX2_ENV``): ``OPENBLAS_CORETYPE=Haswell``
(OpenBLAS's AVX2 kernels), ``NUMBA_CPU_NAME=haswell`` with ``NUMBA_CPU_FEATURES`` = Haswell's features (the name
alone leaves the host's AVX-512 features on and Numba emits zmm code; ``_common.numba_emits_avx512`` checks),
``ATEN_CPU_CAPABILITY=avx2``, ``ONEDNN_MAX_CPU_ISA=AVX2`` and ``MKL_ENABLE_INSTRUCTIONS=AVX2`` (PyTorch: its
convolutions run in oneDNN, which ignores ATen's setting); onnxruntime has no such switch and keeps its best
kernels (the comparison is then conservative for squeezenp). The report states the CPU flags (AVX2, AVX-512F),
per pass the BLAS core type that squeezenp's processes ran (threadpoolctl), the Numba CPU target and whether its
code uses AVX-512, PyTorch's CPU capability and oneDNN limit, the thread counts, which algorithm ran the 3x3
convolutions and the load average before and after each part, and one line per target: the measured ratio and
met / not met.

``--env KEY=VALUE`` (repeatable) is passed to every benchmark process, for example ``--env
SQUEEZENP_CONV3X3=im2col`` to force the 3x3 algorithm where the convolution dispatch reads it; the report states
the setting and what ran.

Usage::

    python benchmarks/run_all.py                       # full run (both passes: about 20-30 min on 2 quiet cores)
    python benchmarks/run_all.py --quick               # batch 8, one round, 3 calls, no cold compilation (~5 min)
    python benchmarks/run_all.py --avx2                # only the AVX2-restricted pass
    python benchmarks/run_all.py --metrics runs/covid_ct/metrics.json --out /tmp/bench
    python benchmarks/run_all.py --quick --networks squeezenet --size 64 --batch 2 --rounds 1 --calls 1 \\
        --skip classify layers winograd throughput memory threads_policy --out /tmp/bench    # smoke test
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
PROTOCOL = {"experiments": 4, "trials": 30, "epochs": 20, "train_images": 1528, "val_images": 118, "size": 227}
TARGETS = {"proposed_infer_vs_best": 1.3, "proposed_train_vs_torch": 1.3, "infer_vs_best": 1.0,
           "train_vs_torch": 1.0, "latency_b1_vs_onnxruntime": 1.0, "png_to_probability_s": 0.008,
           "png_threads": 2, "conv_fraction_of_gemm": 0.7}
# Haswell's instruction set for Numba: with NUMBA_CPU_NAME alone Numba still hands LLVM the host's feature list
# (AVX-512 included) and emits zmm code; these are the features of LLVM's "haswell" model, set explicitly.
HASWELL_FEATURES = ("+64bit,+aes,+avx,+avx2,+bmi,+bmi2,+cmov,+crc32,+cx16,+cx8,+f16c,+fma,+fsgsbase,+fxsr,+invpcid,"
                    "+lzcnt,+mmx,+movbe,+pclmul,+popcnt,+rdrnd,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,"
                    "+xsaveopt")
AVX2_ENV = {"OPENBLAS_CORETYPE": "Haswell",                       # OpenBLAS: its Haswell (AVX2) kernels
            "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": HASWELL_FEATURES,     # Numba: AVX2 code
            "ATEN_CPU_CAPABILITY": "avx2",                        # PyTorch's own kernels
            "ONEDNN_MAX_CPU_ISA": "AVX2",                         # PyTorch's oneDNN convolutions
            "MKL_ENABLE_INSTRUCTIONS": "AVX2"}                    # PyTorch's MKL, if it calls it
CLUSTER_WORKERS = (8, 32)
FRAMEWORKS = ("squeezenp", "torch", "onnxruntime")
PARTS = ("reference", "classify", "layers", "winograd", "throughput", "memory", "threads_policy")
COMPARISON_PARTS = ("reference", "classify", "layers")      # run in every pass; the others in the first only


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
                note = f"no 'sensitivity' in {_portable(metrics_path)}"
        except (OSError, ValueError) as e:
            note = f"could not read {_portable(metrics_path)}: {type(e).__name__}"
    else:
        note = "no --metrics given: our sensitivity not available, row skipped"
    if sens is not None:
        rows.append({"network": "proposed CNN (squeezenp)", "sensitivity": sens, "params_m": params / 1e6,
                     "per_m": sens / (params / 1e6), "source": _portable(metrics_path)})
    return {"rows": rows, "note": note, "params_squeezenp": params}


def lpt_makespan(durations, workers):
    """Longest-processing-time-first list scheduling of independent jobs on ``workers`` identical workers."""
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        i = loads.index(min(loads))
        loads[i] += d
    return max(loads)


def protocol_projection(reference):
    """The paper's protocol (``--preset paper``): 4 experiments (the four networks) x 30 trials x 20 epochs x
    (1528 training + 118 validation images), from squeezenp's measured training and inference throughput: on this
    machine (one process, all its threads, sequential) and on a Dask cluster of 8 and 32 one-thread workers (each
    trial one job on one worker, at the one-thread throughput measured here; longest first; no data loading,
    no communication). Meaningful only from a run at 227x227 and batch 32 (the report says what it used)."""
    p = PROTOCOL
    per_net, jobs = {}, []
    for name, r in reference.get("networks", {}).items():
        ours, one = r.get("squeezenp", {}), r.get("squeezenp_1thread", {})
        if "error" in ours or not ours.get("train_ips"):
            continue
        epoch = p["train_images"] / ours["train_ips"] + p["val_images"] / ours["infer_ips"]
        per_net[name] = {"epoch_s": epoch, "trial_s": epoch * p["epochs"],
                         "experiment_s": epoch * p["epochs"] * p["trials"]}
        if one and "error" not in one and one.get("train_ips"):
            e1 = p["train_images"] / one["train_ips"] + p["val_images"] / one["infer_ips"]
            per_net[name]["trial_1thread_s"] = e1 * p["epochs"]
            jobs += [e1 * p["epochs"]] * p["trials"]
    total = sum(v["experiment_s"] for v in per_net.values())
    complete = len(per_net) == p["experiments"] and len(jobs) == p["trials"] * len(per_net)
    cluster = {str(w): lpt_makespan(jobs, w) / 3600 for w in CLUSTER_WORKERS} if complete else {}
    return {"protocol": p, "per_network": per_net, "total_s": total, "total_h": total / 3600,
            "complete": complete, "measured_at": {"size": reference.get("size"), "batch": reference.get("batch"),
                                                  "threads": reference.get("threads_requested")},
            "cluster_h": cluster,
            "note": "experiment i = network i, its 30 trials x 20 epochs; data loading and augmentation not included"}


def part(res, key, script, args, extra_env=None):
    load0 = C.load_average()
    t = time.perf_counter()
    print(f"[{time.strftime('%H:%M:%S')}] {key}: {script} {' '.join(map(str, args))} (load {load0})", flush=True)
    res[key] = C.run_json(script, args, extra_env=extra_env, timeout=3 * 3600)
    res[key]["wall_s"] = time.perf_counter() - t
    res[key]["load_before"], res[key]["load_after"] = load0, C.load_average()
    if "error" in res[key]:
        print(f"    failed: {res[key]['error']}", flush=True)


def targets(res):
    """Every speed target that the pass measured: ``{description: [value, met]}``; ratios > 1: squeezenp faster."""
    out = {}
    ref = res.get("reference", {})
    b = ref.get("batch")
    for name, r in ref.get("networks", {}).items():
        rat = r.get("ratios", {})
        inf = {f: rat[f]["infer"] for f in ("torch", "onnxruntime") if f in rat}
        big = name == "proposed"
        need_i = TARGETS["proposed_infer_vs_best" if big else "infer_vs_best"]
        need_t = TARGETS["proposed_train_vs_torch" if big else "train_vs_torch"]
        if inf:
            v = min(inf.values())     # against the faster of the two
            out[f"{name}: batch-{b} inference >= {need_i}x the faster of tuned PyTorch and onnxruntime"] = [
                v, v >= need_i]
        if "train" in rat.get("torch", {}):
            v = rat["torch"]["train"]
            out[f"{name}: batch-{b} training step >= {need_t}x tuned PyTorch"] = [v, v >= need_t]
        if "onnxruntime" in rat:
            v = rat["onnxruntime"]["latency_b1"]
            out[f"{name}: batch-1 forward >= 1.0x onnxruntime (same exported model)"] = [
                v, v >= TARGETS["latency_b1_vs_onnxruntime"]]
    cl = res.get("classify", {})
    if cl.get("networks"):
        n = max(cl["thread_counts"])
        for name, r in cl["networks"].items():
            if f"threads_{n}" in r:
                v = r[f"threads_{n}"]["total_s"]
                out[f"{name}: 512x512 PNG -> P(COVID) on {n} threads <= 8 ms (decode and resize included)"] = [
                    v, v <= TARGETS["png_to_probability_s"]]
    lay = res.get("layers", {})
    if "fraction_of_gemm_rate" in lay:
        v = lay["fraction_of_gemm_rate"]
        out[f"{lay.get('network')}: conv layers together >= 70% of the GEMM rate (Winograd layers at their "
            f"direct-conv FLOPs)"] = [v, v >= TARGETS["conv_fraction_of_gemm"]]
    return out


def fmt_s(s):
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_target(desc, v):
    if "PNG" in desc:
        return fmt_s(v)
    if "GEMM rate" in desc:
        return f"{100 * v:.0f}%"
    return f"{v:.2f}x"


def comparison_table(ref):
    """Per network: batch-B inference, batch-1 forward, batch-B training step, each library; ratio > 1: squeezenp
    faster than the fastest of the others (training: PyTorch only)."""
    L = ["| network | measure | squeezenp | PyTorch (tuned) | onnxruntime | squeezenp vs the fastest other |",
         "|---|---|---|---|---|---|"]
    for name, r in ref.get("networks", {}).items():
        cell = {fw: r.get(fw) or {} for fw in FRAMEWORKS}
        for key, label, unit in (("infer_ips", f"batch-{ref['batch']} inference", "img/s"),
                                 ("latency_b1_s", "batch-1 forward", "ms"),
                                 ("train_ips", f"batch-{ref['batch']} training step", "img/s")):
            vals = {fw: (c.get(key) if "error" not in c else None) for fw, c in cell.items()}
            if vals["squeezenp"] is None:
                continue
            shown = {fw: ("failed" if "error" in cell[fw] else "-") if v is None else
                     (f"{v * 1e3:.1f} ms" if unit == "ms" else f"{v:.1f} img/s") for fw, v in vals.items()}
            others = [v for fw, v in vals.items() if fw != "squeezenp" and v is not None]
            if others:
                best = min(others) if unit == "ms" else max(others)
                ratio = best / vals["squeezenp"] if unit == "ms" else vals["squeezenp"] / best
                rs = f"{ratio:.2f}x"
            else:
                rs = "-"
            L.append(f"| {name} | {label} | {shown['squeezenp']} | {shown['torch']} | {shown['onnxruntime']} | {rs} |")
    return L


def pass_facts(pres):
    """What squeezenp, PyTorch and onnxruntime processes of one pass reported about threads, BLAS and kernels."""
    facts = {"squeezenp": None, "torch": None, "onnxruntime": None, "conv3x3": {}}
    for name, r in pres.get("reference", {}).get("networks", {}).items():
        for fw in FRAMEWORKS:
            o = r.get(fw) or {}
            if "error" not in o and o.get("threads") and facts[fw] is None:
                facts[fw] = o["threads"]
        o = r.get("squeezenp") or {}
        if "conv3x3" in o:
            facts["conv3x3"][name] = o["conv3x3"]
    if facts["squeezenp"] is None:
        for key in ("classify", "throughput", "layers"):
            if pres.get(key, {}).get("threads"):
                facts["squeezenp"] = pres[key]["threads"]
                break
    return facts


def blas_core_types(threads) -> list:
    """The BLAS core types (threadpoolctl's ``architecture``) in a thread_info's pool list."""
    out = []
    for p in (threads or {}).get("pools", []):
        if p.startswith("blas:"):
            core = p.split()[-2] if len(p.split()) >= 3 else "?"
            if core not in out:
                out.append(core)
    return out


def env_text(env):
    return ", ".join(f"{k}={'<the haswell feature list>' if v == HASWELL_FEATURES else v}" for k, v in env.items())


def header(res):
    m, env = res["machine"], res["machine"]["env"]
    fl = res["cpu_flags"]
    L = [f"# squeezenp benchmark report ({'quick' if res['quick'] else 'full'} run)\n",
         f"- date: {res['date']}; command: `{res['command']}`",
         f"- machine: {m['cpu']}, {m['cores']} cores; {m['platform']}",
         f"- CPU flags: AVX2 {'present' if fl['avx2'] else 'ABSENT'}, AVX-512F "
         f"{'present' if fl['avx512f'] else 'absent'} (all SIMD flags seen: {', '.join(m['simd'])})",
         f"- software: Python {m['python']}, NumPy {m['numpy']}, Numba {m['numba']}"
         + (f", PyTorch {res['torch_version']}" if res.get("torch_version") else "")
         + (f", onnxruntime {res['onnxruntime_version']}" if res.get("onnxruntime_version") else ""),
         "- environment of every process: " + ", ".join(f"{k}={v}" for k, v in env.items() if v is not None),
         f"- threads of every library: {res['threads']} (squeezenp: Numba + BLAS; PyTorch: `set_num_threads`; "
         "onnxruntime: `intra_op_num_threads`)",
         f"- passes: {', '.join(res['passes'])} (avx2 = {env_text(AVX2_ENV)}; "
         "onnxruntime cannot be restricted and keeps its best kernels)",
         f"- 1-minute load average at the start {res.get('load_first')}, at the end {res.get('load_last')}\n"]
    return L


def markdown(res):
    L = header(res)
    for isa, pres in res["passes"].items():
        L += markdown_pass(res, pres, isa)
    return "\n".join(L) + "\n"


def markdown_pass(top, res, isa):
    L = [f"# Pass: {isa}" + (" (restricted to AVX2: " + env_text(AVX2_ENV) + ")"
                             if isa == "avx2" else " (as the machine allows)") + "\n"]
    f = pass_facts(res)
    sq, tt, ox = f["squeezenp"] or {}, f["torch"] or {}, f["onnxruntime"] or {}
    L.append(f"- BLAS core type squeezenp ran (threadpoolctl): **{', '.join(blas_core_types(sq)) or 'unknown'}**; "
             f"pools: {'; '.join(sq.get('pools', [])) or 'unknown'}")
    avx512 = {True: "yes", False: "no", None: "unknown"}[sq.get("numba_avx512_code")]
    L.append(f"- squeezenp: Numba {sq.get('numba_threads')} threads ({sq.get('numba_threading_layer')}), CPU target "
             f"{sq.get('numba_cpu')}, emits AVX-512 code: **{avx512}**"
             + (" (NOT restricted to AVX2)" if isa == "avx2" and sq.get("numba_avx512_code") else "")
             + "; its conv GEMMs run on its own threads with a one-thread BLAS under each (`squeezenp/ops/gemm.py`)")
    if tt:
        L.append(f"- PyTorch: {tt.get('torch_threads')} threads (inter-op {tt.get('interop')}), ATen CPU capability "
                 f"{tt.get('cpu_capability')}, oneDNN ISA limit {tt.get('onednn_max_cpu_isa', 'none')}")
    if ox:
        L.append(f"- onnxruntime: intra-op threads {ox.get('intra_op_num_threads')}")
    modes = {}
    for name, c in f["conv3x3"].items():
        for measure, m in c.items():
            modes.setdefault((m["env"], m["ran"]), []).append(f"{name} {measure}")
    if modes:
        L.append("- 3x3 convolutions: " + "; ".join(
            f"SQUEEZENP_CONV3X3={env}, ran {ran} ({len(where)} measure(s))" for (env, ran), where in modes.items()))
    L.append("- 1-minute load average before -> after each part: " + ", ".join(
        f"{k} {v.get('load_before', '?')} -> {v.get('load_after', '?')}" for k, v in res.items()
        if isinstance(v, dict) and "load_before" in v)
        + " (above the thread count: other processes shared the cores)\n")

    tg = res.get("targets", {})
    if tg:
        L.append("## Targets\n\n| target | measured | met |\n|---|---|---|")
        for k, (v, ok) in tg.items():
            L.append(f"| {k} | {fmt_target(k, v)} | {'met' if ok else 'NOT MET'} |")
        L.append("")

    ref = res.get("reference", {})
    if "networks" in ref:
        L.append(f"## The comparison table ({ref['size']}x{ref['size']}; {ref.get('protocol', '')})\n")
        if ref.get("skipped"):
            L.append("Skipped: " + "; ".join(f"{k}: {v}" for k, v in ref["skipped"].items()) + "\n")
        L += comparison_table(ref)
        L.append("\nTuned PyTorch: channels_last, `torch.inference_mode()`; training `SGD(momentum=0.9, "
                 "weight_decay=1e-4)` + `cross_entropy`. onnxruntime: the `export_onnx` file, all graph "
                 "optimisations. Max abs difference of the logits (batch 2) against squeezenp's: " + "; ".join(
                     f"{name} PyTorch {r['torch']['max_abs_diff_logits']:.1e}, onnxruntime "
                     f"{r['onnxruntime']['max_abs_diff_logits']:.1e}" for name, r in ref["networks"].items()
                     if "max_abs_diff_logits" in (r.get("torch") or {})
                     and "max_abs_diff_logits" in (r.get("onnxruntime") or {})) + ".")
        for name, r in ref["networks"].items():
            same, own = r.get("squeezenp_with_torch"), r.get("squeezenp")
            if same and own and "error" not in same and "error" not in own:
                L.append(f"\nSame process: with `import torch` before squeezenp (two OpenMP runtimes), {name}'s "
                         f"batch-{ref['batch']} inference ran {same['infer_ips']:.1f} img/s and training "
                         f"{same['train_ips']:.1f} img/s, batch 1 {fmt_s(same['latency_b1_s'])} (own process: "
                         f"{own['infer_ips']:.1f} / {own['train_ips']:.1f} img/s, {fmt_s(own['latency_b1_s'])}; "
                         "one round).")
        fails = [f"{name} {fw}: {r[fw]['error']}" for name, r in ref["networks"].items() for fw in r
                 if isinstance(r[fw], dict) and "error" in r[fw]]
        if fails:
            L.append("\nFailed: " + "; ".join(fails))
        L.append("")
    elif "error" in ref:
        L.append(f"## The comparison table\n\nFailed: {ref['error']}\n")

    cl = res.get("classify", {})
    if "networks" in cl:
        L.append(f"## File -> P(COVID) per image ({cl['size']}x{cl['size']}, batch 1)\n")
        L.append("The clock starts at the path of a 512x512 8-bit PNG and stops at the probabilities (decode, "
                 "grayscale, bilinear resize, normalisation, forward, softmax). Paper: 7.81 s (laptop, no GPU), "
                 "1.25 s (workstation). Best of repeats after warm-up.\n")
        L.append("| network | threads | total | decode+preprocess | network | speed-up vs 7.81 s | vs 1.25 s |")
        L.append("|---|---|---|---|---|---|---|")
        for name, r in cl["networks"].items():
            for n in cl["thread_counts"]:
                x = r[f"threads_{n}"]
                L.append(f"| {name} | {n} | {fmt_s(x['total_s'])} | {fmt_s(x['decode_preprocess_s'])} | "
                         f"{fmt_s(x['network_s'])} | {x['speedup_vs_laptop']:.0f}x | "
                         f"{x['speedup_vs_workstation']:.0f}x |")
        first = [(name, k, r[k]) for name, r in cl["networks"].items()
                 for k in ("first_call_warm_cache", "first_call_cold_cache") if r.get(k) and "error" not in r[k]]
        if first:
            L.append("\nOne-off cost in a fresh process (import squeezenp, build, first classification; Numba compiles "
                     "or loads its kernels there). *warm*: the on-disk Numba cache as found; *cold*: "
                     "`NUMBA_CACHE_DIR` set to an empty folder (full compilation).\n")
            L.append("| network | cache | import | first classification | second |\n|---|---|---|---|---|")
            for name, k, x in first:
                L.append(f"| {name} | {'warm' if 'warm' in k else 'cold'} | {fmt_s(x['import_s'])} | "
                         f"{fmt_s(x['first_classify_s'])} | {fmt_s(x['second_classify_s'])} |")
        L.append("")

    lay = res.get("layers", {})
    if "layers" in lay:
        algos = {}
        for r in lay["layers"]:
            algos[r.get("algorithm", "im2col")] = algos.get(r.get("algorithm", "im2col"), 0) + 1
        L.append(f"## Conv layers vs NumPy's float32 GEMM ({lay['network']}, batch {lay['batch']}, evaluation "
                 "forward)\n")
        L.append(f"Aggregate over the {len(lay['layers'])} Conv2d layers ("
                 + ", ".join(f"{v} by {k}" for k, v in algos.items())
                 + f"): {lay['conv_gflops_per_s']:.1f} GFLOP/s, counted at direct-convolution FLOPs, against "
                 f"{lay['gemm_gflops_per_s']:.1f} GFLOP/s for bare GEMMs of the same sizes (the faster of BLAS on "
                 f"all threads and on 1) = **{100 * lay['fraction_of_gemm_rate']:.0f}%**. Per layer: "
                 "`report.json` or `python benchmarks/bench_layers.py --network proposed`.\n")

    if isa == next(iter(top["passes"])):
        L += first_pass_sections(top, res)
    return L


def first_pass_sections(top, res):
    L = []
    th = res.get("throughput", {})
    if "networks" in th:
        L.append(f"## Throughput, batch {th['batch']} (images/s, {top['threads']} threads, one process for all "
                 "networks)\n")
        L.append("| network | parameters | inference | training (fwd + bwd + SGDM) |\n|---|---|---|---|")
        for name, r in th["networks"].items():
            L.append(f"| {name} | {r['params']:,} | {r['infer_ips']:.1f} | {r['train_ips']:.1f} |")
        L.append("")

    mem = res.get("memory", {})
    if "networks" in mem:
        L.append("## Peak memory (MiB; each in a fresh subprocess)\n")
        L.append(f"Idle process after `import squeezenp`: {mem['idle'].get('maxrss_mib', float('nan')):.0f} MiB "
                 "ru_maxrss. tracemalloc: peak above what existed before the measured call (after one warm-up call); "
                 "workspaces: the layers' reused buffers, held between calls.\n")
        L.append(f"| network | training b{mem['train_batch']}: tracemalloc | ru_maxrss | workspaces | "
                 "inference b1: tracemalloc | ru_maxrss |\n|---|---|---|---|---|---|")
        for name, r in mem["networks"].items():
            t_, i_ = r["train"], r["infer_b1"]
            if "error" in t_ or "error" in i_:
                L.append(f"| {name} | failed | | | | |")
                continue
            L.append(f"| {name} | {t_['tracemalloc_peak_mib']:.0f} | {t_['maxrss_mib']:.0f} | "
                     f"{t_['workspace_mib']:.0f} | {i_['tracemalloc_peak_mib']:.1f} | {i_['maxrss_mib']:.0f} |")
        L.append("")

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

    wg = res.get("winograd", {})
    if "rows" in wg:
        L.append("## Winograd F(2x2, 3x3) vs im2col, every expand3x3 shape (`benchmarks/bench_winograd.py`)\n")
        L.append("| input | fires | C -> K | map | batch | mode | im2col ms | Winograd ms | speed-up | "
                 "float32 max abs error im2col / Winograd |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in wg["rows"]:
            e = r["max_abs_err_f32"]
            L.append(f"| {r['input']} | {', '.join(r['fires'])} | {r['C']} -> {r['K']} | {r['H']}x{r['W']} | "
                     f"{r['batch']} | {r['mode']} | {r['im2col_ms']:.2f} | {r['winograd_ms']:.2f} | "
                     f"{r['speedup']:.2f}x | {e['im2col']:.1e} / {e['winograd']:.1e} |")
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
    if pp and pp["per_network"]:
        p, at = pp["protocol"], pp["measured_at"]
        L.append("## Projected time of the paper's protocol (`--preset paper`)\n")
        warn = "" if (at["size"], at["batch"]) == (p["size"], 32) else (
            f" **Measured at {at['size']}x{at['size']}, batch {at['batch']}, not the protocol's 227x227 batch 32: "
            "the figures below do not project the protocol.**")
        L.append(f"{p['experiments']} experiments (one per network) x {p['trials']} trials x {p['epochs']} epochs "
                 f"x ({p['train_images']} training images + validation of {p['val_images']}) at "
                 f"{p['size']}x{p['size']}, from squeezenp's batch-{at['batch']} training and inference throughput "
                 f"in the comparison table ({at['threads']} threads); {pp['note']}.{warn}\n")
        L.append("| network | epoch | trial (20 epochs) | experiment (30 trials) | trial on one thread |\n"
                 "|---|---|---|---|---|")
        for name, v in pp["per_network"].items():
            one = f"{v['trial_1thread_s'] / 60:.1f} min" if "trial_1thread_s" in v else "-"
            L.append(f"| {name} | {v['epoch_s']:.0f} s | {v['trial_s'] / 60:.1f} min | "
                     f"{v['experiment_s'] / 3600:.1f} h | {one} |")
        L.append(f"\n**Total: {pp['total_h']:.1f} h** in one {at['threads']}-thread process"
                 + ("" if pp["complete"] else " (not every network measured: partial)") + ".")
        if pp.get("cluster_h"):
            L.append("Projected on a Dask cluster of one-thread workers (each trial one job at the one-thread "
                     "throughput measured here, longest first; no data loading or communication): "
                     + ", ".join(f"**{w} workers {h:.1f} h**" for w, h in pp["cluster_h"].items()) + ".")
        L.append("")
    return L


def _portable(arg: str) -> str:
    """An absolute path in the recorded command, written relative to the repository (no machine's paths)."""
    return os.path.relpath(arg, C.REPO) if os.path.isabs(str(arg)) else str(arg)


def parse_env(items):
    env = {}
    for it in items or []:
        k, sep, v = it.partition("=")
        if not sep or not k:
            raise SystemExit(f"--env expects KEY=VALUE, got {it!r}")
        env[k] = v
    return env


def plan_for(a, first_pass):
    """(key, script, args) for every part of one pass, from the command-line options."""
    q = ["--quick"] if a.quick else []
    nets = ["--networks", *a.networks] if a.networks else []
    size = ["--size", a.size] if a.size else []
    th = ["--threads", a.threads]
    ref = q + nets + size + th + (["--batch", a.batch] if a.batch else []) \
        + (["--rounds", a.rounds] if a.rounds else []) + (["--calls", a.calls] if a.calls else []) \
        + (["--no-extras"] if a.no_extras else [])
    if a.quick and not a.networks:
        ref += ["--networks", *C.networks_all()]     # every network, at the quick batch
    classify = q + nets + size + th + ([] if first_pass and not a.quick else ["--no-cold"]) \
        + (["--repeats", a.calls] if a.calls else [])
    layer_net = "proposed" if not a.networks or "proposed" in a.networks else a.networks[0]
    layers = ["--network", layer_net] + q + size + th + (["--batch", a.batch or (8 if a.quick else 32)]) \
        + (["--repeat", a.calls] if a.calls else [])
    plan = [("reference", "bench_reference.py", ref), ("classify", "bench_classify.py", classify),
            ("layers", "bench_layers.py", layers)]
    if first_pass:
        b = ["--batch", a.batch] if a.batch else []
        plan += [("winograd", "bench_winograd.py", q + (["--sizes", a.size] if a.size else [])),
                 ("throughput", "bench_throughput.py", q + nets + size + b + th),
                 ("memory", "bench_memory.py", q + nets + size + b),
                 ("threads_policy", "bench_threads.py", q + b)]
    return [(k, s, x) for k, s, x in plan if k not in a.skip]


def versions():
    import importlib.util
    out = {}
    for mod, key in (("torch", "torch_version"), ("onnxruntime", "onnxruntime_version")):
        if importlib.util.find_spec(mod) is not None:
            try:
                from importlib.metadata import version
                out[key] = version(mod)
            except Exception:     # noqa: BLE001   informative only
                pass
    return out


def parser():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="batch 8, one round, 3 calls, no cold-cache compilation (a few minutes)")
    ap.add_argument("--metrics", default=None, help="metrics.json with our test sensitivity (for Table 7)")
    ap.add_argument("--out", default=str(C.REPO / "benchmarks" / "results"), help="folder for report.md/report.json")
    isa = ap.add_mutually_exclusive_group()
    isa.add_argument("--avx2", action="store_true", help="only the pass restricted to AVX2")
    isa.add_argument("--native", action="store_true", help="only the unrestricted pass")
    ap.add_argument("--skip", nargs="*", default=[], choices=PARTS)
    ap.add_argument("--networks", nargs="+", default=None, help="default: all four (quick: all four too)")
    ap.add_argument("--size", type=int, default=None, help="input size (default 227; smaller only to smoke-test)")
    ap.add_argument("--batch", type=int, default=None, help="the comparison batch (default 32, quick 8)")
    ap.add_argument("--rounds", type=int, default=None, help="fresh-process rounds per library (3; quick 1)")
    ap.add_argument("--calls", type=int, default=None, help="timed calls per measure, median taken (5; quick 3)")
    ap.add_argument("--threads", type=int, default=C.PROTOCOL_THREADS, help="threads of every library (2)")
    ap.add_argument("--no-extras", action="store_true",
                    help="skip squeezenp's one-thread and same-process-as-torch runs (no cluster projection)")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="set in every benchmark process, e.g. SQUEEZENP_CONV3X3=im2col (repeatable)")
    return ap


def main(argv=None):
    a = parser().parse_args(argv)
    a.threads = min(a.threads, C.cores())
    user_env = parse_env(a.env)
    machine = C.machine_info()
    child_env = C.bench_env(user_env)          # what every benchmark subprocess runs with
    machine["env"] = {k: child_env.get(k) for k in machine["env"]}
    machine["env"].update({k: v for k, v in user_env.items()})
    flags = {"avx2": "avx2" in machine["simd"], "avx512f": "avx512f" in machine["simd"]}
    passes = ["avx2"] if a.avx2 else ["native"] + (["avx2"] if flags["avx512f"] and not a.native else [])
    res = {"quick": a.quick, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine, "cpu_flags": flags,
           "command": "python benchmarks/run_all.py "
                      + " ".join(map(_portable, sys.argv[1:] if argv is None else argv)),
           "threads": a.threads, "user_env": user_env, "load_first": C.load_average(), "passes": {}}
    res.update(versions())
    for i, isa_name in enumerate(passes):
        env = dict(user_env, **(AVX2_ENV if isa_name == "avx2" else {}))
        print(f"== pass {isa_name}" + (f" ({', '.join(f'{k}={v}' for k, v in env.items())})" if env else ""),
              flush=True)
        pres = {}
        for key, script, args in plan_for(a, first_pass=i == 0):
            part(pres, key, script, args, extra_env=env)
        th = pres.get("throughput", {}).get("networks", {})
        if "proposed" in th:
            pres["table7"] = table7(a.metrics, th["proposed"]["params"])
        if pres.get("reference", {}).get("networks"):
            pres["projection"] = protocol_projection(pres["reference"])
        pres["targets"] = targets(pres)
        res["passes"][isa_name] = pres
    res["load_last"] = C.load_average()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from squeezenp.core.atomic import atomic_write_text
    atomic_write_text(out / "report.json", json.dumps(res, indent=1))
    md = markdown(res)
    atomic_write_text(out / "report.md", md)
    print(md)
    print(f"written {out / 'report.md'} and {out / 'report.json'}")
    return res


if __name__ == "__main__":
    main()
