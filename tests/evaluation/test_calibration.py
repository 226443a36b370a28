"""Platt scaling, reliability bins and the expected calibration error."""
import numpy as np
import pytest

from squeezenp.evaluation.calibration import (apply_platt, check_calibration, expected_calibration_error, fit_platt,
                                              logit, reliability_bins, sigmoid)
from squeezenp.train.metrics import roc_auc


def _overconfident(n, seed, a_true=0.4, b_true=0.3):
    """Labels drawn from sigmoid(a z + b) while the model reports sigmoid(z): over-confident and shifted."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 4, n)
    y = (rng.random(n) < sigmoid(a_true * z + b_true)).astype(int)
    return y, sigmoid(z)


def test_platt_recovers_the_true_slope_and_shift_and_lowers_the_ece():
    y, p = _overconfident(20_000, 0)
    cal = fit_platt(y, p)
    assert cal["a"] == pytest.approx(0.4, abs=0.03) and cal["b"] == pytest.approx(0.3, abs=0.06)
    y2, p2 = _overconfident(5_000, 1)                          # fitted on one set, measured on another
    q2 = apply_platt(p2, cal)
    assert expected_calibration_error(y2, q2) < 0.03 < expected_calibration_error(y2, p2)
    assert roc_auc(y2, q2) == pytest.approx(roc_auc(y2, p2))   # a > 0 keeps the ranking


def test_platt_fit_is_the_minimum_of_the_smoothed_cross_entropy():
    y, p = _overconfident(300, 2)
    cal = fit_platt(y, p)
    n1, n0 = y.sum(), (1 - y).sum()
    t = np.where(y == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    z = logit(p)

    def loss(a, b):
        q = sigmoid(a * z + b)
        return -np.sum(t * np.log(q) + (1 - t) * np.log(1 - q))
    best = loss(cal["a"], cal["b"])
    for da, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)]:
        assert loss(cal["a"] + da, cal["b"] + db) > best


def test_separable_and_one_class_sets_stay_finite():
    cal = fit_platt([0, 0, 1, 1], [0.01, 0.2, 0.8, 0.99])     # perfectly separated: Platt's targets keep a finite
    assert np.isfinite(cal["a"]) and cal["a"] > 0 and np.isfinite(cal["b"])
    assert fit_platt([1, 1], [0.3, 0.9]) == {"a": 1.0, "b": 0.0}
    q = apply_platt([0.0, 1e-300, 0.3, 1 - 1e-15, 1.0], {"a": 1.0, "b": 0.0})
    assert np.all(np.isfinite(q)) and np.all(np.diff(q) >= 0)
    assert apply_platt([0.25, 0.8], {"a": 1.0, "b": 0.0}) == pytest.approx([0.25, 0.8])


def test_check_calibration_names_what_is_wrong():
    with pytest.raises(ValueError, match="where: expected"):
        check_calibration({"a": 1.0}, "where")
    with pytest.raises(ValueError, match="a > 0"):
        check_calibration({"a": -1.0, "b": 0.0})
    assert check_calibration({"a": "2", "b": 0}) == (2.0, 0.0)


def test_reliability_bins_and_ece_by_hand():
    y = np.array([0, 1, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.95, 1.0, 0.99])
    r = reliability_bins(y, p, n_bins=10)
    assert r["count"].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert r["mean_prob"][9] == pytest.approx((0.95 + 1.0 + 0.99) / 3) and r["frac_pos"][9] == pytest.approx(2 / 3)
    assert np.isnan(r["mean_prob"][4])
    expected = (1 * 0.05 + 1 * 0.85 + 3 * abs(2 / 3 - 0.98)) / 5
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    assert np.isnan(expected_calibration_error([], []))
