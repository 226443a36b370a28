"""2-D convolution (cross-correlation, as in every deep-learning framework), via im2col + GEMM.

Shapes::

    x      : (N, C_in, H, W)
    weight : (C_out, C_in, KH, KW)          (PyTorch layout)
    bias   : (C_out,)
    out    : (N, C_out, OH, OW),  OH = (H + 2*PH - KH) // SH + 1,  OW likewise

Forward, for each image n, with ``cols = im2col(x)`` of shape (N, C_in*KH*KW, OH*OW)::

    out[n] = W_flat @ cols[n] + bias            W_flat = weight.reshape(C_out, C_in*KH*KW)

Backward, with ``dout[n]`` reshaped to (C_out, OH*OW)::

    dW_flat = sum_n dout[n] @ cols[n].T         (the same product with the roles swapped)
    dbias   = sum over n, oh, ow of dout
    dx      = col2im(W_flat.T @ dout[n])        (scatter each column back to its window)

A 1x1 convolution with stride 1 and no padding needs no im2col: ``cols[n]`` is ``x[n]`` viewed as
(C_in, H*W). Most of SqueezeNet's convolutions are of that kind.

The im2col/col2im reference and kernel live in ``squeezenp/ops/im2col.py``; tests in
``tests/layers/test_conv.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input
from ._init import he_normal, pair


class Conv2d(Layer):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, dtype=np.float32, rng=None):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.padding = pair(padding, "padding", "Conv2d")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d: kernel_size and stride must be >= 1 and padding >= 0, got "
                             f"{self.kernel_size}, {self.stride}, {self.padding}")
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        self.add_param("weight", he_normal((self.out_channels, self.in_channels, kh, kw), fan_in, rng, dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_channels, dtype=dtype))

    @property
    def is_pointwise(self) -> bool:
        return self.kernel_size == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0)

    def output_shape(self, input_shape):
        N, _, H, W = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (N, self.out_channels, ops.conv_output_size(H, kh, sh, ph), ops.conv_output_size(W, kw, sw, pw))

    def forward(self, x, training=None):
        check_input(self, x, 4, self.in_channels)
        N, C, H, W = x.shape
        out_shape = self.output_shape(x.shape)
        if out_shape[2] < 1 or out_shape[3] < 1:
            raise ValueError(f"Conv2d: input of shape {x.shape} is smaller than the kernel "
                             f"{self.kernel_size} with padding {self.padding}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        W_flat = self.params["weight"].reshape(self.out_channels, -1).astype(x.dtype, copy=False)
        if self.is_pointwise:
            cols = x.reshape(N, C, H * W)
        else:
            cols = ops.im2col(x, kh, kw, sh, sw, ph, pw)
        out = np.matmul(W_flat, cols)                        # (N, C_out, OH*OW): one GEMM per image
        if "bias" in self.params:
            out += self.params["bias"].astype(x.dtype, copy=False)[:, None]
        self._cache = (x.shape, cols, out_shape)
        return out.reshape(out_shape)

    def backward(self, dout):
        x_shape, cols, out_shape = self._cache if self._cache else (None, None, None)
        check_grad(self, dout, out_shape)
        N = dout.shape[0]
        d3 = dout.reshape(N, self.out_channels, -1)
        W_flat = self.params["weight"].reshape(self.out_channels, -1).astype(dout.dtype, copy=False)
        dW = np.zeros(W_flat.shape, dtype=dout.dtype)
        for n in range(N):                                   # sum_n dout[n] @ cols[n].T
            dW += d3[n] @ cols[n].T
        self.grads["weight"][...] = dW.reshape(self.params["weight"].shape)
        if "bias" in self.params:
            self.grads["bias"][...] = d3.sum(axis=(0, 2))
        dcols = np.matmul(W_flat.T, d3)                      # (N, C_in*KH*KW, OH*OW)
        if self.is_pointwise:
            return dcols.reshape(x_shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return ops.col2im(dcols, x_shape, kh, kw, sh, sw, ph, pw)

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={'bias' in self.params})")
