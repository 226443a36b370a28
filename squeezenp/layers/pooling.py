"""Max pooling and global average pooling layers.

MaxPool2d: x (N, C, H, W) -> (N, C, OH, OW), PyTorch's ceil mode available; formulas and output sizes in
``squeezenp/functional/maxpool2d.py``, fast twin in ``squeezenp/ops/maxpool2d.py``. In evaluation it keeps no
argmax (``maxpool2d_inference``).

GlobalAvgPool2d: x (N, C, H, W) -> (N, C), the spatial mean (``squeezenp/functional/global_avg_pool.py``).

Tests: ``tests/layers/test_pooling.py``.
"""
from __future__ import annotations

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
            return ops.maxpool2d_inference(x, self.kernel_size, self.stride, self.ceil_mode)
        out, self._cache = ops.maxpool2d_forward(x, self.kernel_size, self.stride, self.ceil_mode)
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache[1].shape if self._cache else None)
        return ops.maxpool2d_backward(dout, self._cache)

    def __repr__(self):
        return f"MaxPool2d({self.kernel_size}, stride={self.stride}, ceil_mode={self.ceil_mode})"


class GlobalAvgPool2d(Layer):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""

    def forward(self, x, training=None):
        check_input(self, x, 4)
        out, self._cache = ops.global_avg_pool_forward(x)
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache[:2] if self._cache else None)
        return ops.global_avg_pool_backward(dout, self._cache)

    def __repr__(self):
        return "GlobalAvgPool2d()"
