"""Weight initialisation shared by the layers and the networks."""
from __future__ import annotations

import numpy as np


def as_rng(rng) -> np.random.Generator:
    """Accept a ``Generator``, an integer seed or ``None``."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def he_normal(shape, fan_in: int, rng, dtype) -> np.ndarray:
    """He et al. (2015): N(0, 2 / fan_in), suited to ReLU/ELU networks."""
    return (as_rng(rng).standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)
