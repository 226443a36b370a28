"""Class activation maps (CAM, Zhou et al. 2016) of the four networks, and a localisation check on phantoms.

Teaches: why a network that ends in global average pooling (GAP) explains itself for free. The logit of class
``c`` is the spatial mean of a map; that map, before the mean, says *where* the evidence for ``c`` lies:

    network 4 (proposed):   logit_c = mean_xy( sum_k w_ck f_k(x, y) ) + b_c          CAM_c = sum_k w_ck f_k
    networks 1-3 (SqueezeNet): logit_c = mean_xy( ReLU( sum_k w_ck f_k(x, y) + b_c ) )  CAM_c = ReLU(w_c . f + b_c)

``f`` (N, K, h, w) are the classifier conv's input (``model.cam_features``), ``w`` (classes, K) and ``b`` its
1x1 weights and bias (``model.cam_weights()``, ``model.cam_bias()``). In SqueezeNet a ReLU sits between the
classifier conv and the pool, so the bias and the ReLU belong inside the map; its mean is then the logit
exactly. The raw map (h x w, 14x14 at 227 for SqueezeNet, 56x56 for the proposed CNN) is upsampled
bilinearly to the input size and min-max normalised to [0, 1] for display (Polsinelli et al. 2020, Figs 4-5).

On synthetic phantoms the lesion masks are known, so ``cam_localisation`` measures how much of the map's mass
falls on the lesions, against the share of the image the lesions cover (ratio 1 = no better than uniform).
Tests: ``tests/reports/test_cam.py``. Pictures: ``squeezenp.reports.figures``; command: ``squeezenp cam``;
docs: ``docs/cam.md``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PIL import Image

CLASS_INDEX = {"noncovid": 0, "covid": 1}     # label 1 = COVID, as squeezenp.data.CLASS_NAMES


@dataclasses.dataclass
class CamResult:
    """Class activation maps of a batch.

    maps : (N, H, W) float64 in [0, 1], upsampled to ``size`` and min-max normalised
    raw : (N, h, w) float64, the map before upsampling (its mean is the logit, minus the bias for network 4)
    classes : (N,) int, the class each map explains
    probabilities : (N, num_classes) float64, softmax of the logits
    logits : (N, num_classes) float64
    """
    maps: np.ndarray
    raw: np.ndarray
    classes: np.ndarray
    probabilities: np.ndarray
    logits: np.ndarray


def resolve_classes(target, logits: np.ndarray) -> np.ndarray:
    """Which class to explain for each row of ``logits``: "predicted" (argmax), "covid", "noncovid" or an int."""
    N, C = logits.shape
    if isinstance(target, str):
        key = target.lower()
        if key == "predicted":
            return np.argmax(logits, axis=1)
        if key not in CLASS_INDEX:
            raise ValueError(f"class must be 'predicted', 'covid', 'noncovid' or an index, got {target!r}")
        target = CLASS_INDEX[key]
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= int(target) < C:
        raise ValueError(f"class index must be an int in [0, {C}), got {target!r}")
    return np.full(N, int(target), dtype=np.int64)


def raw_class_maps(model, x, target="predicted", batch_size: int = 32):
    """Evaluation-mode forward passes and the raw CAM of the chosen class for each image.

    Parameters
    ----------
    model : a squeezenp model (``cam_features``, ``cam_weights()``, ``cam_bias()``, ``cam_is_linear``)
    x : (N, C, H, W) network input
    target : "predicted", "covid", "noncovid" or a class index

    Returns
    -------
    raw : (N, h, w) float64;  classes : (N,) int;  logits : (N, num_classes) float64

    ``raw.mean(axis=(1, 2)) == logits[n, classes] - bias[classes]`` when ``model.cam_is_linear`` (network 4),
    ``== logits[n, classes]`` otherwise (the bias and the final ReLU are inside the map).
    """
    x = np.asarray(x)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"x must be a non-empty (N, C, H, W) batch, got shape {x.shape}")
    W = np.asarray(model.cam_weights(), dtype=np.float64)          # (classes, K)
    b = np.asarray(model.cam_bias(), dtype=np.float64)             # (classes,)
    raws, classes, logits = [], [], []
    for s in range(0, len(x), max(1, int(batch_size))):
        lg = np.asarray(model.forward(x[s:s + batch_size], training=False), dtype=np.float64)
        f = np.asarray(model.cam_features, dtype=np.float64)        # (n, K, h, w)
        cls = resolve_classes(target, lg)
        m = np.einsum("nk,nkhw->nhw", W[cls], f)                    # weighted sum of the final feature maps
        if not getattr(model, "cam_is_linear", False):
            m = np.maximum(m + b[cls][:, None, None], 0.0)          # SqueezeNet: conv10 -> ReLU -> GAP
        raws.append(m)
        classes.append(cls)
        logits.append(lg)
    return np.concatenate(raws), np.concatenate(classes), np.concatenate(logits)


def upsample(maps, size) -> np.ndarray:
    """Bilinear resize of (N, h, w) maps to (N, H, W); ``size`` is an int or (H, W). Pillow 'F' images."""
    maps = np.asarray(maps, dtype=np.float64)
    H, W = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    if maps.shape[1:] == (H, W):
        return maps.copy()
    out = np.empty((len(maps), H, W))
    for i, m in enumerate(maps):
        im = Image.fromarray(np.ascontiguousarray(m, dtype=np.float32))   # mode "F"
        out[i] = np.asarray(im.resize((W, H), Image.Resampling.BILINEAR))
    return out


def normalise(maps) -> np.ndarray:
    """Min-max each (h, w) map of (N, h, w) to [0, 1]; a constant map (no evidence anywhere) becomes all 0."""
    maps = np.asarray(maps, dtype=np.float64)
    lo = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 0, (maps - lo) / np.where(span > 0, span, 1.0), 0.0)
    return np.clip(out, 0.0, 1.0)


def class_activation_maps(model, x, target="predicted", size=None, batch_size: int = 32) -> CamResult:
    """CAMs of ``target`` for a batch ``x`` (N, C, H, W), upsampled to ``size`` (default: the input's H, W)."""
    raw, classes, logits = raw_class_maps(model, x, target, batch_size)
    size = tuple(np.asarray(x).shape[2:]) if size is None else size
    z = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return CamResult(normalise(upsample(raw, size)), raw, classes, prob, logits)


# --- localisation on phantoms ---------------------------------------------------------------------------------
def localisation_scores(maps, masks) -> dict:
    """How well maps in [0, 1] point at known lesions.

    Parameters
    ----------
    maps : (N, H, W) non-negative maps (e.g. ``CamResult.maps``)
    masks : (N, H, W) bool lesion masks, same size; images with an empty mask are left out

    Returns
    -------
    dict with ``n`` (images used), and means over them of ``cam_mass_in_mask`` (sum of the map on the mask /
    sum of the map; 0 for an all-zero map), ``mask_area`` (share of pixels in the mask) and
    ``peak_in_mask`` (the map's maximum lies on the mask: the "pointing game"); ``ratio`` =
    cam_mass_in_mask / mask_area (1 = no better than a uniform map; higher = concentrated on the lesions).
    """
    maps, masks = np.asarray(maps, dtype=np.float64), np.asarray(masks).astype(bool)
    if maps.shape != masks.shape or maps.ndim != 3:
        raise ValueError(f"maps and masks must both be (N, H, W) of the same shape, got {maps.shape} and {masks.shape}")
    keep = masks.reshape(len(masks), -1).any(axis=1)
    maps, masks = maps[keep], masks[keep]
    nan = float("nan")
    if len(maps) == 0:
        return {"n": 0, "cam_mass_in_mask": nan, "mask_area": nan, "ratio": nan, "peak_in_mask": nan}
    total = maps.sum(axis=(1, 2))
    inside = (maps * masks).sum(axis=(1, 2))
    mass = np.divide(inside, total, out=np.zeros_like(total), where=total > 0)
    area = masks.mean(axis=(1, 2))
    peak = masks.reshape(len(masks), -1)[np.arange(len(masks)), maps.reshape(len(maps), -1).argmax(axis=1)]
    m, a = float(mass.mean()), float(area.mean())
    return {"n": int(len(maps)), "cam_mass_in_mask": m, "mask_area": a, "ratio": m / a if a > 0 else nan,
            "peak_in_mask": float(peak.mean())}


def cam_localisation(model, images, masks, target="covid") -> dict:
    """``localisation_scores`` of the ``target`` CAMs of ``images`` (N, C, H, W) against ``masks`` (N, h, w).

    The maps are upsampled to the masks' size. Means are over the images with a non-empty mask (COVID).
    """
    masks = np.asarray(masks).astype(bool)
    if masks.ndim != 3 or len(masks) != len(images):
        raise ValueError(f"masks must be (N, h, w) with N = {len(images)} images, got shape {masks.shape}")
    res = class_activation_maps(model, images, target, size=masks.shape[1:])
    out = localisation_scores(res.maps, masks)
    out["target"] = target
    return out


def format_localisation(loc: dict) -> str:
    """One line for logs: share of CAM mass on the lesions vs the lesions' share of the image."""
    return (f"CAM localisation ({loc['n']} COVID images): {100 * loc['cam_mass_in_mask']:.1f}% of the map's mass "
            f"on the lesions, which cover {100 * loc['mask_area']:.1f}% of the image (ratio {loc['ratio']:.2f}, "
            f"1 = chance; peak on a lesion in {100 * loc['peak_in_mask']:.0f}% of images)")


def phantom_covid_files(phantom_root, splits=("val", "test")) -> list[tuple[Path, Path]]:
    """(image, mask) paths of the COVID phantoms of ``splits`` under ``phantom_root`` (write_phantom_folder)."""
    root, pairs = Path(phantom_root), []
    for split in splits:
        for p in sorted((root / split / "COVID").glob("*.png")):
            m = root / "masks" / split / "COVID" / p.name
            if m.is_file():
                pairs.append((p, m))
    return pairs


def load_mask(path) -> np.ndarray:
    """A lesion mask PNG (0 / 255) -> bool (h, w)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def write_demo_cam_report(model, out_dir, phantom_root, input_size: int, n_grid: int = 6, log=print) -> dict:
    """Localisation of ``model``'s COVID maps on the val/test COVID phantoms, and a CAM grid, into ``out_dir``.

    Writes ``cam_localisation.json`` and ``cam_grid.png``; returns the localisation dict (``format_localisation``
    is printed through ``log``).
    """
    from . import figures
    from ..core.atomic import atomic_write_json
    from ..data import load_batch, load_grayscale
    pairs = phantom_covid_files(phantom_root)
    if not pairs:
        raise ValueError(f"no COVID phantoms with masks under {phantom_root}/{{val,test}}/COVID")
    channels = int(model.config.get("in_channels", 3)) if hasattr(model, "config") else 3
    x, _, _ = load_batch([p for p, _ in pairs], (input_size, input_size), channels)
    masks = np.stack([load_mask(m) for _, m in pairs])
    loc = cam_localisation(model, x, masks)
    loc["images"] = [str(p) for p, _ in pairs]
    out = Path(out_dir)
    atomic_write_json(out / "cam_localisation.json", loc)
    pick = list(range(min(n_grid, len(pairs))))
    res = class_activation_maps(model, x[pick], "covid")
    gray = [load_grayscale(pairs[i][0]) for i in pick]
    name = model.name if hasattr(model, "name") else "model"
    figures.cam_grid(gray, [res.maps], [name], out / "cam_grid.png",
                     row_labels=[f"{pairs[i][0].parent.parent.name}/{pairs[i][0].name}" for i in pick],
                     probabilities=[res.probabilities[:, 1]], masks=[masks[i] for i in pick],
                     true_labels=["COVID"] * len(pick),
                     title=f"Class activation maps of COVID: {name} on COVID phantoms")
    if log:
        log(format_localisation(loc))
    return loc


__all__ = ["CamResult", "CLASS_INDEX", "resolve_classes", "raw_class_maps", "upsample", "normalise",
           "class_activation_maps", "localisation_scores", "cam_localisation", "format_localisation",
           "phantom_covid_files", "load_mask", "write_demo_cam_report"]
