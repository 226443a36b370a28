"""benchmarks/bench_batch1_bound.py records exactly the GEMMs of the batch-1 trunk, and its child measures."""
import numba
import numpy as np
from bench_loader import load_benchmark

import squeezenp.models as M
from squeezenp.models.summary import trace


def test_recorded_gemms_are_the_trunks_convolutions(monkeypatch):
    """One thread, every 3x3 by im2col: one GEMM per convolution of the trunk, with its direct-convolution FLOPs
    in all; the plan left to choose its way again."""
    bench = load_benchmark(monkeypatch, "bench_batch1_bound.py")
    monkeypatch.setenv("SQUEEZENP_CONV3X3", "im2col")
    model = M.build("squeezenet", num_classes=2, input_size=35, seed=0).astype(np.float32)
    model.fuse()
    x = np.random.default_rng(0).standard_normal((1, 3, 35, 35)).astype(np.float32)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        gemms = bench.recorded_gemms(model, x)
    finally:
        numba.set_num_threads(previous)
    convs = [r for r in trace(model, (1, 3, 35, 35)) if r[1] == "Conv2d" and r[0] != "conv10"]
    assert len(gemms) == len(convs) == 25
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in gemms)
    assert flops == sum(r[4] for r in convs)
    assert "parallel" not in vars(model._plan.choice)


def test_child_reports_every_algorithm(monkeypatch):
    bench = load_benchmark(monkeypatch, "bench_batch1_bound.py")
    previous = numba.get_num_threads()
    try:
        r = bench.child_bound("squeezenet", 35, 1, calls=1)
    finally:
        numba.set_num_threads(previous)
    assert r["forward_s"] > 0
    for algorithm in bench.ALGORITHMS:
        assert r[algorithm]["gemm_s"] > 0 and r[algorithm]["hot_s"] > 0 and r[algorithm]["calls"] == 25
    assert r["winograd"]["gflop"] < r["im2col"]["gflop"]
