"""squeezenp: a from-scratch NumPy + Numba light CNN for COVID-19 CT classification.

After Polsinelli, Cinque and Placidi, "A light CNN for detecting COVID-19 from CT scans of the chest"
(Pattern Recognition Letters, 2020).
"""
__version__ = "0.1.0"

from .core import Layer, Sequential  # noqa: E402

__all__ = ["Layer", "Sequential", "__version__"]
