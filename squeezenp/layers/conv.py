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

Speed (``benchmarks/bench_layers.py``): the columns and their gradient live in per-layer workspaces reused
from one call to the next (safe because backward always pairs with the most recent forward; see
``_init.workspace``); the GEMMs go straight to NumPy's BLAS with ``out=``, one per image so the result is
already NCHW, the images split over squeezenp's threads with a single-threaded BLAS under each
(``_gemm.py`` says why: a 2-thread OpenBLAS on many small GEMMs was up to 15x slower on this loaded 2-core
machine; a single ``W_flat @ cols`` over the whole batch measured no faster and would need a
transpose); with im2col, each thread unfolds an image and multiplies it at once, while its columns are
still in cache (``_gemm.im2col_matmul_per_image``); the bias is added by the same thread right after each
image's GEMM, while its output is in cache; the bias gradient is a parallel Numba kernel (``ops.bias_grad``).

The im2col/col2im reference and kernel live in ``squeezenp/ops/im2col.py``; tests in
``tests/layers/test_conv.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input
from ._gemm import _workers, im2col_matmul_per_image, matmul_per_image, matmul_sum_per_image
from ._init import he_normal, pair, workspace


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
        out_shape = self.output_shape(x.shape)
        out = np.empty((x.shape[0], self.out_channels, out_shape[2] * out_shape[3]), dtype=x.dtype)
        cols = self._gemm_into(x, out, self.params.get("bias"))
        self._cache = (x.shape, cols, out_shape)
        return out.reshape(out_shape)

    def forward_gemm_into(self, x, out):
        """Inference helper for fused callers (``Fire``): ``out[n] = W_flat @ cols[n]`` **without** the bias,
        written into ``out`` (N, C_out, OH*OW), which may be a channel slice of a larger output (each image's
        slice must be contiguous). Keeps no cache; the caller adds bias and activation (``ops.scale_bias_act``)."""
        check_input(self, x, 4, self.in_channels)
        self._gemm_into(x, out)
        return out

    def _gemm_into(self, x, out, bias=None):
        N, C, H, W = x.shape
        out_shape = self.output_shape(x.shape)
        if out_shape[2] < 1 or out_shape[3] < 1:
            raise ValueError(f"Conv2d: input of shape {x.shape} is smaller than the kernel "
                             f"{self.kernel_size} with padding {self.padding}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        W_flat = self.params["weight"].reshape(self.out_channels, -1).astype(x.dtype, copy=False)
        P = out_shape[2] * out_shape[3]
        if self.is_pointwise:
            cols = np.ascontiguousarray(x).reshape(N, C, H * W)   # no im2col: x[n] is already (C_in, H*W)
        else:
            # reused across calls (see ``workspace`` for why that is safe): no page faults per step
            cols = workspace(self, "cols", (N, W_flat.shape[1], P), x.dtype)
            # each image unfolded and multiplied on one thread, its columns still in cache
            im2col_matmul_per_image(W_flat, x, (kh, kw, sh, sw, ph, pw), cols, out, bias)
            return cols
        matmul_per_image(W_flat, cols, out, bias)            # one BLAS GEMM per image, written NCHW
        return cols

    def backward(self, dout):
        x_shape, cols, out_shape = self._cache if self._cache else (None, None, None)
        check_grad(self, dout, out_shape)
        N = dout.shape[0]
        d3 = np.ascontiguousarray(dout).reshape(N, self.out_channels, -1)
        W_flat = self.params["weight"].reshape(self.out_channels, -1).astype(dout.dtype, copy=False)
        # dW = sum_n dout[n] @ cols[n].T, accumulated image by image into one small buffer
        dW = workspace(self, "dW", W_flat.shape, dout.dtype)
        tmp = workspace(self, "dW_n", (max(1, min(_workers(), N)), 2) + W_flat.shape, dout.dtype)
        matmul_sum_per_image(d3, cols, dW, tmp)
        self.grads["weight"][...] = dW.reshape(self.params["weight"].shape)
        if "bias" in self.params:
            self.grads["bias"][...] = ops.bias_grad(d3)
        if self.is_pointwise:
            dx = np.empty((N, self.in_channels, d3.shape[2]), dtype=dout.dtype)
            return matmul_per_image(W_flat.T, d3, dx).reshape(x_shape)
        dcols = workspace(self, "dcols", cols.shape, dout.dtype)
        matmul_per_image(W_flat.T, d3, dcols)                # (N, C_in*KH*KW, OH*OW)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return ops.col2im(dcols, x_shape, kh, kw, sh, sw, ph, pw)

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={'bias' in self.params})")
