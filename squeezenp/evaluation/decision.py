"""How a saved model turns image files into a decision, from what its file's config says.

A model trained by ``squeezenp train`` stores, beside its architecture, everything prediction needs::

    ct_preprocessing : "none" | "crop" | "standardise" | "crop+standardise"   (data.preprocess; default
                    "none"), before the resize and normalisation that the config's "preprocessing" describes
    tta           : average P(COVID) over the image and its left-right mirror (default false)
    calibration   : {"a", "b"}: Platt scaling fitted on the validation split (calibration.py; default none)
    threshold     : the cut-off on the (calibrated) probability, ``prediction = probability_covid >= threshold``
    operating_point : in words, how the threshold was chosen

``raw = P(COVID)`` of the network (with TTA); ``probability_covid = sigmoid(a * logit(raw) + b)`` when the model
has a calibration, else ``raw``. Platt scaling keeps the order of the scores, so a threshold is the same decision
whichever scale it is written on: the default one is the network's 0.5 cut-off written on the calibrated scale,
``sigmoid(b)``, so calibrating changes what the probability means, never which images are called COVID. With a
sensitivity target the threshold is the sensitivity-first cut-off on the validation split
(thresholds.sensitivity_first_threshold). A model file without these keys (older files, ``demo``, ``tune``)
decides as before: raw P(COVID) >= 0.5.

Tests: ``tests/evaluation/test_decision.py``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .calibration import apply_platt, check_calibration, fit_platt
from .thresholds import DEFAULT_THRESHOLD, sensitivity_first_threshold


def load_inputs(paths: Sequence, size: int, channels: int = 3, preprocessing: str = "none",
                on_error: str = "raise", input_warnings: list | None = None):
    """``(x (N, channels, size, size) float32, kept paths, errors)`` as ``data.load_batch``, with the
    preprocessing of ``data.preprocess`` between decoding and resizing; ``input_warnings`` as there (why the
    model cannot judge each kept image, judged on the decoded image)."""
    from .. import data as D
    from ..data.preprocess import PREPROCESSING, preprocess
    if preprocessing == "none":
        return D.load_batch(paths, (size, size), channels, on_error=on_error, input_warnings=input_warnings)
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"preprocessing must be one of {PREPROCESSING}, got {preprocessing!r}")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    arrays, kept, errors = [], [], []
    for p in paths:
        try:
            gray, warning = D.load_grayscale_checked(p)
        except D.ImageLoadError as err:
            if on_error == "raise":
                raise
            errors.append((Path(p), str(err)))
            continue
        arrays.append(D.to_network_input(preprocess(gray, preprocessing), (size, size), channels))
        kept.append(Path(p))
        if input_warnings is not None:
            input_warnings.append(warning)
    x = np.stack(arrays) if arrays else np.zeros((0, channels, size, size), dtype=np.float32)
    return x, kept, errors


def model_inputs(model, paths: Sequence, on_error: str = "raise", input_warnings: list | None = None):
    """``load_inputs`` at the model's input size, channels and preprocessing."""
    c = model.config
    return load_inputs(paths, int(c["input_size"]), int(c.get("in_channels", 3)), preprocessing_of(model),
                       on_error, input_warnings)


def preprocessing_of(model) -> str:
    from ..data.preprocess import PREPROCESSING
    mode = model.config.get("ct_preprocessing", "none")
    if mode not in PREPROCESSING:
        raise ValueError(f"model config 'ct_preprocessing' must be one of {PREPROCESSING}, got {mode!r:.60}")
    return mode


def raw_probability(model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """The network's P(COVID) (N,) on tensors x (N, C, H, W); with ``tta`` the mean over x and its mirror."""
    from ..train.recipes import covid_probability
    return covid_probability(model, x, bool(model.config.get("tta", False)), batch_size)


def operating_point(model) -> tuple[dict | None, float]:
    """``(calibration or None, threshold)`` from the model's config, checked (ValueError naming the key)."""
    c = model.config
    cal = c.get("calibration")
    if cal is not None:
        check_calibration(cal, "model config 'calibration'")
    t = c.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise ValueError(f"model config 'threshold' must be a number in [0, 1], got {t!r:.60}")
    return cal, float(t)


def decide(model, raw) -> tuple[np.ndarray, np.ndarray]:
    """``(probability_covid (N,), prediction (N,) bool)`` from the raw P(COVID): calibrated when the model has
    a calibration, cut at its threshold."""
    cal, t = operating_point(model)
    prob = apply_platt(raw, cal) if cal is not None else np.asarray(raw, dtype=np.float64)
    return prob, prob >= t


def set_operating_point(model, labels, raw, sensitivity_target: float | None = None) -> dict:
    """Fit the calibration on ``(labels, raw)`` of a held-out split and choose the threshold; store both in
    ``model.config`` and return what was stored.

    Default: the 0.5 cut-off of the raw probability, on the calibrated scale. ``sensitivity_target``: the
    sensitivity-first cut-off reaching that share of the split's COVID images.
    """
    cal = fit_platt(labels, raw)
    if sensitivity_target is None:
        raw_cut, rule = DEFAULT_THRESHOLD, "P(COVID) >= 0.5 of the network, written on the calibrated scale"
    else:
        raw_cut = sensitivity_first_threshold(labels, raw, sensitivity_target)
        rule = (f"sensitivity-first: the highest cut-off finding {sensitivity_target:.0%} of the validation "
                f"split's COVID images")
    point = {"calibration": cal, "threshold": float(apply_platt(raw_cut, cal)), "operating_point": rule}
    model.config.update(point)
    return point


__all__ = ["load_inputs", "model_inputs", "preprocessing_of", "raw_probability", "operating_point", "decide",
           "set_operating_point"]
