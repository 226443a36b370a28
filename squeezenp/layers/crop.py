"""CropOrPad2d: make a map (N, C, H, W) exactly (N, C, TH, TW) by cropping or zero-padding at the bottom/right.

Bottom/right because every convolution and pool of the SqueezeNet trunk is aligned at the top-left corner (no
padding there; ceil-mode pools overhang at the bottom/right); the proposed CNN uses it to bring its upsampled
maps to the skip's size. Formulas in ``squeezenp/functional/crop_or_pad2d.py``.
Tests: ``tests/layers/test_crop.py``.
"""
from __future__ import annotations

from .. import ops
from ..core import Layer, check_grad, check_input


class CropOrPad2d(Layer):
    """``forward(x, size)`` with ``size = (TH, TW)``; backward crops (or zero-pads) the gradient back."""

    def forward(self, x, size, training=None):
        check_input(self, x, 4)
        out, x_shape = ops.crop_or_pad2d_forward(x, size)
        self._cache = (x_shape, out.shape)
        return out

    def backward(self, dout):
        x_shape, out_shape = self._cache if self._cache else (None, None)
        check_grad(self, dout, out_shape)
        return ops.crop_or_pad2d_backward(dout, x_shape)

    def __repr__(self):
        return "CropOrPad2d()"
