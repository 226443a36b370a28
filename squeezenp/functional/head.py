"""The proposed CNN's head in evaluation, written with the functions of this package (Figure 3 of Polsinelli,
Cinque and Placidi 2020; every choice argued in ``docs/architecture.md``)::

    up     = ELU(conv_transpose2d(x9, w_up, stride = kernel) + b_up)     upconv 4x4/4, 512 -> 64
    h      = concat([skip, up])                                          (N, 128 + 64, H, W)
    f      = ELU(conv2d(h, w_fuse) + b_fuse)                             conv_fuse, 1x1, 192 -> 128
    maps   = conv2d(f, w_10) + b_10;  logits = GAP(maps)                 conv10, 1x1, then global average pool

Shapes: x9 (N, C9, h, w) (fire9's output; dropout is the identity in evaluation), skip (N, Cs, H, W) (fire3's
output) with H = h * KH, W = w * KW (the upconv's output has the skip's size: no crop). This function is the
specification of the fused head in ``squeezenp/ops/head.py`` (image by image, no concatenation), which has the same
signature.

In training the head's middle, upconv -> ELU -> concat with the skip -> conv_fuse -> ELU, is one pair,
``upconv_fuse_forward/backward`` (dropout before it and conv10 and the pool after it stay layers); its fast twin
folds the upconv's patches with bias and ELU and never builds the concatenation either.
Tests: ``tests/ops/test_head.py``, ``tests/functional/test_head.py``.
"""
from __future__ import annotations

from .concat import concat_backward, concat_forward
from .conv2d import conv2d_backward, conv2d_forward
from .conv_transpose2d import conv_transpose2d_backward, conv_transpose2d_forward
from .elu import elu_backward, elu_forward
from .global_avg_pool import global_avg_pool_forward


def proposed_head_inference(x9, skip, upconv, conv_fuse, conv10, alpha_up=1.0, alpha_fuse=1.0):
    """Evaluation forward of the proposed CNN's head.

    Parameters
    ----------
    x9 : (N, C9, h, w);  skip : (N, Cs, h*KH, w*KW)
    upconv : ``(w, b)``, w (C9, Cu, KH, KW), its stride equal to its kernel, no padding
    conv_fuse : ``(w, b)``, w (F, Cs + Cu, 1, 1);  conv10 : ``(w, b)``, w (classes, F, 1, 1)
    alpha_up, alpha_fuse : the two ELUs'

    Returns
    -------
    logits : (N, classes);  features : (N, F, H, W) (the CAM features);  class_maps : (N, classes, H, W)
    """
    w_up, b_up = upconv
    up = conv_transpose2d_forward(x9, w_up, b_up, stride=w_up.shape[2:])[0]
    if up.shape[2:] != skip.shape[2:]:
        raise ValueError(f"proposed_head_inference: the upconv's output {up.shape} does not have the skip's size "
                         f"{skip.shape}")
    up = elu_forward(up, alpha_up)[0]
    h = concat_forward([skip, up], axis=1)[0]
    features = elu_forward(conv2d_forward(h, *conv_fuse)[0], alpha_fuse)[0]
    class_maps = conv2d_forward(features, *conv10)[0]
    return global_avg_pool_forward(class_maps)[0], features, class_maps


def upconv_fuse_forward(x9, skip, upconv, conv_fuse, alpha_up=1.0, alpha_fuse=1.0):
    """Training forward of the head's middle: ``ELU(conv_fuse([skip | ELU(upconv(x9))]))``.

    Parameters
    ----------
    x9 : (N, C9, h, w) (after dropout);  skip : (N, Cs, h*KH, w*KW)
    upconv : ``(w, b)``, w (C9, Cu, KH, KW), its stride equal to its kernel, no padding
    conv_fuse : ``(w, b)``, w (F, Cs + Cu, 1, 1);  alpha_up, alpha_fuse : the two ELUs'

    Returns
    -------
    features : (N, F, H, W) (the CAM features);  cache : for ``upconv_fuse_backward``
    """
    w_up, b_up = upconv
    up, conv_up = conv_transpose2d_forward(x9, w_up, b_up, stride=w_up.shape[2:])
    if up.shape[2:] != skip.shape[2:]:
        raise ValueError(f"upconv_fuse_forward: the upconv's output {up.shape} does not have the skip's size "
                         f"{skip.shape}")
    up, elu_up = elu_forward(up, alpha_up)
    h, concat_cache = concat_forward([skip, up], axis=1)
    features, conv_f = conv2d_forward(h, *conv_fuse)
    features, elu_f = elu_forward(features, alpha_fuse)
    return features, (conv_up, elu_up, concat_cache, conv_f, elu_f)


def upconv_fuse_backward(dout, cache):
    """Gradients of ``upconv_fuse_forward``.

    Returns
    -------
    dx9, dskip, dw_up, db_up, dw_fuse, db_fuse
    """
    conv_up, elu_up, concat_cache, conv_f, elu_f = cache
    dh, dw_fuse, db_fuse = conv2d_backward(elu_backward(dout, elu_f), conv_f)
    dskip, dup = concat_backward(dh, concat_cache)
    dx9, dw_up, db_up = conv_transpose2d_backward(elu_backward(dup, elu_up), conv_up)
    return dx9, dskip, dw_up, db_up, dw_fuse, db_fuse
