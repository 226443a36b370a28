"""Central-difference gradient checks: of a pair of textbook functions, of a layer, of anything.

Used by every test folder and by ``docs/tutorial.md``::

    from squeezenp.core.gradcheck import numerical_grad, check_function_gradients, check_layer_gradients

The loss is always ``L = sum(f(x) * dout)`` with a *random* upstream gradient ``dout``: with ``dout`` all
ones, ``sum(BatchNorm(x))`` does not depend on x and a check of its input gradient is vacuous.
Checks run in float64 (a float32 central difference has an error around 1e-1 on a linear map).
"""
from __future__ import annotations

import numpy as np


def numerical_grad(f, x, dout, h=1e-6):
    """Central differences of ``L(x) = sum(f(x) * dout)``.

    ``x`` must be float64 and is perturbed in place, one element at a time, and restored; so ``x`` may be a
    layer's parameter array, and ``f`` may ignore its argument and read the parameter from the layer.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_grad: expected a float64 array, got {x.dtype}")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        lp = np.sum(f(x) * dout)
        x[i] = old - h
        lm = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (lp - lm) / (2 * h)
    return grad


def assert_grad_close(analytic, numeric, name="", rtol=1e-5, atol=1e-7):
    """``assert_allclose`` with an absolute tolerance scaled to the gradient's size."""
    scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol * scale,
                               err_msg=f"gradient mismatch for {name}")


def check_function_gradients(forward, backward, args, wrt, rng, rtol=1e-5, atol=1e-7, **kwargs):
    """Check a textbook pair ``out, cache = forward(*args, **kwargs)``, ``grads = backward(dout, cache)``.

    Parameters
    ----------
    args : the positional arguments of ``forward``; those checked must be float64 arrays
    wrt : ``{position in args: position in grads}`` for every argument to check (position 0 in grads when
        ``backward`` returns a single array)
    rng : ``np.random.Generator`` for the random upstream gradient

    Also asserts that no argument and not ``dout`` is modified, and that each gradient has its argument's shape
    and dtype. Returns ``(out, dout, grads)``.
    """
    copies = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    out, cache = forward(*args, **kwargs)
    dout = rng.standard_normal(np.shape(out))
    dout_copy = dout.copy()
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    np.testing.assert_array_equal(dout, dout_copy, err_msg="backward modified the upstream gradient")
    for a, c in zip(args, copies):
        if c is not None:
            np.testing.assert_array_equal(a, c, err_msg="forward/backward modified an argument")
    name = getattr(forward, "__name__", "forward")
    for a, g in wrt.items():
        x = args[a]
        assert grads[g].shape == x.shape and grads[g].dtype == x.dtype, (name, a)
        numeric = numerical_grad(lambda _: forward(*args, **kwargs)[0], x, dout)
        assert_grad_close(grads[g], numeric, f"{name} argument {a}", rtol, atol)
    return out, dout, grads


def check_layer_gradients(layer, x, rng, training=True, before_forward=None, rtol=1e-5, atol=1e-7):
    """Check ``dx`` and the gradient of every parameter of ``layer`` (its children's included) against central
    differences.

    Parameters
    ----------
    layer : a float64 ``Layer`` (call ``layer.astype(np.float64)`` first)
    x : float64 input; rng : ``np.random.Generator`` for the random upstream gradient
    training : passed to ``forward``
    before_forward : optional callable run before every forward pass (e.g. reseed a dropout mask)

    Buffers (batch-norm running statistics) are restored before every forward pass, so the function being
    differentiated is the same each time. Also asserts that neither ``x`` nor ``dout`` is modified and that
    the output and ``dx`` keep the float64 dtype. Returns ``(out, dout, dx)``.
    """
    assert x.dtype == np.float64
    buffers = [(b, b.copy()) for _, b in layer.named_buffers()]

    def run(_=None):
        for b, saved in buffers:
            b[...] = saved
        if before_forward is not None:
            before_forward()
        return layer.forward(x, training=training)

    x_copy = x.copy()
    out = run()
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    params = [(k, p, g.copy()) for k, p, g in layer.named_parameters()]
    np.testing.assert_array_equal(x, x_copy, err_msg="forward/backward modified the input")
    np.testing.assert_array_equal(dout, dout_copy, err_msg="backward modified the upstream gradient")
    assert out.dtype == np.float64 and dx.dtype == np.float64
    assert dx.shape == x.shape
    for sub in (layer, *(child for _, child in layer.named_layers())):
        assert set(sub.grads) == set(sub.params), sub

    assert_grad_close(dx, numerical_grad(run, x, dout), f"{layer!r} input", rtol, atol)
    for k, p, analytic in params:
        assert analytic.shape == p.shape and analytic.dtype == p.dtype
        assert_grad_close(analytic, numerical_grad(run, p, dout), f"{layer!r} param {k}", rtol, atol)
    return out, dout, dx


def directional_check(model, x, dout, rng, h=1e-6):
    """One directional derivative of a whole network (Chainer's ``check_backward``), for models too large for
    an element-by-element check: compare ``<grad, v>`` with ``(L(p + h v) - L(p - h v)) / 2h`` jointly over the
    input and every parameter (``v`` a random unit vector, so ``h`` is the length of the step; ReLU/max-pool
    kinks need a small one), ``L = sum(model.forward(x) * dout)``, forward in the model's current mode.

    Returns ``(analytic, numeric)``.
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


def away_from_zero(x, margin=1e-3):
    """Push every entry to ``|x| >= margin`` (keeps ReLU/ELU inputs off their kink at 0)."""
    return np.where(x >= 0, x + margin, x - margin)


def distinct_values(shape, rng, step=0.1):
    """A random permutation of ``0, step, 2*step, ...``: no ties, so max pooling has no kinks nearby."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - n / 2) * step
