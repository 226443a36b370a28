"""The sensitivity-first operating point: the highest cut-off reaching the target sensitivity."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from squeezenp.evaluation.thresholds import sensitivity_first_threshold


def test_ten_positives_at_target_090_may_miss_exactly_one():
    pos = np.arange(1, 11) / 10.0                           # 0.1 .. 1.0
    labels = np.r_[np.ones(10), np.zeros(3)]
    prob = np.r_[pos, [0.05, 0.5, 0.95]]
    t = sensitivity_first_threshold(labels, prob, 0.9)
    assert t == pytest.approx(0.2)                          # (1 - 0.9) * 10 = 0.999.. must count as 1
    assert sensitivity_first_threshold(labels, prob, 1.0) == pytest.approx(0.1)
    assert sensitivity_first_threshold(labels, prob, 0.5) == pytest.approx(0.6)


@settings(deadline=None, max_examples=60)
@given(seed=st.integers(0, 10_000), target=st.floats(0.05, 1.0))
def test_threshold_reaches_the_target_and_no_higher_cut_off_does(seed, target):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    labels = np.r_[np.ones(n), np.zeros(10)]
    prob = rng.random(n + 10)
    t = sensitivity_first_threshold(labels, prob, target)
    pos = prob[labels == 1]
    assert (pos >= t).mean() >= target - 1e-12
    higher = pos[pos > t]
    if len(higher):                                          # the next higher candidate misses the target
        assert (pos >= higher.min()).mean() < target


def test_no_positives_falls_back_to_one_half_and_bad_input_is_refused():
    assert sensitivity_first_threshold([0, 0], [0.2, 0.7]) == 0.5
    with pytest.raises(ValueError, match="target"):
        sensitivity_first_threshold([1], [0.5], 0.0)
    with pytest.raises(ValueError, match="one shape"):
        sensitivity_first_threshold([1, 0], [0.5])
