"""2-D convolution (cross-correlation, as in every deep-learning framework) through im2col and one matrix
product.

Shapes::

    x      : (N, C_in, H, W)
    w      : (C_out, C_in, KH, KW)            (PyTorch layout)
    b      : (C_out,) or None
    out    : (N, C_out, OH, OW),  OH = (H + 2*PH - KH) // SH + 1,  OW likewise

Forward, with ``cols = im2col(x)`` of shape (N, C_in*KH*KW, OH*OW) and ``W_flat = w.reshape(C_out, -1)``::

    out[n] = W_flat @ cols[n] + b[:, None]          (C_out, OH*OW), one matrix product per image

Backward, with ``dout[n]`` viewed as (C_out, OH*OW)::

    dW_flat = sum over n of dout[n] @ cols[n].T     (the forward product with the roles swapped)
    db      = sum of dout over n, oh, ow
    dx      = col2im(W_flat.T @ dout[n])            (each column scattered back onto its window)

This file and ``im2col.py`` are the whole convolution. The fast twin with the same signature (threads,
reused buffers, no im2col for 1x1 convolutions) is ``squeezenp/ops/conv2d.py``.
Tests: ``tests/functional/test_conv2d.py``.
"""
from __future__ import annotations

from ..core import pair
from .im2col import col2im, conv_output_size, im2col


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Convolve ``x`` with the filters ``w`` and add the bias ``b``.

    Parameters
    ----------
    x : (N, C_in, H, W);  w : (C_out, C_in, KH, KW);  b : (C_out,) or None
    stride, padding : int or (h, w) pair

    Returns
    -------
    out : (N, C_out, OH, OW), dtype of x;  cache : for ``conv2d_backward``
    """
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    N, _, H, W = x.shape
    C_out, _, kh, kw = w.shape
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    cols = im2col(x, kh, kw, sh, sw, ph, pw)               # (N, C_in*KH*KW, OH*OW)
    out = w.reshape(C_out, -1) @ cols                      # (N, C_out, OH*OW): one product per image
    if b is not None:
        out += b[:, None]
    cache = (x.shape, cols, w, b is not None, (sh, sw), (ph, pw))
    return out.reshape(N, C_out, OH, OW), cache


def conv2d_backward(dout, cache, input_grad=True):
    """Gradients of the convolution.

    Parameters
    ----------
    dout : (N, C_out, OH, OW);  cache : from ``conv2d_forward``
    input_grad : False skips ``dx`` (a network's first layer: nothing uses the image's gradient)

    Returns
    -------
    dx : (N, C_in, H, W), or None without ``input_grad``;  dw : (C_out, C_in, KH, KW);
    db : (C_out,), or None without a bias
    """
    x_shape, cols, w, has_bias, (sh, sw), (ph, pw) = cache
    N, C_out = dout.shape[:2]
    kh, kw = w.shape[2:]
    d = dout.reshape(N, C_out, -1)                          # (N, C_out, OH*OW)
    W_flat = w.reshape(C_out, -1)
    dw = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = d.sum(axis=(0, 2)) if has_bias else None
    dx = col2im(W_flat.T @ d, x_shape, kh, kw, sh, sw, ph, pw) if input_grad else None
    return dx, dw, db
