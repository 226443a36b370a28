"""BatchNorm2d: per-channel batch normalisation with running statistics.

Shapes: x (N, C, H, W) -> out (N, C, H, W); ``weight`` (gamma) and ``bias`` (beta) are (C,); the buffers
``running_mean`` and ``running_var`` are (C,).

- training: normalise with the batch statistics, then update the running ones (PyTorch's convention:
  ``running = (1 - momentum) * running + momentum * batch``, with the *unbiased* batch variance);
- evaluation: normalise with the running statistics (an affine map per channel).

Formulas in ``squeezenp/functional/batchnorm2d.py``, fast twin in ``squeezenp/ops/batchnorm2d.py``; the running
statistics are the state this layer adds. Tests: ``tests/layers/test_batchnorm.py``.
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
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        if not self._is_training(training):
            out, self._cache = ops.batchnorm2d_forward(x, gamma, beta, self.eps, rm, rv)
            return out
        out, self._cache = ops.batchnorm2d_forward(x, gamma, beta, self.eps)
        if self.update_running_stats:
            mean, var = self._cache[4], self._cache[5]       # the batch's statistics (biased variance)
            M = x.shape[0] * x.shape[2] * x.shape[3]
            unbiased = var * (M / max(M - 1, 1))
            m = self.momentum
            rm[...] = (1 - m) * rm + m * mean
            rv[...] = (1 - m) * rv + m * unbiased
        return out

    def backward(self, dout):
        check_grad(self, dout, self._cache[1].shape if self._cache else None)
        dx, dgamma, dbeta = ops.batchnorm2d_backward(dout, self._cache)
        self.grads["weight"][...] = dgamma
        self.grads["bias"][...] = dbeta
        return dx

    def __repr__(self):
        return f"BatchNorm2d({self.num_features}, eps={self.eps}, momentum={self.momentum})"
