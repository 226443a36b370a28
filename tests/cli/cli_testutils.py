"""Helpers for the command-line tests: snapshots of folders, small image files made inside a test."""
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

TINY = ["--recipe", "paper", "--phantoms", "12", "--phantom-size", "40", "--input-size", "40", "--epochs", "1", "--batch-size", "8",
        "--lr", "0.01", "--momentum", "0.9"]


def snapshot(root) -> dict:
    """``{relative path: sha256}`` of every file under ``root``: what a command must leave untouched."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def write_png(path, array, mode=None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array), mode=mode).save(path)
    return path
