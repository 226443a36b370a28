"""``squeezenp augment-preview``: a grid PNG of training images and their x4 augmentations."""
from __future__ import annotations

import numpy as np

from .. import data as D
from ._common import add_data_options
from ..pipeline import scan_splits


def register(sub) -> None:
    p = sub.add_parser("augment-preview", help="write a grid PNG of images and their augmentations",
                       description="One row per image; columns: original, rotated (0-90 deg), scaled (1.1-1.3), noisy.")
    p.add_argument("--out", default="augmentations.png")
    p.add_argument("-n", type=int, default=6, help="number of images (columns)")
    p.add_argument("--seed", type=int, default=0)
    add_data_options(p, default_size=227)
    p.set_defaults(func=run)


def run(args) -> int:
    from ._common import data_options
    opts = data_options(args, phantom_dir="squeezenp-phantoms")
    splits, _ = scan_splits(opts)
    train = splits["train"]
    pick = np.random.default_rng(args.seed).permutation(len(train))[:args.n]
    gray = np.stack([D.to_network_input(D.load_grayscale(train.paths[i]), opts.input_size, 1)[0] for i in pick])
    gray = np.clip(gray * D.NORMALISATION["std"] + D.NORMALISATION["mean"], 0, 1)
    path = D.augmentation_grid(gray, np.random.default_rng(args.seed), args.out, n=len(pick))
    print(f"written {path}")
    return 0
