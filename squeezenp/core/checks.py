"""Argument checks shared by the layers: a bad input is a ``ValueError`` naming the layer, what it expected and
what it got; a backward without its forward is a ``RuntimeError``."""
from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def check_input(layer, x, ndim: int | None = 4, channels: int | None = None,
                channel_axis: int = 1) -> np.ndarray:
    """Validate a layer input; raise a ``ValueError`` naming the layer, what it expected and what it got."""
    name = type(layer).__name__
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name}: expected a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name}: expected dtype float32 or float64, got {x.dtype} with shape {x.shape}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D input, got shape {x.shape}")
    if x.ndim > 0 and x.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty batch, got shape {x.shape}")
    if channels is not None and x.shape[channel_axis] != channels:
        raise ValueError(f"{name}: expected {channels} channels on axis {channel_axis}, got shape {x.shape}")
    return x


def check_grad(layer, dout, expected_shape: tuple) -> np.ndarray:
    """Validate an upstream gradient against the shape of the forward output."""
    name = type(layer).__name__
    if layer._cache is None:
        raise RuntimeError(f"{name}: backward called without a forward(training=True) before it")
    if not isinstance(dout, np.ndarray) or dout.shape != tuple(expected_shape):
        got = getattr(dout, "shape", type(dout).__name__)
        raise ValueError(f"{name}: expected an upstream gradient of shape {tuple(expected_shape)}, got {got}")
    return dout


def pair(v, name: str, owner: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 2)`` stays; anything else is a ``ValueError`` naming ``owner`` and ``name``."""
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) for i in t):
        raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {v!r}")
    return int(t[0]), int(t[1])
