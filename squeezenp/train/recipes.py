"""Training recipes: everything between image files and a trained model, named and reproducible.

A recipe fixes the input size, the preprocessing, the augmentation, the initialisation, the training loop's
settings and the prediction (test-time augmentation). ``squeezenp train --recipe NAME`` and ``squeezenp cv``
use them; ``RECIPES`` lists them:

``paper``      the paper's experiment 4 as squeezenp has always run it: 227 px, the fixed x4 augmentation
               (rotation, scaling, noise), from scratch, sgdm with Table 3's values, x0.8 every 5 epochs,
               20 epochs, the epoch with the best selection accuracy.
``matlab``     the paper's loop as Matlab 2020a runs it where the article is silent (``../shared/paper/tables.md``,
               "What Matlab 2020a does"; each choice below is a field of its own, so that its effect can be
               measured alone, ``examples/matlab_defaults.py``):

               ====================  =================================================  ==================================
               choice                Matlab 2020a default                               field
               ====================  =================================================  ==================================
               mini-batch            MiniBatchSize 128; the images that do not fill a   ``train.batch_size``,
                                     last whole batch are left out of the epoch         ``train.drop_last``
               order                 Shuffle 'once': one shuffle before training        ``train.shuffle``
               initialisation        'glorot' weights, zero biases, every convolution   ``init``
                                     and transposed convolution
               input                 imageInputLayer 'zerocenter': the training set's   ``input_normalization``
                                     mean image subtracted from 0-255 pixels
                                     (ImageNet's mean for an ImageNet-started network)
               network returned      the last iteration's (R2020a; OutputNetwork came   ``train.select``
                                     in R2021b)
               lr, momentum, L2      the paper's searched values, Table 3, per network  ``paper_values``
               search bounds         lr [1e-4, 1e-1], momentum [0.5, 0.99], L2          ``search_space``
                                     [1e-12, 1e-2] (inferred: the smallest values of
                                     Tables 3-4 lie just above 1e-4 and 1e-12)
               ====================  =================================================  ==================================

               Everything else as ``paper``: 227 px, the fixed x4 augmentation, x0.8 every 5 epochs, 20 epochs.
``matlab_alive`` ``matlab`` plus the smallest set of changes found that keeps networks 1 and 2 from collapsing
               (``examples/matlab_defaults.py``, docs/reproduction.md): SqueezeNet's conv10 starts at weight 0 and
               bias 0.1 (``init="glorot_zero_conv10"``; the proposed CNN's classifier is unchanged), every batch
               holds the classes in the training set's proportions (``stratified_batches``), and each parameter
               array's gradient is clipped to l2 norm 1 (Matlab's own ``GradientThreshold`` option, set to 1).
               The ``quick`` reproduction trains with it.
``default``    the best recipe measured with grouped cross-validation (docs/accuracy.md): ImageNet trunk with
               identity batch norms, crop to the body + per-image standardisation, the paper's x4 augmentation
               (10 epochs of the four copies; ranked better than 30 epochs of fresh per-batch draws), cosine
               schedule with warm-up, label smoothing, the average of the last epochs' weights, and a
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
    init: str = "default"                # "default" (He normal, squeezenp's classifiers) or "glorot" (Matlab)
    input_normalization: str = "none"    # "none" or "zerocenter" (Matlab's input layer; ImageNet's for ImageNet starts)
    paper_values: bool = False           # lr, momentum, L2 from the paper's Table 3 for the network (train overrides)
    search_space: dict = dataclasses.field(default_factory=dict)   # bounds replacing search.default_space's

    def __post_init__(self):
        from ..models.initialisation import SCHEMES
        if self.preprocessing not in PREPROCESSING:
            raise ValueError(f"recipe {self.name}: preprocessing must be one of {PREPROCESSING}")
        if self.augmentation not in ("x4", "online", "none"):
            raise ValueError(f"recipe {self.name}: augmentation must be 'x4', 'online' or 'none'")
        if self.init not in SCHEMES:
            raise ValueError(f"recipe {self.name}: init must be one of {SCHEMES}, got {self.init!r}")
        if self.input_normalization not in ("none", "zerocenter"):
            raise ValueError(f"recipe {self.name}: input_normalization must be 'none' or 'zerocenter', got "
                             f"{self.input_normalization!r}")
        TrainConfig(**self.train)     # fails early on an unknown or invalid field

    def config(self, seed: int, model: str | None = None) -> TrainConfig:
        """The TrainConfig of a run of network ``model`` (default: the recipe's): with ``paper_values``, Table 3's
        lr, momentum and L2 for that network, then the recipe's ``train`` fields."""
        base = paper_train_values(model or self.model) if self.paper_values else {}
        return TrainConfig(**{**base, **self.train, "seed": int(seed),
                              "online_augment": self.augmentation == "online"})

    def input_mode(self, model: str | None = None) -> str:
        """The network's input normalisation (``models.input_normalization.MODES``): ``zerocenter`` becomes
        ``imagenet`` for a network that starts from ImageNet weights, as Matlab's pretrained squeezenet keeps
        ImageNet's mean image in its input layer."""
        if self.input_normalization == "none":
            return "none"
        name = model or self.model
        return "imagenet" if self.imagenet_trunk or name == "squeezenet_bypass_transfer" else "zerocenter"

    def as_dict(self) -> dict:
        """The recipe as JSON-able data. Fields added after the first recipes were stored (``LATER_FIELDS``) are
        written only when they differ from their default, so folders written before them still match."""
        d = dataclasses.asdict(self)
        defaults = {f.name: (f.default_factory() if f.default is dataclasses.MISSING else f.default)
                    for f in dataclasses.fields(self) if f.name in LATER_FIELDS}
        return {k: v for k, v in d.items() if k not in LATER_FIELDS or v != defaults[k]}


LATER_FIELDS = ("init", "input_normalization", "paper_values", "search_space")


def paper_train_values(model: str) -> dict:
    """``{lr, momentum, l2}`` of the paper's Table 3 (arrangement 1) for network ``model``."""
    from .paper import paper_row
    from .paper import NETWORKS
    k = {name: k for k, name in NETWORKS.items()}.get(model)
    if k is None:
        raise ValueError(f"no Table 3 values for network {model!r}; expected one of {list(NETWORKS.values())}")
    row = paper_row(1, k)
    return {p: row[p] for p in ("lr", "momentum", "l2")}


MATLAB_TRAIN = dict(epochs=20, batch_size=128, drop_last=True, shuffle="once", select="last",
                    lr_drop_factor=0.8, lr_drop_period=5)
MATLAB_SEARCH_SPACE = {"lr": (1e-4, 1e-1), "momentum": (0.5, 0.99), "l2": (1e-12, 1e-2)}

RECIPES = {
    "paper": Recipe("paper"),
    "matlab": Recipe("matlab", init="glorot", input_normalization="zerocenter", paper_values=True,
                     search_space=MATLAB_SEARCH_SPACE, train=MATLAB_TRAIN),
    "matlab_alive": Recipe("matlab_alive", init="glorot_zero_conv10", input_normalization="zerocenter",
                           paper_values=True, search_space=MATLAB_SEARCH_SPACE,
                           train={**MATLAB_TRAIN, "stratified_batches": True, "gradient_threshold": 1.0}),
    "default": Recipe(
        "default", input_size=128, preprocessing="crop+standardise", augmentation="x4", imagenet_trunk=True,
        tta=True, train=dict(epochs=10, batch_size=32, lr=0.01, momentum=0.9, l2=1e-4, schedule="cosine",
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


def build_model(recipe: Recipe, x_train: np.ndarray, seed: int, weights=None, model: str | None = None):
    """A fresh network ``model`` (default: the recipe's) with the recipe's initialisation and input normalisation
    (a ``zerocenter`` mean image from ``x_train``, the images as the training loop will see them); with
    ``imagenet_trunk`` the ImageNet weights (``weights`` or the shared default) and identity batch norms calibrated
    on up to 64 training images; ``squeezenet_bypass_transfer`` loads ``weights`` (default: the shared ones)."""
    from .. import models
    from ..models.transfer import imagenet_start
    name = model or recipe.model
    model = models.create(name, num_classes=2, input_size=recipe.input_size, in_channels=x_train.shape[1],
                          seed=seed, init=recipe.init, input_normalization=recipe.input_mode(name),
                          pretrained=weights if name == "squeezenet_bypass_transfer" else None)
    data_start(model, x_train, seed)
    if recipe.imagenet_trunk:
        weights = weights or models.default_pretrained_path()
        if weights is None:
            raise FileNotFoundError("recipe needs ImageNet weights: set $SQUEEZENP_SHARED to the folder holding "
                                    "weights/squeezenet1_1_imagenet.npz")
        pick = np.random.default_rng([seed, 3]).permutation(len(x_train))[:64]
        imagenet_start(model, weights, x_train[np.sort(pick)])
    return model


def start_model(recipe: Recipe, x: np.ndarray, y: np.ndarray, seed: int, weights=None, model: str | None = None):
    """The fresh network ``train_recipe`` builds for the distinct training images ``x`` (N, C, S, S) with labels
    ``y``: after the recipe's x4 augmentation, so that a zerocenter mean image is the augmented set's."""
    if recipe.augmentation == "x4":
        x, _ = _x4(x, y, seed)
    return build_model(recipe, x, seed, weights, model)


def data_start(model, x_train: np.ndarray, seed: int = 0) -> None:
    """What a fresh network needs from its training images before the first step: a ``zerocenter`` mean image
    (``set_zerocenter_mean``) and, for ``init="lsuv"``, the unit-variance scaling of its convolutions on 64 of
    them (``models.initialisation.scale_to_unit_variance``)."""
    from ..models.initialisation import scale_to_unit_variance
    set_zerocenter_mean(model, x_train)
    if model.config.get("init") == "lsuv":
        pick = np.sort(np.random.default_rng([seed, 5]).permutation(len(x_train))[:64])
        scale_to_unit_variance(model, np.ascontiguousarray(x_train[pick]))


def set_zerocenter_mean(model, x_train: np.ndarray) -> bool:
    """Give a ``zerocenter`` network the mean image of ``x_train`` (N, C, H, W) pipeline tensors, as Matlab's
    ``trainNetwork`` computes it from the training data before the first step; True if it had one to set."""
    from ..models.input_normalization import mean_image
    layer = model.children.get("input_norm")
    if layer is None or layer.mode != "zerocenter":
        return False
    layer.set_mean(mean_image(x_train))
    return True


def train_recipe(recipe: Recipe, x: np.ndarray, y: np.ndarray, x_select: np.ndarray | None,
                 y_select: np.ndarray | None, seed: int = 0, checkpoint: str | Path | None = None,
                 resume: bool = False, log: Callable[[str], None] | None = None, weights=None, model=None,
                 config: TrainConfig | None = None, stop_when=None):
    """Train one model; ``x_select``/``y_select`` choose the epoch when the recipe selects the best one.

    ``model``: start from this one (e.g. saved weights) instead of ``build_model``; ``config``: the recipe's
    ``TrainConfig`` with fields changed (explicit command-line options), by default ``recipe.config(seed)``;
    ``stop_when`` as in ``fit`` (e.g. ``collapse.irrecoverable(x_probe)``).
    """
    config = recipe.config(seed) if config is None else config
    fresh = model is None
    if recipe.augmentation == "x4":   # first: the zerocenter mean image is that of the augmented training set
        x, y = _x4(x, y, seed)
    if fresh:
        model = build_model(recipe, x, seed, weights)
    val = (x_select, y_select) if x_select is not None and len(x_select) else None
    result: TrainResult = fit(model, (x, y), val, config, checkpoint=checkpoint, resume=resume, log=log,
                              stop_when=stop_when)
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
