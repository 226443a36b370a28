"""Max pooling and global average pooling.

MaxPool2d: x (N, C, H, W) -> (N, C, OH, OW); formulas, output sizes (ceil mode), reference and Numba
kernel in ``squeezenp/ops/pooling.py``.

GlobalAvgPool2d: x (N, C, H, W) -> (N, C)::

    forward : out[n, c] = mean over (h, w) of x[n, c, h, w]
    backward: dx[n, c, h, w] = dout[n, c] / (H * W)

Tests in ``tests/layers/test_pooling.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input


class MaxPool2d(Layer):
    """``MaxPool2d(kernel_size, stride=None, ceil_mode=False)``; stride defaults to the kernel size."""

    def __init__(self, kernel_size: int, stride: int | None = None, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.stride = int(stride if stride is not None else kernel_size)
        self.ceil_mode = bool(ceil_mode)
        if self.kernel_size < 1 or self.stride < 1:
            raise ValueError(f"MaxPool2d: kernel_size and stride must be >= 1, got "
                             f"{self.kernel_size}, {self.stride}")

    def output_shape(self, input_shape):
        N, C, H, W = input_shape
        k, s, c = self.kernel_size, self.stride, self.ceil_mode
        return (N, C, ops.pool_output_size(H, k, s, c), ops.pool_output_size(W, k, s, c))

    def forward(self, x, training=None):
        check_input(self, x, 4)
        if x.shape[2] < self.kernel_size or x.shape[3] < self.kernel_size:
            raise ValueError(f"MaxPool2d: input of shape {x.shape} is smaller than the "
                             f"{self.kernel_size}x{self.kernel_size} window")
        if not self._is_training(training):             # inference: no argmax, no cache
            self._cache = None
            return ops.maxpool_forward_values(x, self.kernel_size, self.stride, self.ceil_mode)
        out, argmax = ops.maxpool_forward(x, self.kernel_size, self.stride, self.ceil_mode)
        self._cache = (x.shape, argmax)
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache[1].shape if self._cache else None)
        x_shape, argmax = self._cache
        return ops.maxpool_backward(dout, argmax, x_shape)

    def __repr__(self):
        return f"MaxPool2d({self.kernel_size}, stride={self.stride}, ceil_mode={self.ceil_mode})"


class GlobalAvgPool2d(Layer):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""

    def forward(self, x, training=None):
        check_input(self, x, 4)
        self._cache = x.shape
        return x.mean(axis=(2, 3), dtype=x.dtype)

    def backward(self, dout):
        N, C, H, W = self._cache if self._cache else (None,) * 4
        check_grad(self, dout, (N, C))
        return np.broadcast_to((dout / (H * W))[:, :, None, None], self._cache).copy()

    def __repr__(self):
        return "GlobalAvgPool2d()"
