"""Decode any image file to one grayscale representation, then to the network's input tensor.

Why one representation: in COVID-CT the file format and pixel mode correlate with the label (every COVID
image is a PNG, many of them RGBA; half of NonCOVID are JPEG). Every file is therefore reduced to the same
thing, a float32 (H, W) luma image in [0, 1], before anything else sees it, and alpha is dropped.
Polsinelli et al. (2020) resize every slice to the SqueezeNet input, 227 x 227 x 3.
Tested by ``tests/data/test_images.py`` and ``tests/data/test_images_errors.py``.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

# Mean and std of the 3-channel ImageNet statistics averaged over the channels
# ((0.485 + 0.456 + 0.406) / 3 and (0.229 + 0.224 + 0.225) / 3): a gray image replicated to 3 channels then
# looks, to ImageNet-pretrained SqueezeNet weights, like the images they were trained on.
NORMALISATION = {"mean": 0.449, "std": 0.226}

# 4096 x 4096 x 4 pixels. The largest COVID-CT image is 1671 x 1225 (2 MP); a header that claims more than
# this is a decompression bomb or a mistake. Pillow's own Image.MAX_IMAGE_PIXELS check also applies.
DEFAULT_MAX_PIXELS = 4096 * 4096 * 4

# Below this many pixels on a side a slice holds too little anatomy to judge (COVID-CT's smallest side is 61 px);
# such an input is still scored, but flagged (input_warning).
TINY_SIDE = 32


class ImageLoadError(ValueError):
    """An image file could not be decoded; the message names the path and what went wrong."""

    def __init__(self, path, reason):
        self.path, self.reason = Path(path), reason
        super().__init__(f"cannot load image {str(path)!r}: {reason}")


def _as_size(size) -> tuple[int, int]:
    """(H, W) from an int or a pair; ValueError unless both are positive ints."""
    if isinstance(size, (int, np.integer)):
        size = (size, size)
    try:
        H, W = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be an int or a pair (H, W) of ints, got {size!r}") from None
    if H < 1 or W < 1 or (H, W) != tuple(size):
        raise ValueError(f"size must be positive ints (H, W), got {size!r}")
    return H, W


def _minmax(a: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1] by the image's own range; a constant image maps to 0."""
    lo, hi = float(a.min()), float(a.max())
    return np.zeros_like(a) if hi == lo else (a - lo) / (hi - lo)


def _unit_8bit(a: np.ndarray) -> np.ndarray:
    """8-bit values -> float32 value / 255. Dividing in float32 gives, for each of the 256 values, the same float32
    as dividing in float64 and rounding (IEEE division is correctly rounded, and v and 255 are exact in both; all
    256 checked in tests/data/test_images.py), in one vectorised pass, where a 256-entry lookup gathers and the
    float64 division takes three passes (decode and preprocessing of a 512x512 slice: 2.6-2.9 -> 2.3 ms in
    ``benchmarks/bench_classify.py``)."""
    return np.divide(a, np.float32(255.0), dtype=np.float32)


def _pixels_to_gray(im: Image.Image) -> np.ndarray:
    """Loaded Pillow image of any mode -> float64 (H, W) in [0, 1] (8-bit modes: float32, the same values as
    float64 rounded to float32); see load_grayscale for the rules."""
    mode = im.mode
    if mode.startswith("I;16"):                      # I;16, I;16L, I;16B, I;16N: unsigned 16-bit
        return np.asarray(im).astype(np.float64) / 65535.0
    if mode == "I":                                  # int32; in practice 16-bit data widened by Pillow
        a = np.asarray(im).astype(np.float64)
        return a / 65535.0 if a.min() >= 0 and a.max() <= 65535 else _minmax(a)
    if mode == "F":
        a = np.asarray(im).astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError("float image has NaN or infinite pixels")
        return _minmax(a)
    if mode == "L":
        return _unit_8bit(np.asarray(im))
    if mode == "1":
        return _unit_8bit(np.asarray(im.convert("L")))
    if mode in ("LA", "La"):                         # drop alpha, keep the gray band as stored
        return _unit_8bit(np.asarray(im.getchannel("L")))
    # P, PA, RGB, RGBA, RGBa, RGBX, CMYK, YCbCr, LAB, HSV: to RGB (alpha dropped), then ITU-R 601-2 luma
    # L = 0.299 R + 0.587 G + 0.114 B, exactly as Pillow's convert("L"); a gray RGB pixel keeps its value.
    return _unit_8bit(np.asarray(im.convert("RGB").convert("L")))


def load_grayscale(path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file (PNG, JPEG, BMP, TIFF, GIF, ... any Pillow mode) to grayscale in [0, 1].

    Parameters
    ----------
    path : str or Path
    max_pixels : int
        Files whose header claims more than this many pixels are refused before decoding.

    Returns
    -------
    gray : ndarray, float32, shape (H, W), values in [0, 1]
        First frame only for multi-frame files.

    Raises
    ------
    ImageLoadError
        For anything that goes wrong: missing or unreadable file, not an image, truncated data,
        0-pixel image, more than ``max_pixels`` pixels (or a Pillow decompression-bomb warning), NaN pixels.
        No Pillow or OS exception escapes.

    Notes
    -----
    One representation for all modes:

    - ``1``, ``L``: value / 255 (``1`` -> 0 or 1).
    - ``LA``: the ``L`` band / 255; alpha is dropped.
    - ``RGB``, ``RGBA``, ``P``, ``CMYK``, ...: alpha dropped, then luma ``0.299 R + 0.587 G + 0.114 B``
      (Pillow's ``convert("L")``, 8-bit rounding) / 255. Alpha carries no CT information and, in COVID-CT,
      only COVID images have it, so compositing it would leak the label.
    - ``I;16*``: value / 65535.
    - ``I`` (int32): value / 65535 if all values are in [0, 65535] (16-bit data widened by Pillow),
      else min-max rescaled to [0, 1].
    - ``F`` (float32): min-max rescaled to [0, 1]; a constant image gives zeros.

    Tiny images (even 1 x 1) load; only a 0-pixel image is an error.
    """
    return _decode(path, max_pixels)[0]


def load_grayscale_checked(path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    """``load_grayscale`` and the input's warning: "" when the model can judge it, else why not (input_warning)."""
    gray, transparent = _decode(path, max_pixels)
    return gray, input_warning(gray, transparent)


def input_warning(gray: np.ndarray, transparent: bool = False) -> str:
    """Why a model cannot judge this (H, W) image, "" when it can: fully transparent, tiny or blank.

    The model still gives a number for such an input (a 1 x 1 image can come out as P(COVID) 1.0), so the
    commands print it beside the score instead of letting it pass silently.
    """
    reasons = []
    if transparent:
        reasons.append("fully transparent image (alpha 0 everywhere): nothing visible")
    h, w = gray.shape
    if min(h, w) < TINY_SIDE:
        reasons.append(f"tiny image ({w} x {h} px, under {TINY_SIDE} px)")
    if gray.size and float(gray.max()) - float(gray.min()) < 1.0 / 255:
        reasons.append("blank image (one intensity everywhere)")
    return "; ".join(reasons)


def _fully_transparent(im: Image.Image) -> bool:
    """True when the image has an alpha channel (or a transparent palette/colour) that is 0 everywhere."""
    if "A" in im.getbands():
        return im.getchannel("A").getextrema()[1] == 0
    if im.info.get("transparency") is not None:
        return im.convert("RGBA").getchannel("A").getextrema()[1] == 0
    return False


def _decode(path, max_pixels: int) -> tuple[np.ndarray, bool]:
    """``(gray, fully_transparent)``: load_grayscale's work, and whether alpha hid every pixel."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive int, got {max_pixels!r}")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a warning is not a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                W, H = im.size
                if W * H > max_pixels:
                    raise ImageLoadError(path, f"too large: {W} x {H} = {W * H} pixels > max_pixels={max_pixels}"
                                               " (decompression bomb?)")
                if W == 0 or H == 0:
                    raise ImageLoadError(path, f"empty image ({W} x {H} pixels)")
                im.load()
                gray = _pixels_to_gray(im)
                transparent = _fully_transparent(im)
    except ImageLoadError:
        raise
    except FileNotFoundError:
        raise ImageLoadError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageLoadError(path, "is a directory, not a file") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied") from None
    except Image.UnidentifiedImageError:
        raise ImageLoadError(path, "not an image, or a format Pillow cannot identify (empty file?)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(path, f"too large (decompression bomb): {err}") from None
    except Exception as err:  # noqa: BLE001 -- any decoder failure (OSError "truncated", SyntaxError, struct.error...)
        raise ImageLoadError(path, f"corrupt or truncated image data ({type(err).__name__}: {err})") from err
    return gray.astype(np.float32, copy=False), transparent


def _pad_to_aspect(gray: np.ndarray, H: int, W: int) -> np.ndarray:
    """Zero-pad (black, as the air around a CT body) equally on both sides to the aspect ratio W / H."""
    h, w = gray.shape
    if w * H < h * W:                                # too narrow: pad the width
        new_h, new_w = h, max(w, round(h * W / H))
    else:                                            # too flat: pad the height
        new_h, new_w = max(h, round(w * H / W)), w
    out = np.zeros((new_h, new_w), dtype=gray.dtype)
    top, left = (new_h - h) // 2, (new_w - w) // 2
    out[top:top + h, left:left + w] = gray
    return out


def to_network_input(gray, size=(227, 227), channels: int = 3, keep_aspect: bool = False) -> np.ndarray:
    """Resize a grayscale image and normalise it into the network's input tensor.

    Parameters
    ----------
    gray : array_like, shape (h, w), values in [0, 1]
        As returned by load_grayscale; any real dtype.
    size : int or (H, W)
        Output height and width; 227 x 227 is the SqueezeNet input used in the paper.
    channels : int
        Number of identical channels (3 for ImageNet-shaped weights, 1 for a gray-input network).
    keep_aspect : bool
        False (default, as the paper): resize straight to (H, W), so elongated images are stretched.
        True: first zero-pad the shorter side (centred) to the aspect ratio W / H, then resize.

    Returns
    -------
    x : ndarray, float32, shape (channels, H, W), C-contiguous
        ``(resized - NORMALISATION["mean"]) / NORMALISATION["std"]`` in every channel.

    Notes
    -----
    Resizing is Pillow's bilinear filter on a float32 ('F') image: deterministic, and with the filter support
    widened when shrinking, so downsampling averages (antialiases) instead of skipping pixels.
    """
    H, W = _as_size(size)
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    g = np.asarray(gray)
    if g.ndim != 2 or g.shape[0] == 0 or g.shape[1] == 0:
        raise ValueError(f"gray must be a non-empty 2-D array (h, w), got shape {g.shape}")
    if not np.issubdtype(g.dtype, np.number) or np.iscomplexobj(g):
        raise ValueError(f"gray must be a real numeric array, got dtype {g.dtype}")
    g = np.ascontiguousarray(g, dtype=np.float32)
    if not np.isfinite(g).all():
        raise ValueError("gray has NaN or infinite values")
    if keep_aspect:
        g = _pad_to_aspect(g, H, W)
    if g.shape != (H, W):
        g = np.asarray(Image.fromarray(g).resize((W, H), Image.Resampling.BILINEAR), dtype=np.float32)
    g = (g - np.float32(NORMALISATION["mean"])) / np.float32(NORMALISATION["std"])
    return np.ascontiguousarray(np.broadcast_to(g, (channels, H, W)), dtype=np.float32)


def load_image(path, size=(227, 227), channels: int = 3, keep_aspect: bool = False,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """load_grayscale then to_network_input: file -> float32 (channels, H, W). Raises ImageLoadError."""
    return to_network_input(load_grayscale(path, max_pixels=max_pixels), size, channels, keep_aspect)


def load_batch(paths: Iterable, size=(227, 227), channels: int = 3, keep_aspect: bool = False,
               on_error: str = "raise", max_pixels: int = DEFAULT_MAX_PIXELS, input_warnings: list | None = None):
    """Decode many files into one batch.

    Parameters
    ----------
    paths : iterable of str or Path
    size, channels, keep_aspect, max_pixels : as in load_image
    on_error : {"raise", "skip"}
        "raise": the first ImageLoadError propagates. "skip": bad files are left out and reported.
    input_warnings : list, optional
        If given, one string per kept image is appended: ``input_warning`` of it ("" for a usable image).

    Returns
    -------
    batch : ndarray, float32, shape (N, channels, H, W)
        N = len(kept); shape (0, channels, H, W) when nothing was kept.
    kept : list of Path
        The paths that loaded, in input order (batch[i] comes from kept[i]).
    errors : list of (Path, str)
        Each skipped path and its error message (always empty with on_error="raise").
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    H, W = _as_size(size)
    arrays, kept, errors = [], [], []
    for p in paths:
        try:
            gray, warning = load_grayscale_checked(p, max_pixels)
            arrays.append(to_network_input(gray, (H, W), channels, keep_aspect))
        except ImageLoadError as err:
            if on_error == "raise":
                raise
            errors.append((Path(p), str(err)))
            continue
        kept.append(Path(p))
        if input_warnings is not None:
            input_warnings.append(warning)
    batch = np.stack(arrays) if arrays else np.zeros((0, channels, H, W), dtype=np.float32)
    return batch, kept, errors


__all__ = ["NORMALISATION", "DEFAULT_MAX_PIXELS", "TINY_SIDE", "ImageLoadError", "load_grayscale",
           "load_grayscale_checked", "input_warning", "to_network_input", "load_image", "load_batch"]
