"""``squeezenp augment-preview``: a labelled grid PNG of training images and their x4 augmentations."""
from __future__ import annotations

import tempfile

from ..app.pipeline import write_augmentation_grid
from ._common import add_data_options, positive_int


def register(sub) -> None:
    p = sub.add_parser("augment-preview", help="write a labelled grid PNG of images and their augmentations",
                       description="One row per training image; columns: the original, then its rotated "
                                   "(0-90 deg), scaled (x1.1-1.3) and noisy copies, each captioned with the "
                                   "value drawn. Without --data, synthetic phantoms are made in a temporary "
                                   "folder and removed afterwards.")
    p.add_argument("--out", default="augmentations.png", help="the PNG file to write")
    p.add_argument("-n", type=positive_int, default=6, help="number of training images (rows)")
    p.add_argument("--seed", type=int, default=0, help="seed of the images picked and of the transforms")
    add_data_options(p, default_size=227)
    p.set_defaults(func=run)


def run(args) -> int:
    from ._common import data_options
    with tempfile.TemporaryDirectory(prefix="squeezenp-phantoms-") as tmp:   # used only when no --data
        path = write_augmentation_grid(data_options(args, phantom_dir=tmp), args.out, args.n, args.seed)
    print(f"written {path}")
    return 0
