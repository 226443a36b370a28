"""``squeezenp demo``: the README's main command. Phantoms in, a trained and evaluated proposed CNN out.

It writes synthetic CT phantoms to an image folder, trains the proposed CNN at a reduced input size (so it
finishes in a few minutes on 2 cores), evaluates it and writes the report folder and its ``report.html``.
The same seed prints the same numbers (``tests/cli/test_readme.py`` holds the README's sample to it).
"""
from __future__ import annotations

import numpy as np

from ..app.pipeline import DataOptions, run_experiment, write_augmentation_grid
from ..train import TrainConfig
from ..train.metrics import SELECTION_LABEL
from ._common import positive_int, where_things_are

DEMO = dict(input_size=64, phantoms_per_class=300, phantom_size=64, epochs=10, batch_size=32,
            lr=0.01, momentum=0.9, l2=1e-4)
EXTRA_FIGURES = [("augmentations.png", "The x4 augmentation: training phantoms and their rotated, scaled and "
                                       "noisy copies."),
                 ("cam_grid.png", "Class activation maps of COVID on validation and test COVID phantoms; the red "
                                  "outlines are the lesions drawn into them.")]


def register(sub) -> None:
    p = sub.add_parser("demo", help="train the proposed CNN on synthetic CT phantoms (a few minutes)",
                       description="Generate synthetic CT phantoms, train the proposed CNN at "
                                   f"{DEMO['input_size']}x{DEMO['input_size']}, evaluate it and write a report "
                                   "folder with report.html.")
    p.add_argument("--out", default="squeezenp-demo", help="report folder: model.npz, report.html, pictures, "
                   "metrics and the phantoms")
    p.add_argument("--epochs", type=positive_int, default=DEMO["epochs"], help="passes over the training set")
    p.add_argument("--seed", type=int, default=0, help="seed of the phantoms, the initialisation and the batch "
                   "order (the same seed prints the same numbers)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted demo in OUT after its last "
                   "completed epoch")
    p.set_defaults(func=run)


def split_lines(counts: dict) -> list[str]:
    """What train, train_distinct, val and test1 are, with their sizes."""
    c = {k: v["total"] for k, v in counts.items()}
    lines = []
    if "train" in c:
        distinct = f"{c['train_distinct']} distinct phantoms plus a rotated, a scaled and a noisy copy of each " \
                   f"(train_distinct = {c['train_distinct']})" if "train_distinct" in c else "the training phantoms"
        lines.append(f"  train ({c['train']}): {distinct}; they fit the weights")
    if "val" in c:
        lines.append(f"  val ({c['val']}): validation phantoms; they chose the epoch kept")
    for k in ("test1", "test"):
        if k in c:
            lines.append(f"  {k} ({c[k]}): held-out phantoms (the folder's test/), never used for training or "
                         f"for choosing the epoch: the honest estimate")
    return lines


def run(args) -> int:
    opts = DataOptions(data=None, input_size=DEMO["input_size"], phantoms_per_class=DEMO["phantoms_per_class"],
                       phantom_size=DEMO["phantom_size"], phantom_dir=f"{args.out}/phantoms", seed=args.seed,
                       augment=True)
    cfg = TrainConfig(epochs=args.epochs, batch_size=DEMO["batch_size"], lr=DEMO["lr"], momentum=DEMO["momentum"],
                      l2=DEMO["l2"], seed=args.seed)
    summary = run_experiment("proposed", opts, cfg, args.out, resume=args.resume)
    write_augmentation_grid(opts, f"{args.out}/augmentations.png")
    from ..reports.cam import write_demo_cam_report     # CAM localisation on the val/test COVID phantoms + a CAM grid
    from ..models import load_model
    from ..reports.pages import experiment_page
    write_demo_cam_report(load_model(f"{args.out}/model.npz"), args.out, opts.phantom_dir, DEMO["input_size"])
    experiment_page(args.out, summary, title="squeezenp demo: the proposed CNN on synthetic CT phantoms",
                    extra_figures=EXTRA_FIGURES)
    acc = summary["metrics"]["val"]["accuracy"]
    print(f"demo: {SELECTION_LABEL} accuracy {acc:.3f} ({'ok' if acc >= 0.9 else 'below the 0.9 target'})")
    print("\n".join(["splits:"] + split_lines(summary["counts"]) + where_things_are(args.out)))
    return 0 if np.isfinite(acc) else 1
