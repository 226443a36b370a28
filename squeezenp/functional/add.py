"""Elementwise sum of inputs of one shape (SqueezeNet's bypass ``fire(x) + x``)::

    forward : out = x1 + ... + xk
    backward: dx1 = ... = dxk = dout            (each input receives the whole upstream gradient)

``add_inference(out, x)`` is the evaluation-only form, ``out += x`` in place: at inference the Fire module's output
is a fresh array that nothing else holds, so the bypass need not copy it (no backward, no cache).

Tests: ``tests/functional/test_merge.py``.
"""
from __future__ import annotations


def add_forward(xs):
    """Returns ``(out, cache)``; ``out`` is a new array, the cache the number of inputs."""
    out = xs[0].copy()
    for x in xs[1:]:
        out += x
    return out, len(xs)


def add_backward(dout, cache):
    """Returns ``(dout, ..., dout)``: the same array k times (treat gradients as read-only)."""
    return (dout,) * cache


def add_inference(out, x):
    """``out += x`` in place; returns ``out``. For evaluation only (nothing is cached for a backward)."""
    out += x
    return out
