"""``squeezenp cv``: grouped, stratified K-fold cross-validation of a training recipe (held-out figures).

The honest protocol of docs/accuracy.md as one command. The images of ``--splits`` (default: train and val) of
``--data`` are pooled, grouped by source and near-duplicate pixels, and dealt into ``--folds`` folds; for every
seed and fold a model is trained on the other folds, choosing its epoch, cut-off and calibration on a selection
set carved out of them, and scored on the fold. Re-running the same command resumes after the last finished run;
a different recipe or different data in the same ``--out`` is refused, naming what changed.

Without ``--data`` it runs on synthetic phantoms written to ``OUT/phantoms`` (a quick check of the protocol).
Writes ``folds.json``, ``recipe.json``, ``runs/seed<S>_fold<F>.json``, ``summary.json``, ``summary.md``,
``roc.png``, ``reliability.png`` (and ``report.html``) into ``--out`` (evaluation/report.py).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ._common import positive_int, share


def _fraction(text: str) -> float:
    v = float(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1, got {text}")
    return v


def register(sub) -> None:
    from ..train.recipes import RECIPES
    p = sub.add_parser("cv", help="cross-validate a training recipe (grouped, stratified K-fold, held-out figures)",
                       description="Grouped, stratified K-fold cross-validation of a training recipe: every "
                                   "metric as mean +- sd over folds and seeds, each fold scored by a model that "
                                   "chose its epoch, threshold and calibration without it. Resumable: re-run the "
                                   "same command to continue.")
    p.add_argument("--data", metavar="DIR", help="image folder DIR/<split>/{COVID,NonCOVID}; default: synthetic "
                   "CT phantoms written to OUT/phantoms")
    p.add_argument("--splits", nargs="+", default=["train", "val"], metavar="SPLIT",
                   help="the splits of --data pooled into the folds (default: train val)")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="default", help="training recipe (default: default)")
    p.add_argument("--folds", type=positive_int, default=5, help="K (default 5)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="training seeds; every seed trains K models (default: 0 1 2)")
    p.add_argument("--fold-seed", type=int, default=0, help="seed of the fold assignment (default 0)")
    p.add_argument("--input-size", type=positive_int, help="override the recipe's input size (quick runs); default: the recipe's")
    p.add_argument("--epochs", type=positive_int, help="override the recipe's epochs (quick runs; its averaging "
                   "window and warm-up shrink to fit); default: the recipe's")
    p.add_argument("--inner-fraction", type=_fraction, default=0.2,
                   help="share of each training part held out as the selection set (default 0.2)")
    p.add_argument("--sensitivity-target", type=share, default=0.9,
                   help="sensitivity the selection-set cut-off must reach (default 0.9)")
    p.add_argument("--out", default="runs/cv", help="output folder (default runs/cv)")
    p.add_argument("--phantoms", type=positive_int, default=40, help="phantoms per class without --data "
                   "(default 40)")
    p.add_argument("--phantom-size", type=positive_int, default=64, help="phantom side in pixels (default 64)")
    p.add_argument("--plan-only", action="store_true", help="write folds.json and print the groups, "
                   "near-duplicate pairs and folds, without training")
    p.set_defaults(func=run)


def recipe_of(args):
    from ..train.recipes import get_recipe
    fields = {} if args.input_size is None else {"input_size": args.input_size}
    if args.epochs is not None:
        fields["train"] = {"epochs": args.epochs}
    return get_recipe(args.recipe, **fields)


def command_line(args) -> str:
    """The command that reproduces (or resumes) this CV, as written into summary.md."""
    parts = ["squeezenp", "cv"]
    if args.data:
        parts += ["--data", str(args.data), "--splits", *args.splits]
    else:
        parts += ["--phantoms", str(args.phantoms), "--phantom-size", str(args.phantom_size)]
    parts += ["--recipe", args.recipe, "--folds", str(args.folds), "--seeds", *map(str, args.seeds),
              "--fold-seed", str(args.fold_seed)]
    for flag, v in (("--input-size", args.input_size), ("--epochs", args.epochs)):
        if v is not None:
            parts += [flag, str(v)]
    if args.inner_fraction != 0.2:
        parts += ["--inner-fraction", str(args.inner_fraction)]
    if args.sensitivity_target != 0.9:
        parts += ["--sensitivity-target", str(args.sensitivity_target)]
    return shlex.join(parts + ["--out", str(args.out)])


def images(args) -> tuple[Path, list, list]:
    """``(root, paths, labels)`` of the pooled splits: of --data, or of phantoms written once to OUT/phantoms."""
    from ..data import write_phantom_folder
    from ..evaluation.dataset import pooled_images
    if args.data:
        root = Path(args.data)
    else:
        root = Path(args.out) / "phantoms"
        if not (root / "train").is_dir():
            print(f"writing {2 * args.phantoms} synthetic CT phantoms to {root}")
            write_phantom_folder(root, args.phantoms, args.phantom_size, seed=0)
    paths, labels = pooled_images(root, tuple(args.splits))
    return root, paths, labels


def run(args) -> int:
    from ..evaluation.cv import load_or_plan_folds, run_cv
    from ..evaluation.report import format_cv_table, write_cv_outputs
    recipe = recipe_of(args)
    root, paths, labels = images(args)
    if args.plan_only:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        print(describe_plan(load_or_plan_folds(args.out, paths, labels, args.folds, args.fold_seed, root)))
        return 0
    print(f"cross-validating recipe {recipe.name} on {len(paths)} images of {root} ({', '.join(args.splits)}); "
          f"results in {args.out} (re-run the same command to resume)")
    try:
        summary = run_cv(recipe, paths, labels, args.out, k=args.folds, seeds=args.seeds, fold_seed=args.fold_seed,
                         inner_fraction=args.inner_fraction, root=root, sensitivity_target=args.sensitivity_target)
    except KeyboardInterrupt:
        print(f"squeezenp cv: interrupted; finished runs are saved in {Path(args.out) / 'runs'}, re-run the same "
              "command to continue", file=sys.stderr)
        return 130
    written = write_cv_outputs(args.out, summary, command_line(args))
    print(format_cv_table(summary))
    print("written: " + ", ".join(p.name for p in written) + f" in {args.out}")
    return 0


def describe_plan(plan: dict) -> str:
    """The grouping and the folds of a ``folds.json`` in a few lines (``--plan-only``)."""
    import numpy as np
    from ..evaluation.groups import source_id
    labels, groups, folds = (np.asarray(plan[k]) for k in ("labels", "groups", "folds"))
    paths = plan["paths"]
    sources = len({(int(y), source_id(p)) for p, y in zip(paths, labels)})
    pairs = plan["near_duplicate_pairs"]
    label_of = dict(zip(paths, labels.tolist()))
    cross_class = sum(label_of[a] != label_of[b] for a, b, _ in pairs)
    cross_split = sum(Path(a).parts[0] != Path(b).parts[0] for a, b, _ in pairs)
    sizes = np.bincount(groups)
    lines = [f"{len(labels)} images ({int(labels.sum())} COVID), {sources} sources by file name, "
             f"{plan['n_groups']} groups after joining near-duplicates and numbered runs (largest {sizes.max()})",
             f"near-duplicate pairs (256-bit dHash within {plan['max_hash_distance']} bits): {len(pairs)}, "
             f"{cross_class} across classes, {cross_split} across the folders' top-level splits"]
    for f in range(plan["k"]):
        m = folds == f
        lines.append(f"fold {f}: {int(m.sum())} images, {int(labels[m].sum())} COVID ({labels[m].mean():.2f}), "
                     f"{len(set(groups[m].tolist()))} groups")
    return "\n".join(lines)
