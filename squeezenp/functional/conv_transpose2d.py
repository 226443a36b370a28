"""2-D transposed convolution ("deconvolution"): the adjoint of conv2d, used to upsample feature maps.

Shapes::

    x   : (N, C_in, H, W)
    w   : (C_in, C_out, KH, KW)               (PyTorch layout: C_in first)
    b   : (C_out,) or None
    out : (N, C_out, OH, OW),  OH = (H - 1)*SH - 2*PH + KH,  OW likewise

Forward: every input pixel paints a KHxKW patch of weights onto the output, the patches overlapping when the
stride is smaller than the kernel. That is col2im of one matrix product::

    cols[n] = W_flat.T @ x[n]          W_flat = w.reshape(C_in, C_out*KH*KW),  x[n] viewed as (C_in, H*W)
    out     = col2im(cols) + b         col2im folds (N, C_out*KH*KW, H*W) into (N, C_out, OH, OW)

Backward is a plain convolution of the upstream gradient (im2col where the forward had col2im)::

    dcols[n] = im2col(dout)[n]         (C_out*KH*KW, H*W)
    dx[n]    = W_flat @ dcols[n]
    dW_flat  = sum over n of x[n] @ dcols[n].T
    db       = sum of dout over n, oh, ow

So ``<conv2d(x), y> == <x, conv_transpose2d(y)>`` for shared weights and settings. Fast twin:
``squeezenp/ops/conv_transpose2d.py``. Tests: ``tests/functional/test_conv_transpose2d.py``.
"""
from __future__ import annotations

from ..core import pair
from .im2col import col2im, im2col


def conv_transpose_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """``(size - 1)*stride - 2*padding + kernel``."""
    return (size - 1) * stride - 2 * padding + kernel


def conv_transpose2d_forward(x, w, b, stride=1, padding=0):
    """Transposed convolution of ``x`` with ``w``, plus the bias ``b``.

    Parameters
    ----------
    x : (N, C_in, H, W);  w : (C_in, C_out, KH, KW);  b : (C_out,) or None
    stride, padding : int or (h, w) pair

    Returns
    -------
    out : (N, C_out, OH, OW), dtype of x;  cache : for ``conv_transpose2d_backward``
    """
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv_transpose2d"), pair(padding, "padding", "conv_transpose2d")
    N, C_in, H, W = x.shape
    _, C_out, kh, kw = w.shape
    out_shape = (N, C_out, conv_transpose_output_size(H, kh, sh, ph), conv_transpose_output_size(W, kw, sw, pw))
    cols = w.reshape(C_in, -1).T @ x.reshape(N, C_in, H * W)      # (N, C_out*KH*KW, H*W)
    out = col2im(cols, out_shape, kh, kw, sh, sw, ph, pw)
    if b is not None:
        out += b[None, :, None, None]
    return out, (x, w, b is not None, (sh, sw), (ph, pw))


def conv_transpose2d_backward(dout, cache):
    """Gradients of the transposed convolution.

    Returns
    -------
    dx : (N, C_in, H, W);  dw : (C_in, C_out, KH, KW);  db : (C_out,), or None without a bias
    """
    x, w, has_bias, (sh, sw), (ph, pw) = cache
    N, C_in, H, W = x.shape
    kh, kw = w.shape[2:]
    dcols = im2col(dout, kh, kw, sh, sw, ph, pw)                    # (N, C_out*KH*KW, H*W)
    x3 = x.reshape(N, C_in, H * W)
    dw = (x3 @ dcols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dx = (w.reshape(C_in, -1) @ dcols).reshape(x.shape)
    return dx, dw, db
