"""Operating points: where P(COVID) is cut into a decision.

The default cut-off is 0.5 (the paper's, and the one every figure without a qualifier uses). A screening test
wants few missed cases more than few false alarms, so the *sensitivity-first* operating point is the highest
cut-off that still finds a target share of the COVID images of a labelled set::

    t* = max { t : #{i : y_i = 1, p_i >= t} / #{i : y_i = 1} >= target }

It is chosen on data the reported images never belong to (a fold's selection set, a model's validation split)
and then applied unchanged, so the sensitivity reached on new images scatters around the target.

Tests: ``tests/evaluation/test_thresholds.py``.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_THRESHOLD = 0.5
DEFAULT_SENSITIVITY_TARGET = 0.9


def sensitivity_first_threshold(labels, prob, target: float = DEFAULT_SENSITIVITY_TARGET) -> float:
    """The highest cut-off whose sensitivity on ``(labels (N,), prob (N,))`` reaches ``target`` in (0, 1].

    With ``n`` positives sorted ascending, at most ``k = floor((1 - target) n)`` of them may fall below the
    cut-off, so it is the (k+1)-th smallest positive score. Returns 0.5 when there is no positive to count.
    """
    if not 0 < target <= 1:
        raise ValueError(f"sensitivity target must be in (0, 1], got {target}")
    labels, prob = np.asarray(labels), np.asarray(prob, dtype=np.float64)
    if labels.shape != prob.shape:
        raise ValueError(f"labels and probabilities must have one shape, got {labels.shape} and {prob.shape}")
    pos = np.sort(prob[labels == 1])
    if len(pos) == 0:
        return DEFAULT_THRESHOLD
    # the 1e-9 keeps e.g. (1 - 0.9) * 10 = 0.99999... from rounding down to 0 and costing a needless positive
    k = int(math.floor((1 - target) * len(pos) + 1e-9))
    return float(pos[k])


__all__ = ["DEFAULT_THRESHOLD", "DEFAULT_SENSITIVITY_TARGET", "sensitivity_first_threshold"]
