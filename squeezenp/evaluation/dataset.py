"""The images a cross-validation pools: every file of the named splits of an image folder, with its label."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..data import scan_image_folder


def pooled_images(root, splits: Sequence[str] = ("train", "val")) -> tuple[list[Path], list[int]]:
    """``(paths, labels)`` of ``root/<split>/{COVID,NonCOVID}`` for each split, in a fixed order."""
    found = scan_image_folder(root, required=tuple(splits))
    paths, labels = [], []
    for name in splits:
        s = found[name]
        paths += [Path(p) for p in s.paths]
        labels += [int(v) for v in s.labels]
    return paths, labels
