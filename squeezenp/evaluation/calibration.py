"""Calibration: make P(COVID) mean what it says, and measure how far it is from that.

A network trained with cross-entropy on a few hundred images is usually over-confident on new ones: of the
images it calls 95% COVID, far fewer than 95% are. Platt scaling (Platt 1999) refits the last step, on the
logit ``z = log(p / (1 - p))`` of the model's probability::

    q = sigmoid(a * z + b)                      a, b fitted on a labelled set the model was not trained on

by minimising the cross-entropy ``-sum_i [t_i log q_i + (1 - t_i) log(1 - q_i)]``. Platt's targets
``t = (n1 + 1) / (n1 + 2)`` for the positives and ``1 / (n0 + 2)`` for the negatives (instead of 1 and 0) keep
``a`` finite when the set is perfectly separated, as a small selection set often is. ``a > 0`` keeps the
order of the scores, so ROC AUC and any cut-off expressed on ``p`` keep their meaning; ``(a, b) = (1, 0)`` is the
identity. Newton's method on the two parameters (gradient ``sum (q - t) [z, 1]``, Hessian
``sum q (1 - q) [z, 1][z, 1]^T``) converges in a handful of steps.

Expected calibration error, the summary of a reliability diagram: split [0, 1] into ``n_bins`` equal bins of
``p``, and in every bin compare the mean predicted probability with the observed share of COVID images::

    ECE = sum_b (n_b / N) * | mean(y in b) - mean(p in b) |

Tests: ``tests/evaluation/test_calibration.py``.
"""
from __future__ import annotations

import numpy as np

IDENTITY = {"a": 1.0, "b": 0.0}
_TINY, _BELOW_ONE = np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0)


def logit(p) -> np.ndarray:
    """``log(p / (1 - p))``; only exact 0 and 1 are moved (to the nearest float64 inside (0, 1)), so every other
    pair of distinct probabilities keeps its order and the result is finite (within about [-708, 37])."""
    p = np.clip(np.asarray(p, dtype=np.float64), _TINY, _BELOW_ONE)
    return np.log(p) - np.log1p(-p)


def sigmoid(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))        # 1 / (1 + exp(-z)) without overflow


def apply_platt(prob, calibration: dict) -> np.ndarray:
    """Calibrated probabilities ``sigmoid(a * logit(prob) + b)`` (same shape as ``prob``)."""
    a, b = check_calibration(calibration)
    return sigmoid(a * logit(prob) + b)


def check_calibration(calibration, where: str = "calibration") -> tuple[float, float]:
    """``(a, b)`` of a ``{"a": .., "b": ..}`` mapping; ValueError naming ``where`` if it is not one."""
    try:
        a, b = float(calibration["a"]), float(calibration["b"])
    except (TypeError, KeyError, ValueError):
        raise ValueError(f"{where}: expected {{'a': number, 'b': number}}, got {calibration!r:.80}") from None
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        raise ValueError(f"{where}: expected finite a > 0 and finite b, got a={a}, b={b}")
    return a, b


def _loss(z, t, a, b) -> float:
    s = a * z + b
    return float(np.sum(np.logaddexp(0.0, s) - t * s))   # cross-entropy of sigmoid(s) against t


def fit_platt(labels, prob, max_iter: int = 50) -> dict:
    """Platt's ``{"a", "b"}`` for ``(labels (N,), prob (N,))``; the identity when a class is missing.

    ``a`` is kept at least 1e-3: a non-positive slope would reverse or flatten the ranking, which no labelled
    set of this size can justify.
    """
    y = np.asarray(labels).astype(int)
    z = logit(prob)
    if y.shape != z.shape:
        raise ValueError(f"labels and probabilities must have one shape, got {y.shape} and {z.shape}")
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if n1 == 0 or n0 == 0:
        return dict(IDENTITY)
    t = np.where(y == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    a, b = 1.0, 0.0
    loss = _loss(z, t, a, b)
    for _ in range(max_iter):
        q = sigmoid(a * z + b)
        g = np.array([np.sum((q - t) * z), np.sum(q - t)])
        w = q * (1 - q)
        H = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]]) + 1e-12 * np.eye(2)
        step = np.linalg.solve(H, g)
        scale = 1.0
        while scale > 1e-8:                          # backtracking: never accept a step that raises the loss
            na, nb = max(a - scale * step[0], 1e-3), b - scale * step[1]
            new = _loss(z, t, na, nb)
            if new <= loss:
                break
            scale /= 2
        else:
            break
        converged = abs(loss - new) < 1e-12 * max(1.0, abs(loss))
        a, b, loss = na, nb, new
        if converged:
            break
    return {"a": float(a), "b": float(b)}


def reliability_bins(labels, prob, n_bins: int = 10) -> dict:
    """Per equal-width bin of ``prob``: count, mean predicted probability, observed share of positives.

    Returns ``{"edges" (n_bins + 1,), "count" (n_bins,), "mean_prob" (n_bins,), "frac_pos" (n_bins,)}``;
    empty bins hold NaN means.
    """
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(prob, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)   # p = 1 goes to the last bin
    count = np.bincount(idx, minlength=n_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.bincount(idx, weights=p, minlength=n_bins) / count
        frac_pos = np.bincount(idx, weights=y, minlength=n_bins) / count
    return {"edges": edges, "count": count, "mean_prob": mean_prob, "frac_pos": frac_pos}


def expected_calibration_error(labels, prob, n_bins: int = 10) -> float:
    """ECE over ``n_bins`` equal-width bins (see the module docstring); NaN for no images."""
    r = reliability_bins(labels, prob, n_bins)
    n = r["count"].sum()
    if n == 0:
        return float("nan")
    full = r["count"] > 0
    return float(np.sum(r["count"][full] / n * np.abs(r["frac_pos"][full] - r["mean_prob"][full])))


__all__ = ["IDENTITY", "logit", "sigmoid", "fit_platt", "apply_platt", "check_calibration", "reliability_bins",
           "expected_calibration_error"]
