"""ConvTranspose2d: a 2-D transposed convolution layer ("deconvolution"), used to upsample feature maps.

Shapes: x (N, C_in, H, W) -> out (N, C_out, (H - 1)*SH - 2*PH + KH, ...); ``weight`` (C_in, C_out, KH, KW)
(PyTorch layout: C_in first), ``bias`` (C_out,). Formulas in ``squeezenp/functional/conv_transpose2d.py``, fast
twin in ``squeezenp/ops/conv_transpose2d.py``. Tests: ``tests/layers/test_conv_transpose.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input, pair
from ..ops.workspace import ScratchOwner
from .init import he_normal


class ConvTranspose2d(ScratchOwner, Layer):
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
        self._init_workspaces()          # self.workspace: this thread's scratch arrays (ops/workspace.py)

    def output_shape(self, input_shape):
        N, _, H, W = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (N, self.out_channels, ops.conv_transpose_output_size(H, kh, sh, ph),
                ops.conv_transpose_output_size(W, kw, sw, pw))

    def forward(self, x, training=None):
        check_input(self, x, 4, self.in_channels)
        out_shape = self.output_shape(x.shape)
        if out_shape[2] < 1 or out_shape[3] < 1:
            raise ValueError(f"ConvTranspose2d: padding {self.padding} crops away the whole output "
                             f"for input shape {x.shape}")
        w, b = self.params["weight"].astype(x.dtype, copy=False), self.params.get("bias")
        out, self._cache = ops.conv_transpose2d_forward(x, w, None if b is None else b.astype(x.dtype, copy=False),
                                                        self.stride, self.padding, workspace=self.workspace)
        return out

    def backward(self, dout):
        check_grad(self, dout, self.output_shape(self._cache[0].shape) if self._cache else None)
        dx, dw, db = ops.conv_transpose2d_backward(dout, self._cache, workspace=self.workspace)
        self.grads["weight"][...] = dw
        if db is not None:
            self.grads["bias"][...] = db
        return dx

    def __repr__(self):
        return (f"ConvTranspose2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={'bias' in self.params})")
