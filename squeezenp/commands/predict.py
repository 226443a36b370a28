"""``squeezenp predict``: probabilities of COVID-19 for image files or folders, as CSV."""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from ..data import IMAGE_EXTENSIONS, load_batch
from ..atomic import atomic_write_text
from ..train import predict_proba
from ._common import positive_int


def register(sub) -> None:
    p = sub.add_parser("predict", help="classify image files or folders into a CSV",
                       description="Write path, probability of COVID-19 and prediction for every image.")
    p.add_argument("model", metavar="MODEL.npz", help="a model saved by train, demo or tune")
    p.add_argument("inputs", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    p.add_argument("--out", default="-", help="CSV file (default: standard output)")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed on stderr)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass (memory vs "
                   "speed; the results do not depend on it)")
    p.set_defaults(func=run)


def expand_inputs(inputs) -> list[Path]:
    paths = []
    for item in map(Path, inputs):
        if item.is_dir():
            paths += sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        elif item.exists():
            paths.append(item)
        else:
            raise ValueError(f"input {str(item)!r} does not exist")
    if not paths:
        raise ValueError(f"no image files found in {[str(i) for i in inputs]}")
    return paths


def run(args) -> int:
    from ..models import load_model
    model = load_model(args.model)
    size = int(model.config["input_size"])
    paths = expand_inputs(args.inputs)
    x, kept, errors = load_batch(paths, (size, size), int(model.config.get("in_channels", 3)),
                                 on_error="skip" if args.skip_bad else "raise")
    for p, msg in errors:
        print(f"skipped: {msg}", file=sys.stderr)
    if not kept:
        raise ValueError(f"none of the {len(paths)} input image(s) could be read")
    prob = predict_proba(model, x, args.batch_size)[:, 1]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["path", "probability_covid", "prediction"])
    for p, pr in zip(kept, prob):
        w.writerow([str(p), f"{pr:.6f}", "COVID" if pr >= 0.5 else "NonCOVID"])
    if args.out == "-":
        sys.stdout.write(buf.getvalue())
    else:
        atomic_write_text(args.out, buf.getvalue())
        print(f"{len(kept)} predictions written to {args.out}", file=sys.stderr)
    return 0
