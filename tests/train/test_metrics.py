"""Metrics against scikit-learn (installed with scikit-optimize) as an independent oracle."""
import numpy as np
from hypothesis import given, settings, strategies as st
from sklearn import metrics as skm

from squeezenp.train import binary_metrics, roc_auc, roc_curve


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 60))
def test_binary_metrics_match_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]                                   # both classes present
    p = np.round(rng.random(n), 2)                   # rounding creates ties for the AUC
    m = binary_metrics(y, p)
    pred = (p >= 0.5).astype(int)
    assert m["accuracy"] == skm.accuracy_score(y, pred)
    assert np.isclose(m["sensitivity"], skm.recall_score(y, pred, zero_division=np.nan), equal_nan=True)
    assert np.isclose(m["specificity"], skm.recall_score(1 - y, 1 - pred, zero_division=np.nan), equal_nan=True)
    assert np.isclose(m["precision"], skm.precision_score(y, pred, zero_division=np.nan), equal_nan=True)
    if np.isfinite(m["f1"]):
        assert np.isclose(m["f1"], skm.f1_score(y, pred))
    assert np.isclose(m["roc_auc"], skm.roc_auc_score(y, p))
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()


def test_undefined_ratios_are_nan_not_zero():
    m = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert np.isnan(m["sensitivity"]) and np.isnan(m["precision"]) and np.isnan(m["roc_auc"])
    assert m["specificity"] == 1.0


def test_roc_curve_ends_and_area():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    fpr, tpr, _ = roc_curve(y, s)
    assert (fpr[0], tpr[0]) == (0, 0) and (fpr[-1], tpr[-1]) == (1, 1)
    assert np.isclose(np.trapezoid(tpr, fpr), roc_auc(y, s))
