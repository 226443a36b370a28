"""The paper's x4 data augmentation: rotation, zoom-in scaling and additive Gaussian noise.

Polsinelli et al. (2020), Table 1: the 382 balanced training images are expanded to 1528 = 4 x 382 by keeping
each original and adding one rotated, one scaled and one noisy copy of it. Each transform works on a
grayscale (H, W) image in [0, 1] (before resizing/normalisation, see images.py), keeps its shape, and draws
its randomness from a ``numpy.random.Generator``, so a seed reproduces the set exactly.
Tested by ``tests/data/test_augment.py``.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

ANGLE_RANGE = (0.0, 90.0)        # degrees, counter-clockwise
SCALE_RANGE = (1.1, 1.3)         # zoom-in factor; the centre is cropped back to the original size
NOISE_SIGMA = 0.02               # std of the additive Gaussian noise, in [0, 1] intensity units


def _check_image(image) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 2 or min(img.shape) < 1 or not np.issubdtype(img.dtype, np.floating):
        raise ValueError(f"image must be a float (H, W) array, got shape {img.shape} dtype {img.dtype}")
    return img


def draw_params(rng: np.random.Generator, angle_range=ANGLE_RANGE, scale_range=SCALE_RANGE) -> dict:
    """Draw one rotation angle and one scale factor.

    Returns
    -------
    params : dict
        ``{"angle": float degrees in angle_range, "scale": float in scale_range}``, both uniform.
    """
    return {"angle": float(rng.uniform(*angle_range)), "scale": float(rng.uniform(*scale_range))}


def rotate(image, angle: float) -> np.ndarray:
    """Rotate about the centre by `angle` degrees (counter-clockwise), same shape.

    Parameters
    ----------
    image : ndarray, float, shape (H, W)
    angle : float, degrees

    Returns
    -------
    out : ndarray, same shape and dtype, values clipped to [0, 1]
        Bilinear (order 1); corners that come from outside the image are 0 (black, like the air in a CT).
    """
    img = _check_image(image)
    out = ndimage.rotate(img, angle, reshape=False, order=1, mode="constant", cval=0.0)
    return np.clip(out, 0.0, 1.0).astype(img.dtype, copy=False)


def scale(image, factor: float) -> np.ndarray:
    """Zoom in by `factor` >= 1 and crop the centre back to the original shape.

    Parameters
    ----------
    image : ndarray, float, shape (H, W)
    factor : float >= 1

    Returns
    -------
    out : ndarray, same shape and dtype, values clipped to [0, 1]
        Bilinear ``scipy.ndimage.zoom`` to (round(H * factor), round(W * factor)), then the centre crop.
    """
    img = _check_image(image)
    if not factor >= 1.0:
        raise ValueError(f"factor must be >= 1 (zoom in, then crop), got {factor!r}")
    H, W = img.shape
    # grid_mode: scale the pixel *areas* (edges map to edges), so the zoom is centred; factor >= 1 gives
    # round(H * factor) >= H rows, so the crop always fits.
    big = ndimage.zoom(img, factor, order=1, mode="nearest", grid_mode=True)
    top, left = (big.shape[0] - H) // 2, (big.shape[1] - W) // 2
    return np.clip(big[top:top + H, left:left + W], 0.0, 1.0).astype(img.dtype, copy=False)


def add_noise(image, rng: np.random.Generator, sigma: float = NOISE_SIGMA) -> np.ndarray:
    """Add N(0, sigma^2) noise to every pixel and clip to [0, 1]; same shape and dtype."""
    img = _check_image(image)
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    return np.clip(img + rng.normal(0.0, sigma, size=img.shape), 0.0, 1.0).astype(img.dtype)


def augment_x4(images, labels, rng: np.random.Generator, sigma: float = NOISE_SIGMA,
               return_params: bool = False):
    """Expand a training set four times, as in Table 1 of the paper (382 -> 1528).

    Parameters
    ----------
    images : ndarray, float, shape (N, H, W), values in [0, 1]
    labels : ndarray, shape (N,)
    rng : numpy.random.Generator
    sigma : float
        Noise std for the noisy copy.
    return_params : bool
        Also return the drawn parameters.

    Returns
    -------
    out_images : ndarray, same dtype, shape (4N, H, W)
        Four blocks of N, in this order: ``[0, N)`` the originals (unchanged copies);
        ``[N, 2N)`` each original rotated by its own angle ~ U[0, 90] degrees;
        ``[2N, 3N)`` each original zoomed in by its own factor ~ U[1.1, 1.3] and centre-cropped;
        ``[3N, 4N)`` each original plus N(0, sigma^2) noise. Each copy has one transform only.
    out_labels : ndarray, shape (4N,)
        ``np.tile(labels, 4)``.
    params : list of dict, length N (only if return_params)
        ``params[i] = {"angle": ..., "scale": ...}`` used for image i (from draw_params).

    Notes
    -----
    For image i the generator is used in a fixed order: draw_params, then the noise; so a seed fixes all.
    """
    imgs = np.asarray(images)
    labels = np.asarray(labels)
    if imgs.ndim != 3 or not np.issubdtype(imgs.dtype, np.floating):
        raise ValueError(f"images must be a float (N, H, W) array, got shape {imgs.shape} dtype {imgs.dtype}")
    if labels.shape != (imgs.shape[0],):
        raise ValueError(f"labels must have shape ({imgs.shape[0]},) to match images, got {labels.shape}")
    N = imgs.shape[0]
    out = np.empty((4 * N,) + imgs.shape[1:], dtype=imgs.dtype)
    params = []
    for i in range(N):
        p = draw_params(rng)
        params.append(p)
        out[i] = imgs[i]
        out[N + i] = rotate(imgs[i], p["angle"])
        out[2 * N + i] = scale(imgs[i], p["scale"])
        out[3 * N + i] = add_noise(imgs[i], rng, sigma)
    out_labels = np.tile(labels, 4)
    return (out, out_labels, params) if return_params else (out, out_labels)


def augmentation_examples(images, rng: np.random.Generator, n: int = 4) -> tuple[np.ndarray, list[dict]]:
    """The first ``n`` images and their x4 augmentations, for a picture of what the augmentation does.

    Parameters
    ----------
    images : ndarray, float, shape (N, H, W), values in [0, 1]
    rng : numpy.random.Generator
    n : int
        Rows, min(n, N).

    Returns
    -------
    cells : ndarray, float, shape (R, 4, H, W)
        Per image: the original, its rotated, scaled and noisy copies.
    params : list of dict, length R
        The ``angle`` and ``scale`` each copy drew (see :func:`draw_params`).
    """
    imgs = np.asarray(images)
    if imgs.ndim != 3 or imgs.shape[0] == 0:
        raise ValueError(f"images must be a non-empty (N, H, W) array, got shape {imgs.shape}")
    rows = imgs[:max(1, int(n))]
    R = len(rows)
    aug, _, params = augment_x4(rows, np.zeros(R), rng, return_params=True)
    cells = np.stack([np.stack([aug[k * R + i] for k in range(4)]) for i in range(R)])
    return cells, list(params)


__all__ = ["ANGLE_RANGE", "SCALE_RANGE", "NOISE_SIGMA", "draw_params", "rotate", "scale", "add_noise",
           "augment_x4", "augmentation_examples"]
