"""Grouped, stratified K-fold cross-validation of a training recipe, resumable run by run.

Protocol (docs/accuracy.md):

1. The images of all given splits (COVID-CT: train + val, 543 images) are pooled and grouped: one group per source
   (``groups.source_id``) and per chain of near-duplicate pixels (``groups.difference_hash``).
2. ``folds.stratified_group_kfold`` deals the groups into K folds (``fold_seed``), saved in ``folds.json``.
3. For every seed and fold: the other K-1 folds are the training part. A grouped, stratified fifth of it
   (``folds.inner_split``) is held out as the *selection* set: it chooses the epoch (recipes that select one), the
   sensitivity-first threshold and the calibration. The model never sees the reported fold before it is scored.
4. Each (seed, fold) writes ``runs/seed<S>_fold<F>.json`` atomically (probabilities on its test fold and its
   selection set); a re-run skips finished runs, so an interrupted CV resumes fold by fold.
5. ``summarise`` turns the run files into per-run metrics (at the 0.5 cut-off, at the sensitivity-first cut-off
   and with the Platt calibration, both fitted on the run's selection set), mean +- sd over folds and seeds, the
   pooled out-of-fold predictions and their calibration error before and after Platt scaling.

Tests: ``tests/evaluation/test_cv.py``.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..core.atomic import atomic_write_json
from ..data import load_grayscale
from ..train.metrics import binary_metrics, roc_auc
from ..train.recipes import Recipe, predict_covid, to_tensors, train_recipe
from ..data.preprocess import preprocess
from .calibration import apply_platt, expected_calibration_error, fit_platt, reliability_bins
from .folds import inner_split, stratified_group_kfold
from .groups import difference_hash, group_images
from .thresholds import DEFAULT_SENSITIVITY_TARGET, sensitivity_first_threshold

Log = Callable[[str], None]
METRICS = ("accuracy", "sensitivity", "specificity", "precision", "f1", "roc_auc")


def plan_folds(paths: Sequence, labels: Sequence[int], k: int = 5, fold_seed: int = 0, root=None,
               max_distance: int = 24) -> dict:
    """The fold plan: groups, near-duplicate pairs and each image's fold, as saved in ``folds.json``.

    Paths are stored relative to ``root`` when given, so the plan (and the CV folder) can move with the data.
    """
    hashes = [difference_hash(load_grayscale(p)) for p in paths]
    groups, pairs = group_images(paths, labels, hashes, max_distance)
    folds = stratified_group_kfold(labels, groups, k, fold_seed)
    rel = [str(Path(p).relative_to(root)) if root else str(p) for p in paths]
    return {"k": int(k), "fold_seed": int(fold_seed), "max_hash_distance": int(max_distance),
            "paths": rel, "labels": [int(v) for v in labels], "groups": groups.tolist(), "folds": folds.tolist(),
            "hashes": [format(h, "064x") for h in hashes],
            "near_duplicate_pairs": [[rel[i], rel[j], d] for i, j, d in pairs],
            "n_groups": int(groups.max() + 1) if len(groups) else 0}


def load_or_plan_folds(out_dir, paths: Sequence, labels, k: int = 5, fold_seed: int = 0, root=None) -> dict:
    """``out_dir/folds.json``: read and checked against the data (ValueError naming what changed), or planned
    with ``plan_folds`` and written."""
    plan_path = Path(out_dir) / "folds.json"
    labels = [int(v) for v in labels]
    if not plan_path.exists():
        plan = plan_folds(paths, labels, k, fold_seed, root)
        atomic_write_json(plan_path, plan)
        return plan
    plan = json.loads(plan_path.read_text())
    rel = [str(Path(p).relative_to(root)) if root else str(p) for p in paths]
    changed = plan_changes(plan, rel, labels, k, fold_seed)
    if changed:
        raise ValueError(f"{plan_path}: this folder holds a CV of other data ({'; '.join(changed)}); use a new folder")
    return plan


def run_name(seed: int, fold: int) -> str:
    return f"seed{seed}_fold{fold}"


def run_one(recipe: Recipe, grays: list, labels: np.ndarray, groups: np.ndarray, folds: np.ndarray, fold: int,
            seed: int, inner_fraction: float = 0.2, log: Log | None = None) -> dict:
    """Train on every fold but ``fold`` (minus its selection set) and score ``fold``; returns the run record."""
    test = np.flatnonzero(folds == fold)
    rest = np.flatnonzero(folds != fold)
    sel_mask = inner_split(labels[rest], groups[rest], inner_fraction, seed=seed * 1000 + fold)
    sel, fit_idx = rest[sel_mask], rest[~sel_mask]
    x = to_tensors(recipe, grays)
    t0 = time.monotonic()
    model, result = train_recipe(recipe, x[fit_idx], labels[fit_idx], x[sel], labels[sel], seed=seed, log=log)
    seconds = time.monotonic() - t0
    plain = dataclasses.replace(recipe, tta=False)
    return {"seed": int(seed), "fold": int(fold), "train_index": fit_idx.tolist(), "select_index": sel.tolist(),
            "test_index": test.tolist(), "best_epoch": result.best_epoch, "train_seconds": seconds,
            "history": result.history,
            "test_prob": predict_covid(recipe, model, x[test]).tolist(),
            "test_prob_plain": predict_covid(plain, model, x[test]).tolist(),
            "select_prob": predict_covid(recipe, model, x[sel]).tolist()}


def run_cv(recipe: Recipe, paths: Sequence, labels: Sequence[int], out_dir, k: int = 5, seeds=(0,),
           fold_seed: int = 0, inner_fraction: float = 0.2, root=None, log: Log | None = print,
           folds_only: Sequence[int] | None = None,
           sensitivity_target: float = DEFAULT_SENSITIVITY_TARGET) -> dict:
    """Run (or resume) the CV of ``recipe`` into ``out_dir``; returns ``summarise(out_dir, sensitivity_target)``.

    Refuses (ValueError naming the changed fields) a folder that holds a CV of other data or another recipe.
    """
    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels, dtype=np.int64)
    recipe_path = out / "recipe.json"
    plan = load_or_plan_folds(out, paths, labels, k, fold_seed, root)
    spec = {"recipe": recipe.as_dict(), "inner_fraction": inner_fraction}
    if recipe_path.exists():
        old = json.loads(recipe_path.read_text())
        changed = recipe_changes(old, json.loads(json.dumps(spec)))
        if changed:
            raise ValueError(f"{recipe_path}: this folder holds a CV of another recipe (changed: "
                             f"{'; '.join(changed)}); use a new folder")
    else:
        atomic_write_json(recipe_path, spec)
    groups, folds = np.asarray(plan["groups"]), np.asarray(plan["folds"])
    if log:
        log(f"{len(labels)} images in {plan['n_groups']} groups ({len(plan['near_duplicate_pairs'])} near-duplicate "
            f"pairs), {k} folds: " + ", ".join(f"{int((folds == f).sum())}" for f in range(k)))
    grays = None
    for seed in seeds:
        for fold in (folds_only if folds_only is not None else range(k)):
            path = out / "runs" / f"{run_name(seed, fold)}.json"
            if path.exists():
                continue
            if grays is None:
                grays = [preprocess(load_grayscale(p), recipe.preprocessing) for p in paths]
            if log:
                log(f"{recipe.name}: seed {seed} fold {fold + 1}/{k}")
            record = run_one(recipe, grays, labels, groups, folds, fold, seed, inner_fraction, log=None)
            atomic_write_json(path, record)
            m = binary_metrics(labels[record["test_index"]], np.asarray(record["test_prob"]))
            if log:
                log(f"  accuracy {m['accuracy']:.3f} F1 {m['f1']:.3f} AUC {m['roc_auc']:.3f} "
                    f"({record['train_seconds']:.0f}s)")
    return summarise(out, sensitivity_target)


def plan_changes(plan: dict, paths: list[str], labels: list[int], k: int, fold_seed: int) -> list[str]:
    """How a saved fold plan differs from the data of a new call: one phrase per changed field."""
    out = []
    old_paths, old_labels = plan["paths"], plan["labels"]
    if old_paths != paths:
        added, removed = len(set(paths) - set(old_paths)), len(set(old_paths) - set(paths))
        out.append(f"images: {len(old_paths)} -> {len(paths)} ({added} added, {removed} removed"
                   + (", order changed" if not added and not removed else "") + ")")
    elif old_labels != labels:
        out.append(f"labels: {sum(a != b for a, b in zip(old_labels, labels))} image(s) changed class")
    if plan["k"] != k:
        out.append(f"folds: {plan['k']} -> {k}")
    if plan["fold_seed"] != fold_seed:
        out.append(f"fold seed: {plan['fold_seed']} -> {fold_seed}")
    return out


def recipe_changes(old: dict, new: dict) -> list[str]:
    """``["input_size: 227 -> 128", "train.epochs: 20 -> 2", ...]`` between two saved ``recipe.json`` specs."""
    def flat(d, prefix=""):
        items = {}
        for key, v in d.items():
            if isinstance(v, dict):
                items.update(flat(v, f"{prefix}{key}."))
            else:
                items[prefix + key] = v
        return items
    a = {**flat(old.get("recipe", {})), **{k: v for k, v in old.items() if k != "recipe"}}
    b = {**flat(new.get("recipe", {})), **{k: v for k, v in new.items() if k != "recipe"}}
    return [f"{key}: {a.get(key)!r} -> {b.get(key)!r}" for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


def _mean_sd(rows: list[dict]) -> dict:
    """Mean and sd (ddof 1) of every metric over the runs where it is defined; ``n`` says over how many (a
    ratio is undefined, 0/0, e.g. precision and F1 of a run that calls no image COVID)."""
    out = {}
    for m in METRICS:
        v = np.array([r[m] for r in rows], dtype=float)
        v = v[np.isfinite(v)]
        out[m] = {"mean": float(v.mean()) if len(v) else None, "sd": float(v.std(ddof=1)) if len(v) > 1 else None,
                  "n": int(len(v))}
    return out


# The ways a run's held-out fold is scored, in the order tables show them.
SCORINGS = {
    "0.5": "cut-off 0.5",
    "selected_threshold": "sensitivity-first cut-off (selection set)",
    "calibrated": "Platt-calibrated (selection set), cut-off 0.5",
    "plain": "cut-off 0.5, no test-time augmentation",
}


def summarise(out_dir, sensitivity_target: float = DEFAULT_SENSITIVITY_TARGET, n_bins: int = 10) -> dict:
    """Metrics of every finished run and their mean +- sd over folds and seeds; pooled out-of-fold predictions.

    Every run is scored four ways (``SCORINGS``); the threshold and the calibration of a run are fitted on its
    own selection set only. ``calibration`` holds the out-of-fold expected calibration error before and after
    Platt scaling (pooled over seeds) and the reliability bins the diagram draws.
    """
    out = Path(out_dir)
    plan = json.loads((out / "folds.json").read_text())
    labels = np.asarray(plan["labels"])
    runs = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
    runs.sort(key=lambda r: (r["seed"], r["fold"]))
    rows = {key: [] for key in SCORINGS}
    oof: dict[int, np.ndarray] = {}
    oof_cal: dict[int, np.ndarray] = {}
    for r in runs:
        y = labels[r["test_index"]]
        p = np.asarray(r["test_prob"])
        y_sel, p_sel = labels[r["select_index"]], np.asarray(r["select_prob"])
        t = sensitivity_first_threshold(y_sel, p_sel, sensitivity_target)
        cal = fit_platt(y_sel, p_sel)
        q = apply_platt(p, cal)
        base = {"seed": r["seed"], "fold": r["fold"], "n": len(y), "train_seconds": r["train_seconds"],
                "best_epoch": r["best_epoch"]}
        rows["0.5"].append({**base, **binary_metrics(y, p)})
        rows["selected_threshold"].append({**base, **binary_metrics(y, p, threshold=t)})
        # AUC depends on the ranking only, which Platt scaling keeps (a > 0); scored on p, because sigmoid
        # saturates to 1.0 in float64 and would turn distinct high scores of q into ties
        rows["calibrated"].append({**base, **binary_metrics(y, q), "roc_auc": roc_auc(y, p), "calibration": cal})
        rows["plain"].append({**base, **binary_metrics(y, np.asarray(r["test_prob_plain"]))})
        oof.setdefault(r["seed"], np.full(len(labels), np.nan))[r["test_index"]] = p
        oof_cal.setdefault(r["seed"], np.full(len(labels), np.nan))[r["test_index"]] = q
    pooled = {}
    for seed, p in oof.items():
        done = np.isfinite(p)
        pooled[str(seed)] = {**binary_metrics(labels[done], p[done]), "images": int(done.sum())}
    return {"runs": len(runs), "k": plan["k"], "seeds": sorted(oof), "sensitivity_target": sensitivity_target,
            "images": len(labels), "groups": plan["n_groups"],
            "near_duplicate_pairs": len(plan["near_duplicate_pairs"]),
            "scorings": SCORINGS, "per_run": rows,
            "test_time_augmentation": any(r["test_prob_plain"] != r["test_prob"] for r in runs),
            "mean_sd": {k: _mean_sd(v) for k, v in rows.items() if v},
            "pooled_out_of_fold": pooled,
            "out_of_fold_prob": {str(seed): [None if not np.isfinite(v) else float(v) for v in p]
                                 for seed, p in oof.items()},
            "calibration": _calibration_summary(labels, oof, oof_cal, n_bins),
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])) if runs else None}


def out_of_fold(labels: np.ndarray, by_seed: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, prob)`` of every finished out-of-fold prediction, all seeds pooled."""
    ys, ps = [], []
    for p in by_seed.values():
        done = np.isfinite(p)
        ys.append(labels[done])
        ps.append(p[done])
    return (np.concatenate(ys), np.concatenate(ps)) if ys else (np.zeros(0, int), np.zeros(0))


def _calibration_summary(labels, oof: dict, oof_cal: dict, n_bins: int) -> dict:
    out = {"n_bins": n_bins}
    for name, by_seed in (("before", oof), ("after", oof_cal)):
        y, p = out_of_fold(labels, by_seed)
        bins = reliability_bins(y, p, n_bins)
        out[name] = {"ece": expected_calibration_error(y, p, n_bins) if len(y) else None,
                     **{k: [None if not np.isfinite(v) else float(v) for v in bins[k]] for k in
                        ("mean_prob", "frac_pos")}, "count": bins["count"].tolist()}
    return out


def seed_ensemble(out_dir) -> dict:
    """The ensemble lever: per fold, average P(COVID) over every seed that finished it, then score the fold.

    Returns ``{"seeds": m, "folds": n, "per_fold": [metrics], "mean_sd": {metric: {mean, sd}}}`` over the folds
    that all ``m`` seeds finished (m = the most seeds any fold has); prediction costs m forward passes per image
    (times two with the mirror).
    """
    out = Path(out_dir)
    plan = json.loads((out / "folds.json").read_text())
    labels = np.asarray(plan["labels"])
    by_fold: dict[int, list] = {}
    for p in sorted((out / "runs").glob("*.json")):
        r = json.loads(p.read_text())
        by_fold.setdefault(r["fold"], []).append(r)
    m = max((len(v) for v in by_fold.values()), default=0)
    rows = []
    for fold, runs in sorted(by_fold.items()):
        if len(runs) != m:
            continue
        idx = runs[0]["test_index"]
        prob = np.mean([r["test_prob"] for r in runs], axis=0)
        rows.append({"fold": fold, **binary_metrics(labels[idx], prob)})
    return {"seeds": m, "folds": len(rows), "per_fold": rows, "mean_sd": _mean_sd(rows) if rows else {}}
