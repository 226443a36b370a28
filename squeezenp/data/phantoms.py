"""Seeded synthetic chest CT slices: a small, label-exact stand-in for COVID-CT in tests and demos.

A phantom is an axial chest slice drawn on a [-1, 1]^2 grid: air, a soft-tissue body ellipse, two dark lung
ellipses with bright vessel blobs, ribs, the spine, an optional scanner table, a mild gravity-dependent lung
density and Gaussian noise. COVID-like phantoms add 2-5 peripheral ground-glass opacities (GGO: wide, faint,
semi-transparent brightening near the lung edge that leaves vessels visible, the typical early COVID-19 CT
sign); NonCOVID phantoms have none, and half of them carry a small solid nodule instead, so "something bright
in the lung" is not the answer. Geometry (size, position, rotation, lung shape), intensities and noise are
random, so the task is learnable but not a global statistic: at 64 px, ridge regression on the raw pixels
or on the intensity histogram reaches only about 0.8 validation accuracy, while a local feature (median-filtered
lung brightness) reaches about 0.98.
Tested by ``tests/data/test_phantoms.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

CLASS_DIRS = ("NonCOVID", "COVID")          # label 0, label 1 (same order as datasets.CLASS_NAMES)
GGO_MASK_THRESHOLD = 0.05                   # lesion mask: where the opacity adds >= 0.05 (on [0, 1] intensities)


def _ellipse_radius(x, y, cx, cy, a, b, theta):
    """Normalised elliptic radius: < 1 inside the ellipse (semi-axes a, b, rotated by theta rad)."""
    c, s = np.cos(theta), np.sin(theta)
    dx, dy = x - cx, y - cy
    u, v = c * dx + s * dy, -s * dx + c * dy
    return np.sqrt((u / a) ** 2 + (v / b) ** 2)


def _soft_inside(r, width):
    """Soft indicator of r < 1, edge about `width` (in radius units) wide: anti-aliased shapes."""
    return 1.0 / (1.0 + np.exp(np.clip((r - 1.0) / width, -50, 50)))


def _blob(x, y, cx, cy, sx, sy, theta):
    """Anisotropic Gaussian bump with peak 1, sigmas (sx, sy) along axes rotated by theta rad."""
    c, s = np.cos(theta), np.sin(theta)
    dx, dy = x - cx, y - cy
    u, v = c * dx + s * dy, -s * dx + c * dy
    return np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))


def _point_in_ellipse(rng, cx, cy, a, b, theta, r_lo, r_hi):
    """A random point at normalised radius in [r_lo, r_hi] of the given ellipse, uniform in angle."""
    phi, r = rng.uniform(0, 2 * np.pi), rng.uniform(r_lo, r_hi)
    u, v = r * a * np.cos(phi), r * b * np.sin(phi)
    c, s = np.cos(theta), np.sin(theta)
    return cx + c * u - s * v, cy + s * u + c * v


def make_phantom(rng, size: int = 128, covid: bool = False, return_lungs: bool = False):
    """Draw one synthetic axial chest CT slice.

    Parameters
    ----------
    rng : numpy.random.Generator or int seed
        An int (or None) goes through ``np.random.default_rng``; the same seed gives the same phantom.
    size : int
        Output height and width in pixels (>= 8). Lesions are visible from 64 px up.
    covid : bool
        True: add 2-5 peripheral ground-glass opacities. False: none (half get a small solid nodule).
    return_lungs : bool
        Also return the (hard) lung mask, e.g. to check that lesions lie in the lungs.

    Returns
    -------
    image : ndarray, float32, shape (size, size), values in [0, 1]
    lesion_mask : ndarray, bool, shape (size, size)
        Where the ground-glass opacity adds at least GGO_MASK_THRESHOLD inside the lungs; non-empty
        for covid=True, all False for covid=False (a nodule is not a COVID lesion).
    lungs : ndarray, bool, shape (size, size)
        Only when return_lungs is True.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    rng = np.random.default_rng(rng)
    px = 2.0 / size                                          # one pixel in grid units
    coords = (np.arange(size) + 0.5) * px - 1.0            # pixel centres
    y, x = np.meshgrid(coords, coords, indexing="ij")

    # Patient pose: rotate/shift/scale the anatomy; the table stays in scanner coordinates.
    ang, scl = np.deg2rad(rng.uniform(-12, 12)), rng.uniform(0.85, 1.05)
    sx, sy = rng.uniform(-0.06, 0.06, size=2)
    c, s = np.cos(ang), np.sin(ang)
    xa, ya = (c * (x - sx) + s * (y - sy)) / scl, (-s * (x - sx) + c * (y - sy)) / scl
    edge = 1.2 * px / scl                                    # about one pixel of soft edge

    img = np.full(x.shape, rng.uniform(0.0, 0.04))           # air
    if rng.random() < 0.5:                                   # scanner table
        ty = sy + scl * 0.72 + rng.uniform(0.05, 0.12)
        img = np.where(np.abs(y - ty) < 0.025, rng.uniform(0.25, 0.4), img)

    ba, bb = rng.uniform(0.80, 0.92), rng.uniform(0.58, 0.70)
    body = _soft_inside(_ellipse_radius(xa, ya, 0, 0.02, ba, bb, 0), edge / bb)
    img = img * (1 - body) + rng.uniform(0.45, 0.6) * body

    lungs_soft = np.zeros_like(img)
    lung_params = []
    for side in (-1, 1):
        la, lb = rng.uniform(0.20, 0.27), rng.uniform(0.34, 0.44)
        lcx, lcy = side * rng.uniform(0.32, 0.40), rng.uniform(-0.08, 0.02)
        lth = side * np.deg2rad(rng.uniform(3, 15))          # tops lean outwards
        lung_params.append((lcx, lcy, la, lb, lth))
        lungs_soft = np.maximum(lungs_soft, _soft_inside(_ellipse_radius(xa, ya, lcx, lcy, la, lb, lth), edge / la))
    lung_level = rng.uniform(0.05, 0.14)
    dependent = rng.uniform(0.0, 0.05) * np.clip((ya + 0.1) / 0.5, 0, 1)   # posterior (lower) lung denser
    img = img * (1 - lungs_soft) + (lung_level + dependent) * lungs_soft

    vessels = np.zeros_like(img)
    for lp in lung_params:
        for _ in range(rng.integers(6, 15)):
            vx, vy = _point_in_ellipse(rng, *lp, 0.0, 0.85)
            smaj, smin = rng.uniform(0.015, 0.05), rng.uniform(0.008, 0.018)
            vessels += rng.uniform(0.25, 0.55) * _blob(xa, ya, vx, vy, smaj, smin, rng.uniform(0, np.pi))
    img += np.minimum(vessels, 0.6) * lungs_soft

    ggo = np.zeros_like(img)
    if covid:
        for _ in range(rng.integers(2, 6)):
            lp = lung_params[rng.integers(2)]
            gx, gy = _point_in_ellipse(rng, *lp, 0.55, 0.85)   # peripheral
            g_major, g_minor = rng.uniform(0.08, 0.14), rng.uniform(0.06, 0.1)
            ggo += rng.uniform(0.25, 0.4) * _blob(xa, ya, gx, gy, g_major, g_minor, rng.uniform(0, np.pi))
        ggo = np.minimum(ggo, 0.45) * lungs_soft
        img += ggo
    elif rng.random() < 0.5:                                 # solid nodule: bright, small, not a COVID sign
        nx, ny = _point_in_ellipse(rng, *lung_params[rng.integers(2)], 0.1, 0.6)
        r = rng.uniform(0.02, 0.035)
        img += rng.uniform(0.4, 0.6) * _blob(xa, ya, nx, ny, r, r, 0) * lungs_soft

    bone = np.zeros_like(img)                                # ribs on the body edge, spine at the back
    for t in rng.uniform(0, 2 * np.pi, size=rng.integers(6, 11)):
        bone = np.maximum(bone, _blob(xa, ya, 0.93 * ba * np.cos(t), 0.02 + 0.93 * bb * np.sin(t), 0.025, 0.02, t))
    bone = np.maximum(bone, _soft_inside(_ellipse_radius(xa, ya, 0, 0.02 + 0.72 * bb, 0.09, 0.08, 0), edge / 0.08))
    img = img * (1 - bone) + rng.uniform(0.8, 0.95) * bone

    img += rng.normal(0.0, rng.uniform(0.01, 0.04), size=img.shape)
    lungs = lungs_soft > 0.5
    lesion = (ggo >= GGO_MASK_THRESHOLD) & lungs
    image = np.clip(img, 0.0, 1.0).astype(np.float32)
    return (image, lesion, lungs) if return_lungs else (image, lesion)


def _phantom_rng(seed: int, label: int, index: int) -> np.random.Generator:
    """One independent stream per (seed, label, index): phantom i does not change when n grows."""
    return np.random.default_rng([int(seed), int(label), int(index)])


def make_phantom_dataset(n_per_class: int, size: int = 64, seed: int = 0):
    """A balanced in-memory phantom data set.

    Parameters
    ----------
    n_per_class : int
        Phantoms per class (>= 0).
    size : int
        Height and width in pixels.
    seed : int
        Non-negative; phantom i of class c is drawn from ``default_rng([seed, c, i])``.

    Returns
    -------
    images : ndarray, float32, shape (2 * n_per_class, size, size), values in [0, 1]
    labels : ndarray, int64, shape (2 * n_per_class,)
        First n_per_class zeros (NonCOVID), then n_per_class ones (COVID).
    masks : ndarray, bool, shape (2 * n_per_class, size, size)
        Ground-glass lesion masks (empty for NonCOVID).
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 0:
        raise ValueError(f"n_per_class must be an int >= 0, got {n_per_class!r}")
    N = 2 * n_per_class
    images = np.zeros((N, size, size), dtype=np.float32)
    masks = np.zeros((N, size, size), dtype=bool)
    labels = np.repeat(np.arange(2, dtype=np.int64), n_per_class)
    for k, (label, i) in enumerate((lab, i) for lab in (0, 1) for i in range(n_per_class)):
        images[k], masks[k] = make_phantom(_phantom_rng(seed, label, i), size, covid=bool(label))
    return images, labels, masks


def _split_counts(n: int, splits: dict) -> dict:
    """Fractions -> counts summing to n (cumulative rounding, so no image is lost or doubled)."""
    names, fracs = list(splits), np.array([float(v) for v in splits.values()])
    if not names or (fracs < 0).any() or not np.isclose(fracs.sum(), 1.0):
        raise ValueError(f"splits must map split names to fractions >= 0 that sum to 1, got {splits!r}")
    edges = np.rint(np.concatenate([[0.0], np.cumsum(fracs) / fracs.sum()]) * n).astype(int)
    return {name: int(edges[k + 1] - edges[k]) for k, name in enumerate(names)}


def write_phantom_folder(root, n_per_class: int, size: int = 64, seed: int = 0,
                         splits=None) -> dict:
    """Write phantoms as PNG files in the image-folder layout that real data uses.

    Parameters
    ----------
    root : str or Path
        Created if missing. Existing files with the same names are overwritten.
    n_per_class : int
        Phantoms per class over all splits.
    size, seed : int
        As in make_phantom_dataset; the same (seed, class, index) gives the same phantom.
    splits : dict of str -> float, optional
        Fraction of each class per split; default ``{"train": 0.6, "val": 0.2, "test": 0.2}``.

    Returns
    -------
    counts : dict of str -> dict of str -> int
        ``counts[split][class_name]``, e.g. ``counts["train"]["COVID"]``.

    Notes
    -----
    Layout: ``root/{split}/{NonCOVID,COVID}/{class}_{index:05d}.png`` (8-bit L) and the lesion masks
    (0 or 255, 8-bit L) under the same relative names in ``root/masks/``. File names are unique across
    classes, so the upstream name-list layout can index them by name too. A split with no phantom gets no
    folder. The files are written in place: use ``build_phantom_folder`` for a folder that a run reuses.
    """
    splits = {"train": 0.6, "val": 0.2, "test": 0.2} if splits is None else dict(splits)
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 0:
        raise ValueError(f"n_per_class must be an int >= 0, got {n_per_class!r}")
    per_split = _split_counts(n_per_class, splits)
    root = Path(root)
    counts = {name: {} for name in splits}
    for label, cls in enumerate(CLASS_DIRS):
        index = 0
        for split, n in per_split.items():
            counts[split][cls] = n
            if n == 0:
                continue
            img_dir, mask_dir = root / split / cls, root / "masks" / split / cls
            img_dir.mkdir(parents=True, exist_ok=True)
            mask_dir.mkdir(parents=True, exist_ok=True)
            for _ in range(n):
                image, mask = make_phantom(_phantom_rng(seed, label, index), size, covid=bool(label))
                name = f"{cls}_{index:05d}.png"
                Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(img_dir / name)
                Image.fromarray(mask.astype(np.uint8) * 255).save(mask_dir / name)
                index += 1
    return counts


# --- a phantom folder that runs reuse: built whole, then renamed; checked against its manifest -----------------
MANIFEST = "phantoms.json"
GENERATOR = "squeezenp.data.phantoms v1"   # change it when make_phantom draws other images for the same seed


def phantom_manifest(n_per_class: int, size: int, seed: int, splits=None) -> dict:
    """What a phantom folder must hold: the options that drew it and the image count per split and class."""
    splits = {"train": 0.6, "val": 0.2, "test": 0.2} if splits is None else dict(splits)
    per_split = _split_counts(n_per_class, splits)
    return {"generator": GENERATOR, "n_per_class": int(n_per_class), "size": int(size), "seed": int(seed),
            "splits": {k: float(v) for k, v in splits.items()},
            "counts": {split: {cls: n for cls in CLASS_DIRS} for split, n in per_split.items()}}


def check_phantom_folder(root, manifest: dict) -> str:
    """Why ``root`` cannot be reused as the phantom folder ``manifest`` describes; "" when it can.

    Compares the stored manifest's options, then counts the image and mask files of every split and class.
    """
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        return f"it has no {MANIFEST} (an interrupted write, or not a squeezenp phantom folder)"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return f"its {MANIFEST} cannot be read ({e})"
    changed = [f"{k} {stored.get(k)!r} -> {manifest[k]!r}" for k in manifest if stored.get(k) != manifest[k]]
    if changed:
        return "it was drawn with other options: " + ", ".join(changed)
    for split, by_class in manifest["counts"].items():
        for cls, n in by_class.items():
            for folder in (root / split / cls, root / "masks" / split / cls):
                found = len(list(folder.glob("*.png"))) if folder.is_dir() else 0
                if found != n:
                    return f"{folder} holds {found} PNG file(s), its manifest says {n}"
    return ""


def build_phantom_folder(root, n_per_class: int, size: int = 64, seed: int = 0, splits=None, log=None) -> dict:
    """Make ``root`` a complete phantom folder for these options, reusing it only when its manifest matches.

    The phantoms are written into a temporary folder beside ``root`` and renamed into place when complete, with
    ``phantoms.json`` (``phantom_manifest``): an interruption leaves ``root`` as it was. A folder with a
    manifest that does not match (other options, missing or extra files) is rebuilt, and ``log`` says why. A
    folder without a manifest that is not empty is refused (ValueError): it may hold someone's files.

    Returns the manifest.
    """
    from ..core.atomic import atomic_folder, atomic_write_json
    root = Path(root)
    manifest = phantom_manifest(n_per_class, size, seed, splits)
    if root.exists():
        why = check_phantom_folder(root, manifest)
        if not why:
            return manifest
        if not (root / MANIFEST).is_file() and any(root.iterdir()):
            raise ValueError(f"phantom folder {root} cannot be used: {why}; delete it or choose another folder")
        if log:
            log(f"rebuilding the phantoms in {root}: {why}")
    if log:
        log(f"writing {2 * n_per_class} synthetic CT phantoms ({size} px, seed {seed}) to {root}")
    with atomic_folder(root) as tmp:
        write_phantom_folder(tmp, n_per_class, size, seed, splits)
        atomic_write_json(tmp / MANIFEST, manifest)
    return manifest


__all__ = ["make_phantom", "make_phantom_dataset", "write_phantom_folder", "build_phantom_folder",
           "check_phantom_folder", "phantom_manifest", "GGO_MASK_THRESHOLD", "CLASS_DIRS", "MANIFEST"]
