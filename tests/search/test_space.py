"""Search space: documented bounds contain the paper's values, priors, validation; the paper's table."""
import pytest

from squeezenp.search import EXPERIMENTS, PAPER_RESULTS, SearchSpace
from squeezenp.train import TrainConfig


def test_default_bounds_contain_the_papers_values():
    paper = PAPER_RESULTS[1][4]
    assert paper == {**paper, "lr": 0.007132, "momentum": 0.87589, "l2": 9.532e-07}
    assert SearchSpace().contains(paper)
    c = TrainConfig()
    assert SearchSpace().contains({"lr": c.lr, "momentum": c.momentum, "l2": c.l2})


def test_dimensions_are_log_uniform_for_lr_and_l2():
    lr, m, l2 = SearchSpace().dimensions()
    assert (lr.name, m.name, l2.name) == ("lr", "momentum", "l2")
    assert lr.prior == "log-uniform" and l2.prior == "log-uniform" and m.prior == "uniform"
    assert (lr.low, lr.high, m.low, m.high, l2.low, l2.high) == (1e-4, 1e-1, 0.5, 0.99, 1e-10, 1e-2)


@pytest.mark.parametrize("kw", [{"lr": (0.1, 0.01)}, {"l2": (0.0, 1e-2)}, {"momentum": (0.5, 1.0)}])
def test_bad_bounds_are_refused(kw):
    with pytest.raises(ValueError):
        SearchSpace(**kw)


def test_experiments_follow_the_papers_numbering():
    assert EXPERIMENTS == {1: "squeezenet", 2: "squeezenet_bypass", 3: "squeezenet_bypass_transfer", 4: "proposed"}
    assert set(PAPER_RESULTS) == {1, 2} and all(set(t) == {1, 2, 3, 4} for t in PAPER_RESULTS.values())


def test_each_networks_lr_range_has_its_measured_stability_bound_in_its_upper_part():
    # bounds measured by examples/classifier_collapse.py (128 px, momentum 0.9), quoted in space.py
    from squeezenp.search.space import LR_BOUNDS, default_space
    measured = {1: 2.0e-3, 2: 5.8e-5, 3: 4.8e-5, 4: 1.1e-2}
    for k, bound in measured.items():
        lo, hi = LR_BOUNDS[k]
        assert lo < bound < hi and bound > (lo * hi) ** 0.5, k
        assert default_space(k).momentum == SearchSpace().momentum and default_space(k).l2 == SearchSpace().l2
    assert default_space(4).contains(PAPER_RESULTS[1][4])
    with pytest.raises(ValueError, match="unknown experiment"):
        default_space(5)
