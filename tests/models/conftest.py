"""Shared helpers for the model tests: small inputs, float64 gradient checks, the shared/ lookup."""
from __future__ import annotations

import numpy as np
import pytest

from squeezenp.models.pretrained import default_pretrained_path, shared_dir

SMALL = 35          # smallest comfortable size: 35 -> 17 -> 8 -> 4 -> 2 (and 2 * 4 == 8 for the skip path)


def directional_check(model, x, dout, rng, h=1e-6):
    """Compare <grad, v> with (L(p + h v) - L(p - h v)) / 2h, jointly over the input and every parameter.

    L = sum(model.forward(x) * dout). Returns (analytic, numeric).
    """
    model.forward(x)
    dx = model.backward(dout)
    params = [(p, g.copy()) for _, p, g in model.named_parameters()]
    vx = rng.standard_normal(x.shape)
    vps = [rng.standard_normal(p.shape) for p, _ in params]
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


@pytest.fixture
def weights_path():
    p = default_pretrained_path()
    if p is None:
        pytest.skip(f"ImageNet weights absent: no weights/squeezenet1_1_imagenet.npz under the shared folder "
                    f"(looked at $SQUEEZENP_SHARED, then <repo>/../shared; found {shared_dir()})")
    return p
