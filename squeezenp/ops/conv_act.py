"""A convolution and its activation in evaluation, fused: the twin of ``squeezenp/functional/conv_act.py``, same
signature plus ``workspace``. The activation is the epilogue of each image's GEMM (``conv2d.conv2d_gemm_into``), so
the output is written once: at conv1 of the networks (the largest activation of all, 64 x 113 x 113 per image at
227) that saves a whole pass. No cache. Tests: ``tests/ops/test_conv_act.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import pair
from ..functional.im2col import conv_output_size
from .conv2d import conv2d_gemm_into


def conv2d_act_inference(x, w, b, stride=1, padding=0, activation="relu", alpha=1.0, *, workspace=None):
    """Fast twin of ``functional.conv2d_act_inference``."""
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    N, _, H, W = x.shape
    C_out, _, kh, kw = w.shape
    OH, OW = conv_output_size(H, kh, stride[0], padding[0]), conv_output_size(W, kw, stride[1], padding[1])
    out = np.empty((N, C_out, OH * OW), dtype=x.dtype)
    conv2d_gemm_into(x, w, stride, padding, out, b, workspace, activation=activation, alpha=alpha)
    return out.reshape(N, C_out, OH, OW)
