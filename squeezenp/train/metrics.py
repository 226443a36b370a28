"""Binary classification metrics with COVID (label 1) as the positive class.

    sensitivity (recall, TPR) = TP / (TP + FN)     specificity (TNR) = TN / (TN + FP)
    precision (PPV)           = TP / (TP + FP)     F1 = 2 * precision * sensitivity / (precision + sensitivity)
    accuracy                  = (TP + TN) / N      ROC AUC = P(score of a random positive > a random negative),
                                                   ties counting 1/2 (the Mann-Whitney U statistic)

An undefined ratio (0/0) is reported as NaN, never silently as 0 or 1.
"""
from __future__ import annotations

import numpy as np


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def confusion_matrix(labels, predictions) -> np.ndarray:
    """``[[TN, FP], [FN, TP]]``: rows are true classes (0, 1), columns predicted classes."""
    y, p = np.asarray(labels).astype(int), np.asarray(predictions).astype(int)
    cm = np.zeros((2, 2), dtype=np.int64)
    np.add.at(cm, (y, p), 1)
    return cm


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve from ranks (average ranks for ties)."""
    from scipy.stats import rankdata
    y, s = np.asarray(labels).astype(int), np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` over every distinct score, from (0, 0) to (1, 1)."""
    y, s = np.asarray(labels).astype(int), np.asarray(scores, dtype=np.float64)
    thresholds = np.concatenate([[np.inf], np.unique(s)[::-1]])
    P, N = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    tpr = np.array([((s >= t) & (y == 1)).sum() / P for t in thresholds])
    fpr = np.array([((s >= t) & (y == 0)).sum() / N for t in thresholds])
    return fpr, tpr, thresholds


def binary_metrics(labels, probabilities, threshold: float = 0.5) -> dict:
    """All the paper's Table 5 figures, plus ROC AUC and the confusion matrix, from P(COVID)."""
    y = np.asarray(labels).astype(int)
    prob = np.asarray(probabilities, dtype=np.float64)
    pred = (prob >= threshold).astype(int)
    cm = confusion_matrix(y, pred)
    (tn, fp), (fn, tp) = cm
    sens, spec, prec = _ratio(tp, tp + fn), _ratio(tn, tn + fp), _ratio(tp, tp + fp)
    f1 = _ratio(2 * prec * sens, prec + sens) if np.isfinite(prec) and np.isfinite(sens) else float("nan")
    return {
        "n": int(len(y)), "accuracy": _ratio(tp + tn, len(y)), "sensitivity": sens, "specificity": spec,
        "precision": prec, "f1": f1, "roc_auc": roc_auc(y, prob),
        "confusion_matrix": cm.tolist(), "tp": int(tp), "tn": int(tn), "fp": int(fp), "fn": int(fn),
        "threshold": threshold,
    }


# The split that chose the epoch (and the calibration) gives optimistic figures: every table says so.
SELECTION_LABEL = "validation (used for selection)"


def split_labels(names, selection: str | None = "val") -> dict[str, str]:
    """Display names of splits: the ``selection`` split becomes ``SELECTION_LABEL``, the others keep theirs."""
    return {n: SELECTION_LABEL if n == selection else n for n in names}


def format_table5(rows: dict[str, dict]) -> str:
    """A plain table laid out like the paper's Table 5: one row per network/split."""
    w = max([28] + [len(str(name)) + 2 for name in rows])
    head = f"{'':<{w}}{'Accuracy':>9}{'Sensitivity':>12}{'Specificity':>12}{'Precision':>10}{'F1':>8}{'AUC':>8}"
    lines = [head, "-" * len(head)]
    for name, m in rows.items():
        lines.append(f"{name:<{w}}{m['accuracy']:>9.4f}{m['sensitivity']:>12.4f}{m['specificity']:>12.4f}"
                     f"{m['precision']:>10.4f}{m['f1']:>8.4f}{m['roc_auc']:>8.4f}")
    return "\n".join(lines)
