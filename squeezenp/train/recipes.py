"""Training recipes: everything between image files and a trained model, named and reproducible.

A recipe fixes the input size, the preprocessing, the augmentation, the initialisation, the training loop's
settings and the prediction (test-time augmentation). ``squeezenp train --recipe NAME`` and ``squeezenp cv``
use them; ``RECIPES`` lists them:

``paper``      the paper's experiment 4 as squeezenp has always run it: 227 px, the fixed x4 augmentation
               (rotation, scaling, noise), from scratch, sgdm with Table 3's values, x0.8 every 5 epochs,
               20 epochs, the epoch with the best selection accuracy.
``default``    the best recipe measured with grouped cross-validation (docs/accuracy.md): ImageNet trunk with
               identity batch norms, crop to the body + per-image standardisation, online augmentation,
               cosine schedule with warm-up, label smoothing, the average of the last epochs' weights, and a
               left-right flip averaged at prediction time.

API::

    get_recipe(name, **overrides) -> Recipe
    load_tensors(recipe, paths) -> x (N, 3, S, S) float32         # decode, preprocess, resize, normalise
    train_recipe(recipe, x, y, x_select, y_select, seed) -> (model, TrainResult)
    predict_covid(recipe, model, x) -> P(COVID) (N,)              # with the recipe's test-time augmentation

Tests: ``tests/train/test_recipes.py``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import data as D
from ..data.preprocess import PREPROCESSING, preprocess
from ..models.networks import predict_proba
from .trainer import TrainConfig, TrainResult, fit


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    model: str = "proposed"
    input_size: int = 227
    preprocessing: str = "none"          # one of data.preprocess.PREPROCESSING
    augmentation: str = "x4"             # "x4" (fixed copies, the paper), "online" (fresh per batch) or "none"
    imagenet_trunk: bool = False         # SqueezeNet 1.1 ImageNet weights in conv1 + Fire, identity batch norms
    tta: bool = False                    # average P(COVID) over the image and its left-right mirror
    train: dict = dataclasses.field(default_factory=dict)   # TrainConfig fields (seed is set per run)

    def __post_init__(self):
        if self.preprocessing not in PREPROCESSING:
            raise ValueError(f"recipe {self.name}: preprocessing must be one of {PREPROCESSING}")
        if self.augmentation not in ("x4", "online", "none"):
            raise ValueError(f"recipe {self.name}: augmentation must be 'x4', 'online' or 'none'")
        TrainConfig(**self.train)     # fails early on an unknown or invalid field

    def config(self, seed: int) -> TrainConfig:
        return TrainConfig(**{**self.train, "seed": int(seed),
                              "online_augment": self.augmentation == "online"})

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


RECIPES = {
    "paper": Recipe("paper"),
    "default": Recipe(
        "default", input_size=128, preprocessing="crop+standardise", augmentation="online", imagenet_trunk=True,
        tta=True, train=dict(epochs=30, batch_size=32, lr=0.01, momentum=0.9, l2=1e-4, schedule="cosine",
                             warmup_epochs=1, label_smoothing=0.1, average_last=5, select="last")),
}


def get_recipe(name: str, **overrides) -> Recipe:
    """A registered recipe, optionally with fields replaced (``input_size=128``, ``train={"epochs": 5}``:
    ``train`` overrides are merged into the recipe's).

    Fewer ``epochs`` than the recipe's (a quick run) also shorten its weight-averaging window and warm-up to fit,
    unless those are given too: ``average_last <= epochs``, ``warmup_epochs < epochs``.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; available: {sorted(RECIPES)}")
    r = RECIPES[name]
    if "train" in overrides:
        train = {**r.train, **overrides["train"]}
        epochs = train.get("epochs")
        if epochs is not None and "average_last" not in overrides["train"] and train.get("average_last", 0) > epochs:
            train["average_last"] = epochs
        if epochs is not None and "warmup_epochs" not in overrides["train"] \
                and train.get("warmup_epochs", 0) >= epochs:
            train["warmup_epochs"] = epochs - 1
        overrides["train"] = train
    return dataclasses.replace(r, **overrides)


def load_gray(recipe: Recipe, paths: Sequence) -> list[np.ndarray]:
    """Decode and preprocess every file (gray (h, w) in about [0, 1]); ImageLoadError names a bad file."""
    return [preprocess(D.load_grayscale(p), recipe.preprocessing) for p in paths]


def to_tensors(recipe: Recipe, grays: Sequence[np.ndarray], channels: int = 3) -> np.ndarray:
    S = recipe.input_size
    x = np.empty((len(grays), channels, S, S), dtype=np.float32)
    for i, g in enumerate(grays):
        x[i] = D.to_network_input(g, (S, S), channels)
    return x


def load_tensors(recipe: Recipe, paths: Sequence, channels: int = 3) -> np.ndarray:
    return to_tensors(recipe, load_gray(recipe, paths), channels)


def _x4(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    ds = D.augment_dataset(D.ArrayDataset(x, y), x.shape[1], seed)
    return ds.images, ds.labels


def build_model(recipe: Recipe, x_train: np.ndarray, seed: int, weights=None):
    """A fresh model of the recipe; with ``imagenet_trunk`` the ImageNet weights (``weights`` or the shared
    default) and identity batch norms calibrated on up to 64 training images."""
    from .. import models
    from ..models.transfer import imagenet_start
    model = models.create(recipe.model, num_classes=2, input_size=recipe.input_size, seed=seed)
    if recipe.imagenet_trunk:
        weights = weights or models.default_pretrained_path()
        if weights is None:
            raise FileNotFoundError("recipe needs ImageNet weights: set $SQUEEZENP_SHARED to the folder holding "
                                    "weights/squeezenet1_1_imagenet.npz")
        pick = np.random.default_rng([seed, 3]).permutation(len(x_train))[:64]
        imagenet_start(model, weights, x_train[np.sort(pick)])
    return model


def train_recipe(recipe: Recipe, x: np.ndarray, y: np.ndarray, x_select: np.ndarray | None,
                 y_select: np.ndarray | None, seed: int = 0, checkpoint: str | Path | None = None,
                 resume: bool = False, log: Callable[[str], None] | None = None, weights=None, model=None,
                 config: TrainConfig | None = None):
    """Train one model; ``x_select``/``y_select`` choose the epoch when the recipe selects the best one.

    ``model``: start from this one (e.g. saved weights) instead of ``build_model``; ``config``: the recipe's
    ``TrainConfig`` with fields changed (explicit command-line options), by default ``recipe.config(seed)``.
    """
    config = recipe.config(seed) if config is None else config
    model = build_model(recipe, x, seed, weights) if model is None else model
    if recipe.augmentation == "x4":
        x, y = _x4(x, y, seed)
    val = (x_select, y_select) if x_select is not None and len(x_select) else None
    result: TrainResult = fit(model, (x, y), val, config, checkpoint=checkpoint, resume=resume, log=log)
    return model, result


def predict_covid(recipe: Recipe, model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """P(COVID) (N,); with ``recipe.tta`` the mean over the image and its mirror (2x the prediction cost)."""
    return covid_probability(model, x, recipe.tta, batch_size)


def covid_probability(model, x: np.ndarray, tta: bool = False, batch_size: int = 32) -> np.ndarray:
    """P(COVID) (N,) of tensors x (N, C, H, W); ``tta``: the mean over x and its left-right mirror."""
    p = predict_proba(model, x, batch_size)[:, 1]
    if tta:
        p = 0.5 * (p + predict_proba(model, np.ascontiguousarray(x[..., ::-1]), batch_size)[:, 1])
    return p
