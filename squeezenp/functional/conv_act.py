"""A convolution followed by its activation, ``act(conv2d(x, w) + b)``, and by the max pool after it (the networks'
conv1 -> ReLU -> pool1), in evaluation and in training, written with the functions of this package. Shapes as in
``conv2d.py``; activation ``"relu"`` or ``"elu"`` (with ``alpha``).

This is the specification of the fused version in ``squeezenp/ops/conv_act.py`` (the activation applied to each
image's output right after its GEMM, while it is in cache, instead of a pass of its own over the whole output),
which has the same signature; the networks use it for conv1 and its ReLU after ``fuse()``.

``conv2d_act_pool_inference`` adds the max pool that follows conv1: ``maxpool(act(conv2d(x, w) + b))``. The fast
twin pools each image's GEMM output while it is in cache and applies bias and activation to the pooled map, four
times smaller: ``max_i act(z_i + b) == act(max_i z_i + b)`` exactly, because adding a channel's ``b`` and a
non-decreasing activation (ReLU, ELU) keep the order of the values.

``conv2d_act_pool_forward`` / ``conv2d_act_pool_backward`` are the same three layers in training, with their
caches; the backward can skip the input gradient (``input_grad=False``: the networks' conv1 reads the image, whose
gradient a training step never uses). The fast twin never keeps the (N, C_out, OH, OW) activation: the
activation's derivative at each window's maximum is a function of the pooled value, ``act'(z) = 1`` where the
pooled value ``m > 0``, else 0 (ReLU) or ``m + alpha`` (ELU), so the pool's gradient is masked before it is
scattered::

    d_z[n, c].flat[argmax] += dout[n, c, oh, ow] * act'(out[n, c, oh, ow])      then conv2d_backward(d_z)

Tests: ``tests/ops/test_conv_act.py`` (fast against textbook), ``tests/functional/test_conv_act.py`` (gradients).
"""
from __future__ import annotations

from .conv2d import conv2d_backward, conv2d_forward
from .elu import elu_backward, elu_forward
from .maxpool2d import maxpool2d_backward, maxpool2d_forward, maxpool2d_inference
from .relu import relu_backward, relu_forward


def conv2d_act_inference(x, w, b, stride=1, padding=0, activation="relu", alpha=1.0):
    """``act(conv2d(x, w, b, stride, padding))``: (N, C_in, H, W) -> (N, C_out, OH, OW)."""
    out = conv2d_forward(x, w, b, stride, padding)[0]
    return relu_forward(out)[0] if activation == "relu" else elu_forward(out, alpha)[0]


def conv2d_act_pool_inference(x, w, b, stride=1, padding=0, activation="relu", alpha=1.0, pool_kernel=3,
                              pool_stride=2, ceil_mode=True):
    """``maxpool(act(conv2d(x, w, b, stride, padding)))``: (N, C_in, H, W) -> (N, C_out, PH, PW)."""
    return maxpool2d_inference(conv2d_act_inference(x, w, b, stride, padding, activation, alpha), pool_kernel,
                               pool_stride, ceil_mode)


def conv2d_act_pool_forward(x, w, b, stride=1, padding=0, activation="relu", alpha=1.0, pool_kernel=3,
                            pool_stride=2, ceil_mode=True):
    """Training forward of ``maxpool(act(conv2d(x, w, b, stride, padding)))``: ``(out, cache)``, out (N, C_out,
    PH, PW); the cache holds the three layers' caches."""
    z, conv_cache = conv2d_forward(x, w, b, stride, padding)
    a, act_cache = relu_forward(z) if activation == "relu" else elu_forward(z, alpha)
    out, pool_cache = maxpool2d_forward(a, pool_kernel, pool_stride, ceil_mode)
    return out, (conv_cache, act_cache, pool_cache, activation)


def conv2d_act_pool_backward(dout, cache, input_grad=True):
    """``(dx, dw, db)`` from ``dout`` (N, C_out, PH, PW): the pool's, the activation's and the convolution's
    backward in turn; ``dx`` is None when ``input_grad`` is False (``db`` None without a bias)."""
    conv_cache, act_cache, pool_cache, activation = cache
    d = maxpool2d_backward(dout, pool_cache)
    d = relu_backward(d, act_cache) if activation == "relu" else elu_backward(d, act_cache)
    return conv2d_backward(d, conv_cache, input_grad)
