"""``squeezenp predict``: probabilities of COVID-19 for image files or folders, as CSV.

Columns: ``path``, ``probability_covid`` (calibrated when the model file holds a calibration, see
``evaluation.decision``), ``probability_covid_raw`` (the network's own, with the recipe's test-time
augmentation), ``prediction`` (``probability_covid >= threshold``, the model's stored threshold, 0.5 for a model
without one), ``warning`` (why the model cannot judge an image: fully transparent, tiny, blank, or a non-finite
output, which gets no probability and no prediction; empty for an ordinary image). Images are preprocessed as
the model's recipe says. The CSV is written atomically, never over the model or an input image.
"""
from __future__ import annotations

import csv
import io
import math
import sys
import warnings
from pathlib import Path

from ..core.atomic import atomic_write_text
from ..data import IMAGE_EXTENSIONS
from ._common import load_classifier, positive_int, refuse_clobbering


def register(sub) -> None:
    p = sub.add_parser("predict", help="classify image files or folders into a CSV",
                       description="Write path, probability of COVID-19, prediction and a warning (why the model "
                                   "cannot judge an image, empty when it can) for every image.")
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


def warn_unjudged(notes: list[str], where: str) -> None:
    """One warning line when some inputs cannot be judged (the details are in ``where``)."""
    flagged = sum(bool(n) for n in notes)
    if flagged:
        warnings.warn(f"{flagged} of {len(notes)} image(s) cannot be judged by the model (tiny, blank, "
                      f"transparent or a non-finite output): see the warning column of {where}", stacklevel=2)


def run(args) -> int:
    from ..evaluation.decision import decide, model_inputs, operating_point, raw_probability
    from ..app.pipeline import output_warnings
    paths = expand_inputs(args.inputs)
    if args.out != "-":
        refuse_clobbering([args.out], [args.model, *paths])
    model = load_classifier(args.model)
    _, threshold = operating_point(model)
    notes: list[str] = []
    x, kept, errors = model_inputs(model, paths, on_error="skip" if args.skip_bad else "raise",
                                   input_warnings=notes)
    for p, msg in errors:
        print(f"skipped: {msg}", file=sys.stderr)
    if not kept:
        raise ValueError(f"none of the {len(paths)} input image(s) could be read")
    raw = raw_probability(model, x, args.batch_size)
    prob, pred = decide(model, raw)
    notes = output_warnings(prob, notes)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["path", "probability_covid", "probability_covid_raw", "prediction", "warning"])
    for p, pr, r, yes, note in zip(kept, prob, raw, pred, notes):
        judged = math.isfinite(pr)
        w.writerow([str(p), f"{pr:.6f}" if judged else "", f"{r:.6f}" if judged else "",
                    ("COVID" if yes else "NonCOVID") if judged else "", note])
    if args.out == "-":
        sys.stdout.write(buf.getvalue())
    else:
        atomic_write_text(args.out, buf.getvalue())
        print(f"{len(kept)} predictions written to {args.out}", file=sys.stderr)
    rule = model.config.get("operating_point", "P(COVID) >= 0.5")
    calibrated = "calibrated" if model.config.get("calibration") else "not calibrated"
    print(f"prediction: probability_covid ({calibrated}) >= {threshold:.6f}: {rule}", file=sys.stderr)
    warn_unjudged(notes, "the CSV")
    return 0
