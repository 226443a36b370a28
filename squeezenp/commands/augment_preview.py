"""``squeezenp augment-preview``: a grid PNG of training images and their x4 augmentations."""
from __future__ import annotations

from ..app.pipeline import write_augmentation_grid
from ._common import add_data_options, positive_int


def register(sub) -> None:
    p = sub.add_parser("augment-preview", help="write a grid PNG of images and their augmentations",
                       description="One row per image; columns: original, rotated (0-90 deg), scaled (1.1-1.3), noisy.")
    p.add_argument("--out", default="augmentations.png")
    p.add_argument("-n", type=positive_int, default=6, help="number of images (columns)")
    p.add_argument("--seed", type=int, default=0)
    add_data_options(p, default_size=227)
    p.set_defaults(func=run)


def run(args) -> int:
    from ._common import data_options
    path = write_augmentation_grid(data_options(args, phantom_dir="squeezenp-phantoms"), args.out, args.n, args.seed)
    print(f"written {path}")
    return 0
