"""squeezenp: a from-scratch NumPy + Numba light CNN for COVID-19 CT classification.

After Polsinelli, Cinque and Placidi, "A light CNN for detecting COVID-19 from CT scans of the chest"
(Pattern Recognition Letters, 2020).
"""
import os as _os

# Numba's OpenMP threads busy-wait after every parallel kernel by default, stealing the cores that the very
# next BLAS call needs: on 2 cores that made a training step of the proposed CNN up to 40x slower under load
# (benchmarks/bench_threads.py). Passive waiting must be set before libgomp starts, so it is set here, unless
# the user chose otherwise.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

from .core.malloc import keep_freed_memory as _keep_freed_memory  # noqa: E402

_keep_freed_memory()     # no page faults on every step's fresh 100 MB arrays (squeezenp/core/malloc.py)

from .core import Layer, Sequential  # noqa: E402

__all__ = ["Layer", "Sequential", "__version__"]
