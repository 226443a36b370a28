"""benchmarks/bench_winograd.py's batch-1 measurement runs the trunk's plan with the chosen Fire modules on each
algorithm (and really on that algorithm), so its choice is the plan's."""
from bench_loader import load_benchmark


def test_measure_in_plan_times_the_trunk_on_each_algorithm(monkeypatch):
    bench = load_benchmark(monkeypatch, "bench_winograd.py")
    from squeezenp.models import plan
    seen = []
    real = plan.TrunkPlan.__init__

    def spy(self, model, x):
        real(self, model, x)
        seen.append(self.key[3])
    monkeypatch.setattr(plan.TrunkPlan, "__init__", spy)
    best = bench.measure_in_plan(63, ["fire4", "fire5"], 1)
    assert set(best) == {"im2col", "winograd"} and all(0 < t < 1 for t in best.values())
    im2col_all = ("im2col",) * 8
    assert seen == [im2col_all, im2col_all[:2] + ("winograd", "winograd") + im2col_all[4:]]
