"""Stochastic gradient descent with momentum and L2 regularisation, in Matlab's ``sgdm`` formulation.

For every parameter ``w`` with gradient ``g`` (the paper trained with Matlab's ``trainNetwork``)::

    v <- momentum * v - lr * (g + l2 * w)        (l2 only on conv/linear weights: biases and batch-norm
    w <- w + v                                    scale/shift get no decay, as Matlab's BiasL2Factor = 0)

This equals PyTorch's ``SGD(momentum, weight_decay)`` up to where the learning rate enters: PyTorch keeps
``v`` without the learning rate, so the two differ only when the learning rate changes mid-run.

The learning rate schedule is Matlab's 'piecewise': multiplied by ``drop_factor`` every ``drop_period``
epochs (the paper: 0.8 every 5 epochs).
"""
from __future__ import annotations

import numpy as np


def is_decayed(name: str, param: np.ndarray) -> bool:
    """L2 applies to weights of convolutions and linear layers only (not biases, not batch norm)."""
    return name.endswith("weight") and param.ndim >= 2


class SGDM:
    """``SGDM(lr, momentum=0.9, l2=1e-4)``; ``step(model)`` updates every parameter in place."""

    def __init__(self, lr: float, momentum: float = 0.9, l2: float = 1e-4, lr_scale=None):
        for name, v, lo in (("lr", lr, 0.0), ("momentum", momentum, 0.0), ("l2", l2, 0.0)):
            if not np.isfinite(v) or v < lo:
                raise ValueError(f"SGDM: {name} must be a finite number >= {lo}, got {v}")
        if momentum >= 1:
            raise ValueError(f"SGDM: momentum must be < 1, got {momentum}")
        self.lr, self.momentum, self.l2 = float(lr), float(momentum), float(l2)
        self.velocity: dict[str, np.ndarray] = {}
        self.lr_scale = lr_scale     # optional name -> factor on the learning rate (e.g. a pretrained trunk)

    def step(self, model) -> None:
        for name, w, g in model.named_parameters():
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(w)
            v *= self.momentum
            lr = self.lr if self.lr_scale is None else self.lr * self.lr_scale(name)
            if self.l2 and is_decayed(name, w):
                v -= lr * (g + self.l2 * w)
            else:
                v -= lr * g
            w += v

    def state_dict(self) -> dict[str, np.ndarray]:
        return dict(self.velocity)

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.velocity = {k: np.array(v) for k, v in state.items()}


def piecewise_lr(initial_lr: float, epoch: int, drop_factor: float = 0.8, drop_period: int = 5) -> float:
    """Learning rate for 0-based ``epoch``: ``initial_lr * drop_factor ** (epoch // drop_period)``."""
    return initial_lr * drop_factor ** (epoch // drop_period)
