"""benchmarks/bench_split.py compares the split batch with the layer path, really running each way."""
import numba
import pytest
from bench_loader import load_benchmark


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_compare_runs_both_ways(monkeypatch):
    bench = load_benchmark(monkeypatch, "bench_split.py")
    import squeezenp.models.networks as networks
    calls = []
    real = networks.split_batch
    monkeypatch.setattr(networks, "split_batch", lambda fn, x: calls.append(len(x)) or real(fn, x))
    previous = numba.get_num_threads()
    try:
        r = bench.compare("squeezenet", 4, 63, 2, rounds=1, calls=1)
    finally:
        numba.set_num_threads(previous)
    assert r["split"]["median"] > 0 and r["layers"]["median"] > 0 and r["ratio"] > 0
    assert calls == [4, 4, 4]                 # the two warm-up calls and the round's: split; the others were not
