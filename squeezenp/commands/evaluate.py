"""``squeezenp evaluate``: metrics of a saved model on the splits of a data folder."""
from __future__ import annotations

from pathlib import Path

from ..pipeline import DataOptions, prepare_datasets, evaluate_model, write_evaluation
from ._common import add_layout_options


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a saved model on a data folder",
                       description="Accuracy, sensitivity, specificity, precision, F1 and ROC AUC (COVID "
                                   "positive) on every split but train, laid out like the paper's Table 5.")
    p.add_argument("model", metavar="MODEL.npz", help="a model saved by train, demo or tune")
    p.add_argument("--data", metavar="DIR", required=True, help="image folder ROOT/{train,val[,test]}/"
                   "{COVID,NonCOVID} (or the upstream layout with --layout upstream); every split but train is "
                   "evaluated")
    add_layout_options(p)
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed) instead of stopping")
    p.add_argument("--out", default=None, help="folder for report.html, metrics.json, predictions.csv and the "
                   "pictures; default: evaluation/ beside the model")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..models import load_model
    model = load_model(args.model)
    size = int(model.config["input_size"])
    opts = DataOptions(data=args.data, layout=args.layout, splits_dir=args.splits, input_size=size,
                       augment=False, on_error="skip" if args.skip_bad else "raise")
    datasets, counts, _ = prepare_datasets(opts, channels=int(model.config.get("in_channels", 3)))
    metrics, rows = evaluate_model(model, datasets)
    out = Path(args.out) if args.out else Path(args.model).parent
    print(write_evaluation(out, metrics, rows, {"model_file": str(args.model), "counts": counts}))
    print(f"written {out / 'metrics.json'} and {out / 'predictions.csv'}")
    return 0
