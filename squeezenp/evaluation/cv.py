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
5. ``summarise`` turns the run files into per-run metrics at the 0.5 cut-off and at the selection-set threshold,
   mean +- sd over folds and seeds, and the pooled out-of-fold predictions.

Tests: ``tests/evaluation/test_cv.py``.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..atomic import atomic_write_json
from ..data import load_grayscale
from ..train.metrics import binary_metrics
from ..train.recipes import Recipe, predict_covid, to_tensors, train_recipe
from ..data.preprocess import preprocess
from .folds import inner_split, stratified_group_kfold
from .groups import difference_hash, group_images

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
           folds_only: Sequence[int] | None = None) -> dict:
    """Run (or resume) the CV of ``recipe`` into ``out_dir``; returns ``summarise(out_dir)``."""
    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels, dtype=np.int64)
    plan_path, recipe_path = out / "folds.json", out / "recipe.json"
    if plan_path.exists():
        plan = json.loads(plan_path.read_text())
        rel = [str(Path(p).relative_to(root)) if root else str(p) for p in paths]
        if plan["paths"] != rel or plan["labels"] != labels.tolist() or plan["k"] != k \
                or plan["fold_seed"] != fold_seed:
            raise ValueError(f"{plan_path}: written for other images, labels, k or fold seed; use a new folder")
    else:
        plan = plan_folds(paths, labels, k, fold_seed, root)
        atomic_write_json(plan_path, plan)
    spec = {"recipe": recipe.as_dict(), "inner_fraction": inner_fraction}
    if recipe_path.exists():
        old = json.loads(recipe_path.read_text())
        if old != json.loads(json.dumps(spec)):
            changed = [key for key in set(old["recipe"]) | set(spec["recipe"])
                       if old["recipe"].get(key) != spec["recipe"].get(key)]
            raise ValueError(f"{recipe_path}: this folder holds a CV of another recipe (changed: {changed}); "
                             "use a new folder")
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
    return summarise(out)


def sensitivity_first_threshold(labels, prob, target: float = 0.9) -> float:
    """The highest cut-off whose sensitivity on (labels, prob) reaches ``target`` (0.5 if no positives)."""
    labels, prob = np.asarray(labels), np.asarray(prob)
    pos = np.sort(prob[labels == 1])
    if len(pos) == 0:
        return 0.5
    k = int(np.floor((1 - target) * len(pos)))     # at most k positives may fall below the cut-off
    return float(pos[k])


def _mean_sd(rows: list[dict]) -> dict:
    out = {}
    for m in METRICS:
        v = np.array([r[m] for r in rows], dtype=float)
        v = v[np.isfinite(v)]
        out[m] = {"mean": float(v.mean()) if len(v) else None, "sd": float(v.std(ddof=1)) if len(v) > 1 else None}
    return out


def summarise(out_dir) -> dict:
    """Metrics of every finished run and their mean +- sd; pooled out-of-fold predictions per seed."""
    out = Path(out_dir)
    plan = json.loads((out / "folds.json").read_text())
    labels = np.asarray(plan["labels"])
    runs = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
    rows = {"0.5": [], "plain": [], "selected_threshold": []}
    oof: dict[int, np.ndarray] = {}
    for r in runs:
        y = labels[r["test_index"]]
        p = np.asarray(r["test_prob"])
        t = sensitivity_first_threshold(labels[r["select_index"]], r["select_prob"])
        base = {"seed": r["seed"], "fold": r["fold"], "n": len(y), "train_seconds": r["train_seconds"],
                "best_epoch": r["best_epoch"]}
        rows["0.5"].append({**base, **binary_metrics(y, p)})
        rows["plain"].append({**base, **binary_metrics(y, np.asarray(r["test_prob_plain"]))})
        rows["selected_threshold"].append({**base, **binary_metrics(y, p, threshold=t)})
        oof.setdefault(r["seed"], np.full(len(labels), np.nan))[r["test_index"]] = p
    pooled = {}
    for seed, p in oof.items():
        done = np.isfinite(p)
        pooled[str(seed)] = {**binary_metrics(labels[done], p[done]), "images": int(done.sum())}
    return {"runs": len(runs), "k": plan["k"], "per_run": rows,
            "mean_sd": {k: _mean_sd(v) for k, v in rows.items() if v},
            "pooled_out_of_fold": pooled,
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])) if runs else None}
