"""Redraw the pictures and the page of finished training folders from the files they hold.

    python -m squeezenp.reports.redraw RUN_DIR [RUN_DIR ...]

A training folder (``train``, ``demo``, a reproduction's ``retrain/experiment{k}``) keeps everything its
pictures are made of: ``metrics.json`` (the configuration, the data counts, the history, the kept epoch and the
metrics) and ``predictions.csv`` (P(COVID) of every evaluated image). This rewrites ``training_curves.png``,
``confusion_<split>.png``, ``roc_<split>.png`` and ``report.html`` from them, without training anything: for
folders written before the pictures changed. Tests: ``tests/reports/test_pages.py``.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def read_predictions(path) -> list[dict]:
    """Rows of ``predictions.csv`` with numeric label and probability."""
    with open(path, newline="") as f:
        return [{**r, "label": int(r["label"]), "probability_covid": float(r["probability_covid"])}
                for r in csv.DictReader(f)]


def redraw(run_dir, context: str = "train") -> list[Path]:
    """Rewrite the pictures and ``report.html`` of the training folder ``run_dir``; returns the files written."""
    from . import figures
    from . import pages, splits
    run = Path(run_dir)
    if not (run / "metrics.json").is_file() or not (run / "predictions.csv").is_file():
        raise ValueError(f"{run}: needs metrics.json and predictions.csv (a squeezenp train folder)")
    summary = json.loads((run / "metrics.json").read_text())
    if "history" not in summary or "config" not in summary:
        raise ValueError(f"{run}/metrics.json: no training history (an evaluate folder has no curves to draw)")
    metrics, best = summary["metrics"], summary.get("best_epoch")
    kept = "best validation accuracy" if summary["config"].get("select", "best") == "best" else "the last epoch"
    rows = read_predictions(run / "predictions.csv")
    title = f"{summary['model']}: loss and accuracy per epoch (kept: epoch {best}, {kept})"
    paths = figures.write_training_figures(run, summary["history"], metrics, rows, best, title,
                                           splits.roles(metrics, context))
    return paths + [pages.experiment_page(run, summary, context=context)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m squeezenp.reports.redraw", description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="training folders (with metrics.json)")
    p.add_argument("--search", action="store_true", help="the validation split also chose the hyperparameters "
                   "(a tune or reproduce retraining), as the page should say")
    args = p.parse_args(argv)
    for run in args.runs:
        written = redraw(run, "search" if args.search else "train")
        print(f"{run}: {', '.join(w.name for w in written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
