"""Fire modules: SqueezeNet's building block and the paper's CustomFire.

Teaches: how a branch that fans out (the squeeze output feeds two expand convolutions) sums its gradients
on the way back, and how a channel concatenation splits them. Papers: Iandola et al., "SqueezeNet" (2016);
Polsinelli, Cinque and Placidi, "A light CNN for detecting COVID-19 from CT scans of the chest" (2020).
Tests: ``tests/models/test_fire.py``.

Shapes::

    x   : (N, C_in, H, W)
    out : (N, e1 + e3, H, W)       [expand1x1 | expand3x3] concatenated on the channel axis

Fire       : squeeze1x1 -> ReLU -> [expand1x1 -> ReLU | expand3x3 (pad 1) -> ReLU] -> concat
CustomFire : squeeze1x1 -> bn -> ELU -> [expand1x1 -> ELU | expand3x3 (pad 1) -> ELU] -> concat

Children keep the Caffe/Matlab names (``squeeze1x1``, ``bn``, ``expand1x1``, ``expand3x3``), so the
state-dict keys read ``fire3.expand3x3.weight`` and ``fire2.bn.running_mean``. The activations and the
concatenation are parameterless children (``relu_squeeze1x1``/``elu_squeeze1x1``, ..., ``concat``): they
add no state-dict keys but show up in ``summary``.

Backward::

    da, db = split(dout)                                   (concat backward)
    ds     = expand1x1.backward(act.backward(da)) + expand3x3.backward(act.backward(db))   (fan-out: add)
    dx     = squeeze1x1.backward([bn.backward](act.backward(ds)))

After ``fuse()`` the evaluation forward runs ``ops.fire_inference`` instead of the ten children, and the training
forward runs the squeeze branch layer by layer and the two expand branches, their activations and the
concatenation as one ``ops.fire_expand_forward`` (backward: ``ops.fire_expand_backward``), which the fast backend
runs as two GEMMs into one output with bias and activation per image and one pass for both activations' backward
and bias gradients (``squeezenp/ops/fire.py``; the textbook twins in ``squeezenp/functional/fire.py``). Fused or
not, the numbers are the same (``tests/models/test_fire.py``).
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..core import Layer, check_grad, check_input
from ..layers import ELU, BatchNorm2d, Concat, Conv2d, ReLU, weight_and_bias
from ..layers.init import as_rng


class Fire(Layer):
    """``Fire(in_channels, squeeze, expand1x1, expand3x3, rng=None, dtype=float32)``.

    ``rng`` (seed or Generator) initialises squeeze1x1, expand1x1, expand3x3 in that order (He normal).
    """

    custom = False

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int, rng=None,
                 dtype=np.float32):
        super().__init__()
        rng = as_rng(rng)
        self.in_channels, self.squeeze_channels = int(in_channels), int(squeeze)
        self.e1, self.e3 = int(expand1x1), int(expand3x3)
        self.out_channels = self.e1 + self.e3
        act, tag = (ELU, "elu") if self.custom else (ReLU, "relu")
        self.add_child("squeeze1x1", Conv2d(in_channels, squeeze, 1, rng=rng, dtype=dtype))
        if self.custom:
            self.add_child("bn", BatchNorm2d(squeeze, dtype=dtype))
        self.act_names = (f"{tag}_squeeze1x1", f"{tag}_expand1x1", f"{tag}_expand3x3")
        self.add_child(self.act_names[0], act())
        self.add_child("expand1x1", Conv2d(squeeze, expand1x1, 1, rng=rng, dtype=dtype))
        self.add_child(self.act_names[1], act())
        self.add_child("expand3x3", Conv2d(squeeze, expand3x3, 3, padding=1, rng=rng, dtype=dtype))
        self.add_child(self.act_names[2], act())
        self.add_child("concat", Concat(axis=1))
        self.act_s, self.act_e1, self.act_e3 = (self.children[n] for n in self.act_names)
        self._expand_out_shape = None

    def forward(self, x, training=None):
        training = self._is_training(training)
        self._cache = None                   # only the fused training forward keeps one (its expand branches')
        if self.fused and not training:
            return self._fused_forward(x)
        s = self.squeeze1x1(x, training=training)
        if self.custom:
            s = self.bn(s, training=training)
        s = self.act_s(s)
        if self.fused:
            return self._fused_expand_forward(s)
        a = self.act_e1(self.expand1x1(s))
        b = self.act_e3(self.expand3x3(s))
        return self.concat(a, b)

    def _fused_forward(self, x):
        """Evaluation forward after ``fuse()``: ``ops.fire_inference``, three GEMMs, each image's output followed
        at once by its bias, folded batch norm and activation (``squeezenp/ops/fire.py``), the same numbers as the
        layer-by-layer path (``tests/models/test_fire.py``).
        The children are not called, so they keep no caches (a backward after it is an error, not stale
        gradients) and their forward hooks do not run."""
        check_input(self, x, 4, self.in_channels)
        for child in self.children.values():
            child._cache = None

        bn = None
        if self.custom:
            bn = (self.bn.params["weight"], self.bn.params["bias"], self.bn.buffers["running_mean"],
                  self.bn.buffers["running_var"], self.bn.eps)
        convs = (weight_and_bias(c, x.dtype) for c in (self.squeeze1x1, self.expand1x1, self.expand3x3))
        return ops.fire_inference(x, *convs, bn, *self._activation(), workspace=self.expand3x3.workspace,
                                  algorithm=self.expand3x3.algorithm)

    def _activation(self):
        return ("elu", self.act_s.alpha) if self.custom else ("relu", 1.0)

    def _fused_expand_forward(self, s):
        """Training forward after ``fuse()`` of the expand branches, activations and concatenation:
        ``ops.fire_expand_forward``. Those five children are not called (no caches, no forward hooks)."""
        for name in ("expand1x1", "expand3x3", "concat") + self.act_names[1:]:
            self.children[name]._cache = None
        out, self._cache = ops.fire_expand_forward(s, weight_and_bias(self.expand1x1, s.dtype),
                                                   weight_and_bias(self.expand3x3, s.dtype),
                                                   *self._activation(), workspace=self.expand3x3.workspace,
                                                   algorithm=self.expand3x3.algorithm)
        self._expand_out_shape = out.shape
        return out

    def _fused_expand_backward(self, dout):
        check_grad(self, dout, self._expand_out_shape)
        ds, dw1, db1, dw3, db3 = ops.fire_expand_backward(dout, self._cache,
                                                          workspace=self.expand3x3.workspace)
        for layer, dw, db in ((self.expand1x1, dw1, db1), (self.expand3x3, dw3, db3)):
            layer.grads["weight"][...] = dw
            layer.grads["bias"][...] = db
        return ds

    def backward(self, dout):
        if self._cache is not None:
            ds = self._fused_expand_backward(dout)
        else:
            da, db = self.concat.backward(dout)
            ds = self.expand1x1.backward(self.act_e1.backward(da))
            ds = ds + self.expand3x3.backward(self.act_e3.backward(db))     # fan-out: gradients add
        ds = self.act_s.backward(ds)
        if self.custom:
            ds = self.bn.backward(ds)
        return self.squeeze1x1.backward(ds)

    def __repr__(self):
        return f"{type(self).__name__}({self.in_channels}, {self.squeeze_channels}, {self.e1}, {self.e3})"


class CustomFire(Fire):
    """The paper's Fire: batch norm (``bn``) after the squeeze conv, ELU in place of every ReLU."""

    custom = True
