"""The pictures of a cross-validation: the out-of-fold ROC curve per seed and the reliability diagram.

Both are drawn with the panel code of ``squeezenp.reports.figures`` (Pillow only) and are computed from predictions on
held-out folds only: every point of a curve is an image that the model behind it never trained on nor chose
anything with.

``roc_by_seed_image``: one ROC curve per seed, each over the pooled out-of-fold probabilities of that seed (every
image scored once, by the model whose fold held it out), AUC of each in the legend.
``reliability_image``: the share of COVID images against the mean predicted P(COVID) in equal-width bins, before
and after the Platt calibration fitted on each run's selection set, with the expected calibration error (ECE).

Tests: ``tests/evaluation/test_cv_command.py``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..reports.figures import WHITE, _Axes
from ..train.metrics import roc_auc, roc_curve

CHANCE = (150, 150, 150)
SEED_COLOURS = [(31, 119, 180), (230, 120, 20), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
                (227, 119, 194), (127, 127, 127)]
BEFORE, AFTER = (230, 120, 20), (31, 119, 180)


def roc_by_seed_image(labels, prob_by_seed: dict, size=(460, 440)) -> Image.Image:
    """Out-of-fold ROC curves, one line per seed.

    labels : (N,) 0/1 of every image of the CV;  prob_by_seed : {seed: (N,) P(COVID), NaN where not yet scored}
    """
    y_all = np.asarray(labels).astype(int)
    img = Image.new("RGB", size, WHITE)
    n = len(y_all)
    ax = _Axes(img, (0, 0) + tuple(size), (0.0, 1.0), (0.0, 1.0), f"Out-of-fold ROC ({n} images, held-out folds)",
               "false positive rate (1 - specificity)", "true positive rate (sensitivity)")
    ax.line([0, 1], [0, 1], CHANCE, width=1, marker=False, dash=True)
    entries = []
    for i, (seed, p) in enumerate(sorted(prob_by_seed.items())):
        p = np.asarray(p, dtype=np.float64)
        done = np.isfinite(p)
        y, s = y_all[done], p[done]
        if len(y) == 0 or y.min() == y.max():
            continue
        fpr, tpr, _ = roc_curve(y, s)
        colour = SEED_COLOURS[i % len(SEED_COLOURS)]
        ax.line(fpr, tpr, colour, width=2, marker=False)
        part = "" if done.all() else f", {int(done.sum())} images"
        entries.append((f"seed {seed} (AUC {roc_auc(y, s):.3f}{part})", colour, False))
    if not entries:
        ax.message("no finished runs with both classes")
    ax.legend(entries + [("chance", CHANCE, True)], "lower right")
    return img


def reliability_image(calibration: dict, size=(460, 440)) -> Image.Image:
    """Reliability diagram from ``summarise(...)["calibration"]`` (bins before and after Platt scaling)."""
    img = Image.new("RGB", size, WHITE)
    n = sum(calibration["before"]["count"])
    ax = _Axes(img, (0, 0) + tuple(size), (0.0, 1.0), (0.0, 1.0),
               f"Reliability, out-of-fold ({n} predictions, {calibration['n_bins']} bins)",
               "mean predicted P(COVID) in the bin", "share of COVID images in the bin")
    ax.line([0, 1], [0, 1], CHANCE, width=1, marker=False, dash=True)
    entries = []
    for key, colour, name, dash in (("before", BEFORE, "raw", True), ("after", AFTER, "Platt-calibrated", False)):
        part = calibration[key]
        if part["ece"] is None:
            continue
        xs = np.array([np.nan if v is None else v for v in part["mean_prob"]], dtype=np.float64)
        ys = np.array([np.nan if v is None else v for v in part["frac_pos"]], dtype=np.float64)
        full = np.isfinite(xs)
        ax.line(xs[full], ys[full], colour, width=2, marker=True, dash=dash)
        entries.append((f"{name} (ECE {part['ece']:.3f})", colour, dash))
    if not entries:
        ax.message("no finished runs")
    ax.legend(entries + [("perfect calibration", CHANCE, True)], "best")
    return img


__all__ = ["roc_by_seed_image", "reliability_image"]
