"""Conv2d: a 2-D convolution layer, the state around ``conv2d_forward`` / ``conv2d_backward``.

Shapes: x (N, C_in, H, W) -> out (N, C_out, OH, OW); ``weight`` (C_out, C_in, KH, KW), ``bias`` (C_out,).
The formulas are in ``squeezenp/functional/conv2d.py`` (readable, with ``im2col.py``), the fast twin in
``squeezenp/ops/conv2d.py``; the layer owns the parameters, their gradients, the forward's cache and a
``workspace`` of scratch arrays that the fast twin reuses from call to call. A stride-1, pad-1 3x3 convolution
runs im2col or Winograd F(2x2, 3x3), whichever was measured faster for its shape (``squeezenp/ops/conv_algorithm.py``);
``algorithm="im2col" | "winograd"`` forces one for this layer. Tests: ``tests/layers/test_conv.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input, pair
from ..ops.workspace import ScratchOwner
from ..ops import conv_algorithm
from .init import he_normal


class Conv2d(ScratchOwner, Layer):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, algorithm="auto")``;
    He-normal weights, zero bias. ``algorithm`` matters only for stride-1, pad-1 3x3 kernels on the fast path."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, dtype=np.float32, rng=None, algorithm="auto"):
        super().__init__()
        self.algorithm = conv_algorithm.check_algorithm(algorithm)
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
        self._init_workspaces()          # self.workspace: this thread's scratch arrays (ops/workspace.py)

    def output_shape(self, input_shape):
        N, _, H, W = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (N, self.out_channels, ops.conv_output_size(H, kh, sh, ph), ops.conv_output_size(W, kw, sw, pw))

    def forward(self, x, training=None):
        check_input(self, x, 4, self.in_channels)
        out_shape = self.output_shape(x.shape)
        if out_shape[2] < 1 or out_shape[3] < 1:
            raise ValueError(f"Conv2d: input of shape {x.shape} is smaller than the kernel "
                             f"{self.kernel_size} with padding {self.padding}")
        w, b = self.params["weight"].astype(x.dtype, copy=False), self.params.get("bias")
        out, self._cache = ops.conv2d_forward(x, w, None if b is None else b.astype(x.dtype, copy=False),
                                              self.stride, self.padding, workspace=self.workspace,
                                              algorithm=self.algorithm)
        return out

    def backward(self, dout, input_grad=True):
        """Fills the parameters' gradients; returns the input's, or None when ``input_grad`` is False (a network's
        first layer, whose input is the image)."""
        check_grad(self, dout, self.output_shape(self._cache[0]) if self._cache else None)
        dx, dw, db = ops.conv2d_backward(dout, self._cache, input_grad, workspace=self.workspace)
        self.grads["weight"][...] = dw
        if db is not None:
            self.grads["bias"][...] = db
        return dx

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={'bias' in self.params}"
                + (f", algorithm={self.algorithm!r})" if self.algorithm != "auto" else ")"))


def weight_and_bias(layer, dtype):
    """``(weight, bias)`` of a convolution or transposed-convolution layer in ``dtype`` (bias None without one):
    its parameters as a fused op of ``squeezenp.ops`` takes them."""
    b = layer.params.get("bias")
    return layer.params["weight"].astype(dtype, copy=False), None if b is None else b.astype(dtype, copy=False)
