"""benchmarks/bench_barrier.py's barriers are barriers: no thread leaves a crossing before both reached it, round
after round, for each kind (so the timings it prints compare working barriers)."""
import threading
import time

import pytest
from bench_loader import load_benchmark


@pytest.fixture(scope="module")
def bench():
    with pytest.MonkeyPatch.context() as mp:
        yield load_benchmark(mp, "bench_barrier.py")


@pytest.mark.parametrize("kind", ["python", "pthread", "spin"])
def test_no_thread_passes_a_crossing_before_the_other_arrived(bench, kind):
    barrier = bench.make(kind)
    rounds, arrived, lock, seen = 40, [0] * 40, threading.Lock(), []

    def party(k):
        for r in range(rounds):
            if k == r % 2:
                time.sleep(0.001)              # one late thread per round: the other must wait for it
            with lock:
                arrived[r] += 1
            barrier.wait()
            seen.append(arrived[r])

    threads = [threading.Thread(target=party, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert len(seen) == 2 * rounds and set(seen) == {2}
    assert bench.crossing_us(kind, n=200) > 0
