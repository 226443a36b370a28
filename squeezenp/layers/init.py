"""Weight initialisation shared by the layers and the networks."""
from __future__ import annotations

import numpy as np


def as_rng(rng) -> np.random.Generator:
    """Accept a ``Generator``, an integer seed or ``None``."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def he_normal(shape, fan_in: int, rng, dtype) -> np.ndarray:
    """He et al. (2015): N(0, 2 / fan_in), suited to ReLU/ELU networks."""
    return (as_rng(rng).standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def glorot_uniform(shape, fan_in: int, fan_out: int, rng, dtype) -> np.ndarray:
    """Glorot and Bengio (2010), Matlab's default 'glorot': U(-a, a), a = sqrt(6 / (fan_in + fan_out)), i.e.
    variance 2 / (fan_in + fan_out). For a convolution fan_in = KH KW C_in and fan_out = KH KW C_out."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return as_rng(rng).uniform(-a, a, shape).astype(dtype)
