"""Helpers for the model tests: small inputs, float64 gradient checks, the shared/ lookup."""
from __future__ import annotations

import numpy as np
import pytest

from squeezenp.models.pretrained import default_pretrained_path, shared_dir

SMALL = 35          # smallest comfortable size: 35 -> 17 -> 8 -> 4 -> 2 (and 2 * 4 == 8 for the skip path)


def directional_check(model, x, dout, rng, h=1e-6):
    """Compare <grad, v> with (L(p + h v) - L(p - h v)) / 2h, jointly over the input and every parameter
    (v: a random unit vector, so ``h`` is the length of the step; ReLU/max-pool kinks need a small one).

    L = sum(model.forward(x) * dout). Returns (analytic, numeric).
    """
    model.forward(x)
    dx = model.backward(dout)
    params = [(p, g.copy()) for _, p, g in model.named_parameters()]
    vx = rng.standard_normal(x.shape)
    vps = [rng.standard_normal(p.shape) for p, _ in params]
    norm = np.sqrt(np.sum(vx ** 2) + sum(np.sum(v ** 2) for v in vps))   # unit direction: h is the step length
    vx, vps = vx / norm, [v / norm for v in vps]
    analytic = float(np.sum(dx * vx) + sum(np.sum(g * v) for (_, g), v in zip(params, vps)))

    def loss_at(t):
        for (p, _), v in zip(params, vps):
            p += t * v
        try:
            return float(np.sum(model.forward(x + t * vx) * dout))
        finally:
            for (p, _), v in zip(params, vps):
                p -= t * v
    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    return analytic, numeric


