"""Stratified, grouped K-fold splits: every group in one fold, each fold near the overall class balance.

Greedy assignment (as scikit-learn's ``StratifiedGroupKFold``): groups are visited from the largest down (ties
broken by a seeded shuffle) and each goes to the fold where it raises the spread of per-class fold sizes the
least. Deterministic for a given seed.

Tests: ``tests/evaluation/test_folds.py``.
"""
from __future__ import annotations

import numpy as np


def stratified_group_kfold(labels, groups, k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index (N,) in [0, k) for every image; images of one group share a fold.

    Raises ValueError when there are fewer groups of a class than folds would need to hold at least one image
    of each class per fold.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    if labels.shape != groups.shape or labels.ndim != 1:
        raise ValueError(f"labels and groups must be 1-D of one length, got {labels.shape} and {groups.shape}")
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    classes = np.unique(labels)
    ug = np.unique(groups)
    if len(ug) < k:
        raise ValueError(f"{len(ug)} groups cannot fill {k} folds")
    counts = np.stack([np.bincount(np.searchsorted(ug, groups[labels == c]), minlength=len(ug)) for c in classes], 1)
    rng = np.random.default_rng([seed, 5])
    order = rng.permutation(len(ug))
    order = order[np.argsort(-counts[order].sum(1), kind="stable")]
    fold_counts = np.zeros((k, len(classes)))
    totals = counts.sum(0)
    assign = np.empty(len(ug), dtype=np.int64)
    for g in order:
        best, best_cost = 0, np.inf
        for f in range(k):
            trial = fold_counts.copy()
            trial[f] += counts[g]
            cost = (trial / totals).std(axis=0).mean() + 1e-9 * trial[f].sum()   # balance, then the smaller fold
            if cost < best_cost:
                best, best_cost = f, cost
        assign[g] = best
        fold_counts[best] += counts[g]
    return assign[np.searchsorted(ug, groups)]


def inner_split(labels, groups, fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """A boolean mask (N,) of a grouped, stratified held-out part of about ``fraction`` of the images: the data a
    fold uses to choose its epoch, threshold and calibration, carved out of its own training part."""
    k = max(2, int(round(1 / fraction)))
    return stratified_group_kfold(labels, groups, k, seed) == 0
