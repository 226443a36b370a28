"""What each data split is, and what a run used it for, in plain words (for report pages and pictures).

The names are those of ``squeezenp.data.arrangement1`` / ``arrangement2``: ``train`` (after the x4
augmentation), ``train_distinct`` (its distinct images), ``val``, ``test1`` (the data's test folder, the paper's
Test-1), ``test2`` (the second COVID source, Test-2) and ``test`` (arrangement 2's mixed test split).
"""
from __future__ import annotations

LABELS = {"train": "train", "train_distinct": "train, distinct images", "val": "validation",
          "test": "test", "test1": "test1 (Test-1)", "test2": "test2 (Test-2)"}

_HELD_OUT = "held out: never used for training or for choosing the epoch"
_ROLES = {
    "train": "training: the distinct images and their rotated, scaled and noisy copies (x4 augmentation)",
    "train_distinct": "training images before the x4 augmentation",
    "test": _HELD_OUT,
    "test1": _HELD_OUT + " (the data's test folder, the paper's Test-1)",
    "test2": _HELD_OUT + " (the second COVID source only, the paper's Test-2)",
}
_VAL = {"train": "validation, used to choose the epoch",
        "search": "validation, used to score the search's trials and to choose the epoch",
        "evaluate": "the data's validation folder (if the model was trained on this data, it chose its epoch)"}


def split_role(name: str, context: str = "train") -> str:
    """What split ``name`` was used for. ``context``: "train" (one training), "search" (a Bayesian search or
    the reproduction, where validation also scores trials) or "evaluate" (a model trained elsewhere)."""
    if name == "val":
        if context not in _VAL:
            raise ValueError(f"context must be one of {sorted(_VAL)}, got {context!r}")
        return _VAL[context]
    if context == "evaluate" and name.startswith("test"):
        return "the data's test images" + (" (second COVID source)" if name == "test2" else "") + \
            ": held out if the model was not trained or selected on them"
    return _ROLES.get(name, f"split {name!r}")


def split_label(name: str) -> str:
    """A split's display name: "validation", "test1 (Test-1)", ..."""
    return LABELS.get(name, name)


def roles(names, context: str = "train") -> dict:
    """{name: split_role(name, context)} for the given split names."""
    return {n: split_role(n, context) for n in names}


__all__ = ["split_role", "split_label", "roles", "LABELS"]
