"""Fully connected layer.

Shapes: x (N, in_features) -> out (N, out_features); w (out_features, in_features) as in PyTorch; b
(out_features,) or None::

    forward : out = x @ w.T + b
    backward: dx = dout @ w,  dw = dout.T @ x,  db = sum over n of dout

Tests: ``tests/functional/test_linear.py``.
"""
from __future__ import annotations


def linear_forward(x, w, b):
    """Returns ``(out, cache)``."""
    out = x @ w.T
    if b is not None:
        out += b
    return out, (x, w, b is not None)


def linear_backward(dout, cache):
    """Returns ``(dx, dw, db)``; ``db`` is None without a bias."""
    x, w, has_bias = cache
    return dout @ w, dout.T @ x, (dout.sum(axis=0) if has_bias else None)
