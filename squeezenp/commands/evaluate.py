"""``squeezenp evaluate``: metrics of a saved model on the labelled splits of a data folder, with its report page.

Reads ``DIR/{val,test}/{COVID,NonCOVID}`` (either or both; no ``train/`` needed), the upstream layout's val and
test lists, or a bare ``DIR/{COVID,NonCOVID}``. Writes ``metrics.json``, ``predictions.csv`` (with a warning
column), the pictures and ``report.html`` into ``--out``, by default a new folder ``evaluation/`` beside the
model: never over the files of a training run, nor over an input.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ._common import add_layout_options, load_classifier, refuse_clobbering


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a saved model on a data folder",
                       description="Accuracy, sensitivity, specificity, precision, F1 and ROC AUC (COVID "
                                   "positive) on the val and test splits, laid out like the paper's Table 5; "
                                   "confusion matrices, ROC curves and report.html.")
    p.add_argument("model", metavar="MODEL.npz", help="a model saved by train, demo or tune")
    p.add_argument("--data", metavar="DIR", required=True,
                   help="DIR/{val,test}/{COVID,NonCOVID} (either split or both), or DIR/{COVID,NonCOVID} (or the "
                        "upstream layout with --layout upstream); every split but train is evaluated")
    add_layout_options(p)
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed on stderr) instead "
                   "of stopping")
    p.add_argument("--out", default=None, help="folder for report.html, metrics.json, predictions.csv and the "
                   "pictures; default: evaluation/ beside the model")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..evaluation.decision import preprocessing_of
    from ..app.pipeline import (DataOptions, evaluate_model, prepare_datasets, scan_evaluation_splits,
                                write_evaluation)
    from ..reports.figures import write_evaluation_figures
    from ..reports.pages import evaluation_page
    from ..reports.splits import roles, split_role
    from .predict import warn_unjudged
    out = Path(args.out) if args.out else Path(args.model).parent / "evaluation"
    outputs = [out / "metrics.json", out / "predictions.csv"]
    refuse_clobbering(outputs, [args.model], option="--out" if args.out else "the default --out")
    model = load_classifier(args.model)
    size = int(model.config["input_size"])
    opts = DataOptions(data=args.data, layout=args.layout, splits_dir=args.splits, input_size=size,
                       augment=False, on_error="skip" if args.skip_bad else "raise")
    splits = scan_evaluation_splits(args.data, args.layout, args.splits)
    refuse_clobbering(outputs, [p for s in splits.values() for p in s.paths])
    datasets, counts, errors = prepare_datasets(opts, channels=int(model.config.get("in_channels", 3)),
                                                preprocessing=preprocessing_of(model), splits=splits)
    metrics, rows = evaluate_model(model, datasets)
    selection = "val" if selected_on(model, args.data) else None
    context = "train" if selection else "evaluate"   # did this data's validation split choose the model?
    print(write_evaluation(out, metrics, rows, {"model_file": str(args.model), "counts": counts,
                                                "skipped_files": [{"path": str(p), "error": m} for p, m in errors]},
                           selection))
    for split in metrics:
        print(f"  {split}: {split_role(split, context)}")
    write_evaluation_figures(out, metrics, rows, roles(metrics, context))
    page = evaluation_page(out, args.model, dataclasses.asdict(opts), counts, metrics,
                           network=model.config.get("name", ""), context=context)
    print(f"written {outputs[0]}, {outputs[1]} and the pictures; report: {page}")
    warn_unjudged([r["warning"] for r in rows], outputs[1])
    return 0


def selected_on(model, data) -> bool:
    """Whether ``data``'s validation split may have chosen the model's epoch and calibration: yes unless the
    model file names another training data folder (a file without the record is assumed trained on it)."""
    trained = model.config.get("trained_on")
    return trained is None or Path(trained).resolve() == Path(data).resolve()
