"""2-D transposed convolution ("deconvolution"): the adjoint of Conv2d, used to upsample feature maps.

Shapes::

    x      : (N, C_in, H, W)
    weight : (C_in, C_out, KH, KW)          (PyTorch layout: note C_in first)
    bias   : (C_out,)
    out    : (N, C_out, OH, OW),  OH = (H - 1) * SH - 2*PH + KH,  OW likewise

Forward: every input pixel paints a KHxKW patch of weights onto the output, patches overlapping when the
stride is smaller than the kernel. That is exactly col2im of a matrix product::

    cols[n] = W_flat.T @ x[n]                    W_flat = weight.reshape(C_in, C_out*KH*KW),  x[n] as (C_in, H*W)
    out     = col2im(cols) + bias                col2im folds (N, C_out*KH*KW, H*W) into (N, C_out, OH, OW)

Backward is a plain convolution of the upstream gradient (im2col instead of col2im)::

    dcols[n] = im2col(dout)[n]                   (C_out*KH*KW, H*W)
    dx[n]    = W_flat @ dcols[n]
    dW_flat  = sum_n x[n] @ dcols[n].T
    dbias    = sum over n, oh, ow of dout

The columns, their gradient and the dW accumulator are per-layer workspaces reused across calls (safe
because backward pairs with the most recent forward; see ``_init.workspace``).

So ``<conv2d(x), y> == <x, conv_transpose2d(y)>`` for shared weights and settings (the adjoint test in
``tests/layers/test_conv_transpose.py``).
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input
from ._gemm import _workers, matmul_per_image, matmul_sum_per_image
from ._init import he_normal, pair, workspace


class ConvTranspose2d(Layer):
    """``ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, dtype=np.float32, rng=None):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", "ConvTranspose2d")
        self.stride = pair(stride, "stride", "ConvTranspose2d")
        self.padding = pair(padding, "padding", "ConvTranspose2d")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"ConvTranspose2d: kernel_size and stride must be >= 1 and padding >= 0, got "
                             f"{self.kernel_size}, {self.stride}, {self.padding}")
        kh, kw = self.kernel_size
        # each output pixel receives about C_in*KH*KW/(SH*SW) contributions
        fan_in = max(1, self.in_channels * kh * kw // (self.stride[0] * self.stride[1]))
        self.add_param("weight", he_normal((self.in_channels, self.out_channels, kh, kw), fan_in, rng, dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_channels, dtype=dtype))

    def output_shape(self, input_shape):
        N, _, H, W = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (N, self.out_channels, (H - 1) * sh - 2 * ph + kh, (W - 1) * sw - 2 * pw + kw)

    def forward(self, x, training=None):
        check_input(self, x, 4, self.in_channels)
        N, C, H, W = x.shape
        out_shape = self.output_shape(x.shape)
        if out_shape[2] < 1 or out_shape[3] < 1:
            raise ValueError(f"ConvTranspose2d: padding {self.padding} crops away the whole output "
                             f"for input shape {x.shape}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        W_flat = self.params["weight"].reshape(self.in_channels, -1).astype(x.dtype, copy=False)
        x = np.ascontiguousarray(x)
        cols = workspace(self, "cols", (N, W_flat.shape[1], H * W), x.dtype)   # reused; never returned
        matmul_per_image(W_flat.T, x.reshape(N, C, H * W), cols)   # (N, C_out*KH*KW, H*W)
        out = ops.col2im(cols, out_shape, kh, kw, sh, sw, ph, pw)
        if "bias" in self.params:
            ops.add_bias(out.reshape(N, self.out_channels, -1), self.params["bias"])
        self._cache = (x, out_shape)
        return out

    def backward(self, dout):
        x, out_shape = self._cache if self._cache else (None, None)
        check_grad(self, dout, out_shape)
        N, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        W_flat = self.params["weight"].reshape(self.in_channels, -1).astype(dout.dtype, copy=False)
        dcols = workspace(self, "dcols", (N, W_flat.shape[1], H * W), dout.dtype)
        ops.im2col(dout, kh, kw, sh, sw, ph, pw, out=dcols)  # (N, C_out*KH*KW, H*W)
        x3 = x.reshape(N, C, H * W)
        dW = workspace(self, "dW", W_flat.shape, dout.dtype)
        tmp = workspace(self, "dW_n", (max(1, min(_workers(), N)), 2) + W_flat.shape, dout.dtype)
        matmul_sum_per_image(x3, dcols, dW, tmp)              # sum_n x[n] @ dcols[n].T
        self.grads["weight"][...] = dW.reshape(self.params["weight"].shape)
        if "bias" in self.params:
            self.grads["bias"][...] = ops.bias_grad(dout.reshape(N, self.out_channels, -1))
        dx = np.empty((N, C, H * W), dtype=dout.dtype)
        return matmul_per_image(W_flat, dcols, dx).reshape(x.shape)

    def __repr__(self):
        return (f"ConvTranspose2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={'bias' in self.params})")
