"""``squeezenp demo``: the README's main command. Phantoms in, a trained and evaluated proposed CNN out.

It writes synthetic CT phantoms to an image folder, trains the proposed CNN at a reduced input size (so it
finishes in a few minutes on 2 cores), evaluates it and writes the report folder.
"""
from __future__ import annotations

import numpy as np

from ..pipeline import DataOptions, run_experiment, write_augmentation_grid
from ..train import TrainConfig
from ._common import positive_int

DEMO = dict(input_size=64, phantoms_per_class=300, phantom_size=64, epochs=10, batch_size=32,
            lr=0.01, momentum=0.9, l2=1e-4)


def register(sub) -> None:
    p = sub.add_parser("demo", help="train the proposed CNN on synthetic CT phantoms (a few minutes)",
                       description="Generate synthetic CT phantoms, train the proposed CNN at "
                                   f"{DEMO['input_size']}x{DEMO['input_size']}, evaluate and write a report.")
    p.add_argument("--out", default="squeezenp-demo", help="report folder: model.npz, report.html, pictures, "
                   "metrics and the phantoms")
    p.add_argument("--epochs", type=positive_int, default=DEMO["epochs"], help="passes over the training set")
    p.add_argument("--seed", type=int, default=0, help="seed of the phantoms, the initialisation and the batch "
                   "order (the same seed prints the same numbers)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted demo in OUT after its last "
                   "completed epoch")
    p.set_defaults(func=run)


def run(args) -> int:
    opts = DataOptions(data=None, input_size=DEMO["input_size"], phantoms_per_class=DEMO["phantoms_per_class"],
                       phantom_size=DEMO["phantom_size"], phantom_dir=f"{args.out}/phantoms", seed=args.seed,
                       augment=True)
    cfg = TrainConfig(epochs=args.epochs, batch_size=DEMO["batch_size"], lr=DEMO["lr"], momentum=DEMO["momentum"],
                      l2=DEMO["l2"], seed=args.seed)
    summary = run_experiment("proposed", opts, cfg, args.out, resume=args.resume)
    write_augmentation_grid(opts, f"{args.out}/augmentations.png")
    from ..cam import write_demo_cam_report     # CAM localisation on the val/test COVID phantoms + a CAM grid
    from ..models import load_model
    write_demo_cam_report(load_model(f"{args.out}/model.npz"), args.out, opts.phantom_dir, DEMO["input_size"])
    acc = summary["metrics"]["val"]["accuracy"]
    print(f"demo: validation accuracy {acc:.3f} ({'ok' if acc >= 0.9 else 'below the 0.9 target'})")
    return 0 if np.isfinite(acc) else 1

