"""BatchNorm2d: per-channel batch normalisation with running statistics.

Shapes: x (N, C, H, W) -> out (N, C, H, W); ``weight`` (gamma) and ``bias`` (beta) are (C,); the buffers
``running_mean`` and ``running_var`` are (C,).

- training: normalise with the batch statistics, then update the running ones (PyTorch's convention:
  ``running = (1 - momentum) * running + momentum * batch``, with the *unbiased* batch variance);
- evaluation: normalise with the running statistics (an affine map per channel).

The formulas, reference and Numba kernel are in ``squeezenp/ops/batchnorm.py``; tests in
``tests/layers/test_batchnorm.py``.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input


class BatchNorm2d(Layer):
    """``BatchNorm2d(num_features, eps=1e-5, momentum=0.1)``."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        self.add_param("weight", np.ones(self.num_features, dtype=dtype))
        self.add_param("bias", np.zeros(self.num_features, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(self.num_features, dtype=dtype)
        self.buffers["running_var"] = np.ones(self.num_features, dtype=dtype)
        self.update_running_stats = True   # tests switch this off to check a pure function

    def forward(self, x, training=None):
        check_input(self, x, 4, self.num_features)
        gamma = self.params["weight"].astype(x.dtype, copy=False)
        beta = self.params["bias"].astype(x.dtype, copy=False)
        if self._is_training(training):
            out, x_hat, mean, var, inv_std = ops.batchnorm_forward(x, gamma, beta, self.eps)
            if self.update_running_stats:
                M = x.shape[0] * x.shape[2] * x.shape[3]
                unbiased = var * (M / max(M - 1, 1))
                m = self.momentum
                rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
                rm[...] = (1 - m) * rm + m * mean
                rv[...] = (1 - m) * rv + m * unbiased
            self._cache = ("train", x_hat, gamma, inv_std)
            return out
        inv_std = (1.0 / np.sqrt(self.buffers["running_var"].astype(x.dtype) + self.eps)).astype(x.dtype)
        scale = gamma * inv_std
        shift = beta - self.buffers["running_mean"].astype(x.dtype) * scale
        self._cache = ("eval", x, scale, inv_std)
        return x * scale[None, :, None, None] + shift[None, :, None, None]

    def backward(self, dout):
        check_grad(self, dout, self._cache[1].shape if self._cache else None)
        mode = self._cache[0]
        if mode == "train":
            _, x_hat, gamma, inv_std = self._cache
            dx, dgamma, dbeta = ops.batchnorm_backward(dout, x_hat, gamma, inv_std)
        else:   # running statistics are constants: out = x * scale + shift
            _, x, scale, inv_std = self._cache
            x_hat = (x - self.buffers["running_mean"].astype(x.dtype)[None, :, None, None]) * \
                inv_std[None, :, None, None]
            dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
            dbeta = dout.sum(axis=(0, 2, 3))
            dx = dout * scale[None, :, None, None]
        self.grads["weight"][...] = dgamma
        self.grads["bias"][...] = dbeta
        return dx

    def __repr__(self):
        return f"BatchNorm2d({self.num_features}, eps={self.eps}, momentum={self.momentum})"
