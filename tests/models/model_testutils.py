"""Helpers for the model tests: the small input size (the gradient checks are in ``squeezenp.core.gradcheck``)."""
from __future__ import annotations

SMALL = 35          # smallest comfortable size: 35 -> 17 -> 8 -> 4 -> 2 (and 2 * 4 == 8 for the skip path)
