"""Weight initialisation shared by the layers."""
from __future__ import annotations

import numpy as np


def as_rng(rng) -> np.random.Generator:
    """Accept a ``Generator``, an integer seed or ``None``."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def he_normal(shape, fan_in: int, rng, dtype) -> np.ndarray:
    """He et al. (2015): N(0, 2 / fan_in), suited to ReLU/ELU networks."""
    return (as_rng(rng).standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def pair(v, name: str, layer: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 2)`` stays; anything else is a clear error."""
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) for i in t):
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {v!r}")
    return int(t[0]), int(t[1])
