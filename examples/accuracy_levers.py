"""Measure the levers of the default training recipe with grouped 5-fold cross-validation on COVID-CT.

Each variant is one recipe; each runs into its own folder ``<out>/<variant>`` and resumes fold by fold, so the
script can be stopped and started again. The table of docs/accuracy.md is printed by ``--table``.

    python examples/accuracy_levers.py --out runs/levers --variants default no_imagenet --seeds 0
    python examples/accuracy_levers.py --out runs/levers --table

Cost on 2 cores at 128 px: about 2-3 minutes per fold for the online-augmentation recipes (30 epochs of ~350
images), about 5 for the paper's x4 recipe.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from squeezenp.data import covid_ct_dir
from squeezenp.evaluation.cv import run_cv, seed_ensemble, summarise
from squeezenp.evaluation.dataset import pooled_images
from squeezenp.train.recipes import get_recipe

NO_AVERAGE = {"average_last": 0, "select": "best"}


def online(train=None, **fields):
    """The default recipe with 30 epochs of online augmentation (fresh draws per batch) instead of 10 epochs of the
    fixed x4 copies: the base most levers were screened on."""
    return get_recipe("default", augmentation="online", **fields, train={"epochs": 30, **(train or {})})


VARIANTS = {
    "paper_128": lambda: get_recipe("paper", input_size=128),
    "default": lambda: get_recipe("default"),
    "online_augmentation": lambda: online(),
    "no_imagenet": lambda: online(imagenet_trunk=False),
    "no_preprocessing": lambda: online(preprocessing="none"),
    "no_smoothing_no_average": lambda: online(train={"label_smoothing": 0.0, **NO_AVERAGE}),
    "piecewise_schedule": lambda: online(train={"schedule": "piecewise", "lr_drop_period": 5}),
    "trunk_lr_0.1": lambda: online(train={"trunk_lr_scale": 0.1}),
    "frozen_trunk": lambda: online(train={"trunk_lr_scale": 0.0}),
    "trunk_lr_0.1_size_192": lambda: online(input_size=192, train={"trunk_lr_scale": 0.1}),
    "lr_0.003": lambda: online(train={"lr": 0.003}),
    "epochs_60": lambda: online(train={"epochs": 60, "average_last": 10}),
    "size_160": lambda: online(input_size=160),
    "size_227": lambda: online(input_size=227),
    "x4_no_imagenet": lambda: get_recipe("default", imagenet_trunk=False),
    "x4_size_160": lambda: get_recipe("default", input_size=160),
}


def table(out: Path) -> str:
    lines = ["| variant | runs | accuracy | F1 | AUC | accuracy, no TTA | train s/model |", "|---|---|---|---|---|---|---|"]
    for name in VARIANTS:
        if not (out / name / "folds.json").exists():
            continue
        s = summarise(out / name)
        if not s["runs"]:
            continue
        m, p = s["mean_sd"]["0.5"], s["mean_sd"]["plain"]
        f = lambda d: f"{d['mean']:.3f} +- {d['sd']:.3f}" if d["sd"] is not None else f"{d['mean']:.3f}"
        lines.append(f"| {name} | {s['runs']} | {f(m['accuracy'])} | {f(m['f1'])} | {f(m['roc_auc'])} | "
                     f"{f(p['accuracy'])} | {s['train_seconds_mean']:.0f} |")
        e = seed_ensemble(out / name)
        if e["seeds"] > 1 and e["folds"]:
            m = e["mean_sd"]
            lines.append(f"| {name}, ensemble of {e['seeds']} seeds | {e['folds']} folds | {f(m['accuracy'])} | "
                         f"{f(m['f1'])} | {f(m['roc_auc'])} | | {e['seeds']} x {s['train_seconds_mean']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="COVID-CT folder with train/ and val/ (default: ../shared)")
    ap.add_argument("--out", default="runs/levers", help="one sub-folder per variant")
    ap.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", nargs="+", type=int, default=None,
                    help="run just these folds (0-based), e.g. to share one variant between two processes")
    ap.add_argument("--threads", type=int, default=None, help="compute threads of this process (default: all)")
    ap.add_argument("--table", action="store_true", help="print the table of finished runs and exit")
    a = ap.parse_args(argv)
    out = Path(a.out)
    if a.table:
        print(table(out))
        return
    if a.threads:
        from squeezenp.search.objective import limit_threads
        limit_threads(a.threads)
    root = Path(a.data) if a.data else covid_ct_dir()
    paths, labels = pooled_images(root, ("train", "val"))
    for name in a.variants:
        s = run_cv(VARIANTS[name](), paths, labels, out / name, k=a.folds, seeds=a.seeds, root=root,
                   folds_only=a.only_folds)
        print(name, json.dumps({k: v["mean"] for k, v in s["mean_sd"]["0.5"].items()}))
    print(table(out))


if __name__ == "__main__":
    main()
