"""``squeezenp evaluate``: metrics of a saved model on the splits of a data folder."""
from __future__ import annotations

from pathlib import Path

from ..pipeline import DataOptions, prepare_datasets, evaluate_model, write_evaluation


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a saved model on a data folder",
                       description="Accuracy, sensitivity, specificity, precision, F1 and ROC AUC (COVID "
                                   "positive) on every split but train, laid out like the paper's Table 5.")
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("--data", metavar="DIR", required=True)
    p.add_argument("--layout", choices=["folder", "upstream"], default="folder")
    p.add_argument("--splits", metavar="DIR", help="the Data-split name lists (layout upstream)")
    p.add_argument("--skip-bad", action="store_true")
    p.add_argument("--out", default=None, help="folder for metrics.json and predictions.csv "
                   "(default: beside the model)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..models import load_model
    from ..evaluation.decision import preprocessing_of
    model = load_model(args.model)
    size = int(model.config["input_size"])
    opts = DataOptions(data=args.data, layout=args.layout, splits_dir=args.splits, input_size=size,
                       augment=False, on_error="skip" if args.skip_bad else "raise")
    datasets, counts, _ = prepare_datasets(opts, channels=int(model.config.get("in_channels", 3)),
                                           preprocessing=preprocessing_of(model))
    metrics, rows = evaluate_model(model, datasets)
    out = Path(args.out) if args.out else Path(args.model).parent
    selection = "val" if selected_on(model, args.data) else None
    print(write_evaluation(out, metrics, rows, {"model_file": str(args.model), "counts": counts}, selection))
    print(f"written {out / 'metrics.json'} and {out / 'predictions.csv'}")
    return 0


def selected_on(model, data) -> bool:
    """Whether ``data``'s validation split may have chosen the model's epoch and calibration: yes unless the
    model file names another training data folder (a file without the record is assumed trained on it)."""
    trained = model.config.get("trained_on")
    return trained is None or Path(trained).resolve() == Path(data).resolve()
