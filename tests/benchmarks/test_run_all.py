"""The benchmark suite's machinery, kept from rotting: ``benchmarks/run_all.py`` at the smallest sizes in fresh
processes (the comparison protocol, report and targets), and its report logic on a synthetic result (targets,
AVX2 pass, cluster projection). The numbers mean nothing here; only the machinery is checked."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


@pytest.fixture(scope="module")
def run_all():
    before = os.environ.get("_BENCH_REEXEC")
    os.environ["_BENCH_REEXEC"] = "1"      # importing must not re-execute the test process with the malloc env
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_run_all", BENCH / "run_all.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("_common", None)          # benchmarks/_common.py: not left importable by that name
        if before is None:
            os.environ.pop("_BENCH_REEXEC", None)
        else:
            os.environ["_BENCH_REEXEC"] = before


def fake_reference(names, batch=32, size=227):
    nets = {}
    for i, name in enumerate(names):
        ours = {"infer_ips": 100.0 + i, "train_ips": 30.0, "latency_b1_s": 0.010,
                "threads": {"numba_threads": 2, "numba_cpu": "haswell", "numba_threading_layer": "omp",
                            "numba_avx512_code": False,
                            "pools": ["blas:openblas 0.3.31 Haswell x2", "openmp:openmp x2"]},
                "conv3x3": {"inference": {"env": "unset", "ran": "im2col"}}}
        nets[name] = {"squeezenp": ours,
                      "torch": {"infer_ips": 90.0, "train_ips": 20.0, "latency_b1_s": 0.012,
                                "max_abs_diff_logits": 1e-7,
                                "threads": {"torch_threads": 2, "interop": 2, "cpu_capability": "AVX2"}},
                      "onnxruntime": {"infer_ips": 110.0, "train_ips": None, "latency_b1_s": 0.005,
                                      "max_abs_diff_logits": 1e-7, "threads": {"intra_op_num_threads": 2}},
                      "squeezenp_1thread": {"infer_ips": 60.0, "train_ips": 16.0, "latency_b1_s": 0.015},
                      "squeezenp_with_torch": dict(ours, infer_ips=80.0)}
        nets[name]["ratios"] = {"torch": {"infer": ours["infer_ips"] / 90, "train": 1.5, "latency_b1": 1.2},
                                "onnxruntime": {"infer": ours["infer_ips"] / 110, "latency_b1": 0.5}}
    return {"batch": batch, "size": size, "threads_requested": 2, "protocol": "p", "networks": nets,
            "load_before": 0.5, "load_after": 0.7}


def test_targets_projection_and_report_from_a_synthetic_run(run_all):
    names = ["squeezenet", "squeezenet_bypass", "squeezenet_bypass_transfer", "proposed"]
    ref = fake_reference(names)
    pres = {"reference": ref,
            "classify": {"size": 227, "thread_counts": [1, 2], "load_before": 1, "load_after": 1,
                         "networks": {"proposed": {f"threads_{n}": {"total_s": 0.007, "decode_preprocess_s": 0.002,
                                                                    "network_s": 0.005, "speedup_vs_laptop": 1,
                                                                    "speedup_vs_workstation": 1} for n in (1, 2)}}},
            "layers": {"network": "proposed", "batch": 32, "fraction_of_gemm_rate": 0.65, "conv_gflops_per_s": 1,
                       "gemm_gflops_per_s": 1, "layers": [{"algorithm": "im2col"}]}}
    tg = run_all.targets(pres)
    assert tg["proposed: batch-32 training step >= 1.3x tuned PyTorch"] == [1.5, True]
    assert tg["proposed: batch-32 inference >= 1.3x the faster of tuned PyTorch and onnxruntime"][1] is False
    assert tg["squeezenet: batch-1 forward >= 1.0x onnxruntime (same exported model)"] == [0.5, False]
    assert any("PNG" in k and v == [0.007, True] for k, v in tg.items())
    assert any("GEMM rate" in k and v == [0.65, False] for k, v in tg.items())
    assert len(tg) == 3 * len(names) + 2

    pp = run_all.protocol_projection(ref)
    assert pp["complete"] and set(pp["cluster_h"]) == {"8", "32"}
    one_trial_h = pp["per_network"]["proposed"]["trial_1thread_s"] / 3600
    assert pp["cluster_h"]["32"] >= one_trial_h * 120 / 32 - 1e-9      # 120 equal jobs on 32 workers: 4 rounds
    assert pp["cluster_h"]["8"] == pytest.approx(one_trial_h * 15)
    assert run_all.lpt_makespan([3, 3, 2, 2, 2], 2) == 7

    pres["targets"], pres["projection"] = tg, pp
    res = {"quick": False, "date": "d", "command": "c", "threads": 2, "load_first": 0.1, "load_last": 0.2,
           "cpu_flags": {"avx2": True, "avx512f": True},
           "machine": {"cpu": "x", "cores": 2, "platform": "p", "simd": ["avx2", "avx512f"], "python": "3",
                       "numpy": "2", "numba": "0", "env": {"MALLOC_MMAP_MAX_": "0"}},
           "passes": {"native": pres, "avx2": {"reference": ref, "targets": tg}}}
    md = run_all.markdown(res)
    assert "AVX2 present, AVX-512F present" in md
    assert md.count("BLAS core type squeezenp ran (threadpoolctl): **Haswell**") == 2
    assert "# Pass: avx2 (restricted to AVX2: OPENBLAS_CORETYPE=Haswell, NUMBA_CPU_NAME=haswell, " \
        "NUMBA_CPU_FEATURES=<the haswell feature list>, ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2" in md
    assert md.count("emits AVX-512 code: **no**") == 2 and "NOT restricted" not in md
    assert "| proposed: batch-32 training step >= 1.3x tuned PyTorch | 1.50x | met |" in md
    assert "| squeezenet: batch-1 forward >= 1.0x onnxruntime (same exported model) | 0.50x | NOT MET |" in md
    assert "8 workers" in md and "32 workers" in md and "Same process: with `import torch`" in md
    assert "SQUEEZENP_CONV3X3=unset, ran im2col" in md
    json.dumps(res)      # the report is JSON


def test_run_all_smallest_run_in_fresh_processes(tmp_path):
    """The quickest variant: one network at 64x64, batch 2, one round of one call per library, reference and
    layers parts, the 3x3 algorithm forced through --env (passed to every process and reported)."""
    cmd = [sys.executable, str(BENCH / "run_all.py"), "--quick", "--native", "--networks", "squeezenet",
           "--size", "64", "--batch", "2", "--rounds", "1", "--calls", "1", "--no-extras",
           "--env", "SQUEEZENP_CONV3X3=im2col",
           "--skip", "classify", "winograd", "throughput", "memory", "threads_policy", "--out", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "_BENCH_REEXEC"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads((tmp_path / "report.json").read_text())
    assert list(res["passes"]) == ["native"] and res["threads"] == min(2, os.cpu_count())
    p = res["passes"]["native"]
    ref = p["reference"]["networks"]["squeezenet"]
    assert "error" not in ref["squeezenp"], ref["squeezenp"]
    assert ref["squeezenp"]["conv3x3"]["inference"]["env"] == "im2col"
    assert "load_before" in p["reference"] and "load_before" in p["layers"]
    for fw in ("torch", "onnxruntime"):          # present unless that library is missing
        if fw not in p["reference"]["skipped"]:
            assert "error" not in ref[fw], ref[fw]
    assert any("GEMM rate" in k for k in p["targets"])
    md = (tmp_path / "report.md").read_text()
    assert "CPU flags: AVX2" in md and "BLAS core type squeezenp ran" in md and "## Targets" in md
    assert "SQUEEZENP_CONV3X3=im2col" in md


def test_the_avx2_environment_keeps_numba_off_avx512(run_all):
    """``NUMBA_CPU_NAME=haswell`` alone still lets Numba emit AVX-512 on an AVX-512 host; the AVX2 pass's
    environment must not (checked on any host: without AVX-512 both are False)."""
    code = "import _common as C; print(C.numba_emits_avx512())"
    env = dict(os.environ, **run_all.AVX2_ENV, PYTHONPATH=str(BENCH) + os.pathsep + str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_conv3x3_mode_sees_winograd_calls_and_choices_and_restores_the_functions(run_all, monkeypatch):
    import numpy as np
    from squeezenp.ops import conv_algorithm, winograd
    C = run_all.C
    fwd, choose = winograd.winograd_conv3x3, conv_algorithm.choose
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 6), dtype=np.float32)
    w = np.random.default_rng(1).standard_normal((3, 4, 3, 3), dtype=np.float32)
    monkeypatch.setenv(C.CONV3X3_ENV, "winograd")
    got = C.conv3x3_mode(lambda: (conv_algorithm.choose(4, 3, 6, 6, 2), winograd.winograd_conv3x3(x, w)))
    assert got["env"] == "winograd" and got["choices"] == {"winograd": 1} and got["winograd_forward_calls"] == 1
    assert winograd.winograd_conv3x3 is fwd and conv_algorithm.choose is choose
    monkeypatch.delenv(C.CONV3X3_ENV)
    assert C.conv3x3_mode(lambda: None) == {"env": "unset", "ran": "im2col", "choices": {},
                                             "winograd_forward_calls": 0, "winograd_backward_calls": 0,
                                             "dispatch_consults_choice": False}


def test_plans_of_the_full_quick_and_second_passes(run_all):
    full = dict((k, args) for k, _, args in run_all.plan_for(run_all.parser().parse_args([]), first_pass=True))
    assert list(full) == list(run_all.PARTS)
    assert "--no-cold" not in full["classify"] and full["layers"][:2] == ["--network", "proposed"]
    assert full["reference"] == ["--threads", 2]         # bench_reference's defaults: all four, b32, 3 rounds, 5 calls
    second = [k for k, _, _ in run_all.plan_for(run_all.parser().parse_args([]), first_pass=False)]
    assert second == list(run_all.COMPARISON_PARTS)
    quick = dict((k, args) for k, _, args in run_all.plan_for(run_all.parser().parse_args(["--quick"]), True))
    assert quick["reference"][-4:] == run_all.C.networks_all() and "--no-cold" in quick["classify"]
    a = run_all.parser().parse_args(["--env", "SQUEEZENP_CONV3X3=winograd", "--env", "A=b=c"])
    assert run_all.parse_env(a.env) == {"SQUEEZENP_CONV3X3": "winograd", "A": "b=c"}
