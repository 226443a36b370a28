"""Preprocessing that fits CT slices cut from figures: crop to the body, then normalise each image by itself.

COVID-CT's images come from papers and web pages: a slice sits inside white or grey borders, with text, arrows and
scale bars around it, at any brightness and contrast. Two steps remove most of that variation before the network
sees the image:

``crop_to_body``: the body is the largest bright, connected region once the borders are cut away. Rows and columns
that are almost uniform (figure margins, white frames) are trimmed from every side first; the image is then
thresholded at its mean, the largest connected component kept, and its bounding box (plus a margin) cropped.
``standardise``: subtract the image's own mean and divide by its standard deviation (over the crop), so one
scanner's or one figure's window settings do not matter; the result is scaled back to the range the network's
fixed normalisation expects (mean ``NORMALISATION["mean"]``, std ``NORMALISATION["std"]``).

Both work on the (H, W) float gray image in [0, 1] of ``squeezenp.data.images.load_grayscale``.
Tests: ``tests/data/test_preprocess.py``.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .images import NORMALISATION


def _trim_uniform_margins(g: np.ndarray, tol: float = 0.02) -> tuple[slice, slice]:
    """Slices that drop the outer rows/columns whose pixels barely vary (borders, frames)."""
    rows = g.std(axis=1) > tol
    cols = g.std(axis=0) > tol
    if not rows.any() or not cols.any():
        return slice(0, g.shape[0]), slice(0, g.shape[1])
    r, c = np.flatnonzero(rows), np.flatnonzero(cols)
    return slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1)


def crop_to_body(gray: np.ndarray, margin: float = 0.04, min_fraction: float = 0.25) -> np.ndarray:
    """The bounding box of the largest bright region (the body), with ``margin`` of its size around it.

    Falls back to the margin-trimmed image when the largest region covers less than ``min_fraction`` of it
    (nothing body-like was found). Images smaller than 8x8 pixels are returned unchanged.
    """
    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2:
        raise ValueError(f"crop_to_body: expected a 2-D gray image, got shape {g.shape}")
    if min(g.shape) < 8:
        return g
    rs, cs = _trim_uniform_margins(g)
    t = g[rs, cs]
    mask = ndimage.binary_opening(t > t.mean(), iterations=2)
    lab, n = ndimage.label(mask)
    if n == 0:
        return t
    sizes = ndimage.sum_labels(mask, lab, index=np.arange(1, n + 1))
    k = int(np.argmax(sizes)) + 1
    ys, xs = np.nonzero(lab == k)
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    if h * w < min_fraction * t.size:
        return t
    my, mx = int(margin * h), int(margin * w)
    y0, y1 = max(ys.min() - my, 0), min(ys.max() + 1 + my, t.shape[0])
    x0, x1 = max(xs.min() - mx, 0), min(xs.max() + 1 + mx, t.shape[1])
    return t[y0:y1, x0:x1]


def standardise(gray: np.ndarray) -> np.ndarray:
    """Per-image normalisation, mapped back to [0, 1]-like intensities with the network's usual mean and std::

        out = NORMALISATION.mean + NORMALISATION.std * (g - mean(g)) / std(g)
    """
    g = np.asarray(gray, dtype=np.float32)
    s = float(g.std())
    if s < 1e-6:
        return np.full_like(g, NORMALISATION["mean"])
    return (NORMALISATION["mean"] + NORMALISATION["std"] * (g - g.mean()) / s).astype(np.float32)


PREPROCESSING = ("none", "crop", "standardise", "crop+standardise")


def preprocess(gray: np.ndarray, mode: str) -> np.ndarray:
    """Apply one of ``PREPROCESSING`` to a gray image."""
    if mode not in PREPROCESSING:
        raise ValueError(f"preprocessing must be one of {PREPROCESSING}, got {mode!r}")
    if "crop" in mode:
        gray = crop_to_body(gray)
    if "standardise" in mode:
        gray = standardise(gray)
    return gray
