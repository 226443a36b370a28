"""The four networks compared in Polsinelli, Cinque and Placidi (2020), written out layer by layer.

Teaches: a CNN with branches (bypass shortcuts, a transposed-convolution skip path) written as an explicit
``forward`` that reads top to bottom like the paper's figures and an explicit ``backward`` that walks the same
steps in reverse, adding the gradients wherever a tensor fanned out. Architecture and the choices the paper
leaves open: ``docs/architecture.md``. Tests: ``tests/models/``.

=============================  =======================================================================
``SqueezeNet(bypass=False)``   network 1: SqueezeNet v1.1 as Matlab's ``squeezenet`` (torchvision's
                               ``squeezenet1_1``): conv1 -> pool1 -> fire2..fire9 -> drop9 -> conv10 ->
                               ReLU -> global average pool
``SqueezeNet(bypass=True)``    networks 2 and 3: identity shortcuts around fire3, fire5, fire7, fire9
``ProposedCNN``                network 4 (Figure 3): CustomFire modules, a 4x transposed convolution of fire9
                               concatenated with fire3, a 1x1 fusion conv (128) + ELU, a 1x1 classifier conv, GAP
=============================  =======================================================================

The trunk, conv1 .. fire9, is the same in all four (``Model.trunk_forward`` / ``trunk_backward``). Shapes at
227x227 (Matlab's input size): conv1 113, pool1 56 (fire2, fire3), pool3 28 (fire4, fire5), pool5 14
(fire6..fire9); the smallest input every pool survives is 31x31.
"""
from __future__ import annotations

import zlib

import numpy as np

from .. import ops
from ..core import Layer, check_input
from ..functional import softmax
from ..layers import (ELU, Add, Concat, Conv2d, ConvTranspose2d, CropOrPad2d, Dropout, GlobalAvgPool2d,
                      MaxPool2d, ReLU, weight_and_bias)
from ..ops.split_batch import split_batch, split_threads
from .fire import CustomFire, Fire
from .summary import summary_table

# name: (in_channels, squeeze, expand1x1, expand3x3), in call order (SqueezeNet v1.1)
FIRE_SPECS = {
    "fire2": (64, 16, 64, 64), "fire3": (128, 16, 64, 64),
    "fire4": (128, 32, 128, 128), "fire5": (256, 32, 128, 128),
    "fire6": (256, 48, 192, 192), "fire7": (384, 48, 192, 192),
    "fire8": (384, 64, 256, 256), "fire9": (512, 64, 256, 256),
}
POOL_AFTER = {"conv1": "pool1", "fire3": "pool3", "fire5": "pool5"}   # maxpool 3/2, ceil mode
BYPASS_AROUND = ("fire3", "fire5", "fire7", "fire9")                  # C_in == C_out: out = fire(x) + x
MIN_INPUT_SIZE = 31                                                    # 31 -> 15 -> 7 -> 3 -> 1
# Upper bounds of the architecture config: far above any use (the paper: 227 px, 2 classes, 3 channels), and low
# enough that a hostile or mistyped model file or --input-size is refused before it allocates gigabytes.
MAX_INPUT_SIZE, MAX_CLASSES, MAX_IN_CHANNELS = 1024, 1000, 4


def layer_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of one layer: derived from the model seed and the layer's name, so a layer's initial
    weights do not depend on which other layers the network has (networks 1 and 2 share them)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def default_preprocessing(in_channels: int, input_size: int) -> dict:
    """How images are prepared for these networks: the data pipeline's one grayscale representation
    (``squeezenp.data.images``), resized, normalised with ``NORMALISATION`` (ImageNet's channel averages,
    mean 0.449, std 0.226) and replicated to every channel."""
    from ..data.images import NORMALISATION
    return {"size": [int(input_size), int(input_size)], "layout": "NCHW",
            "channels": f"grayscale replicated to {in_channels}",
            "scale": "luma in [0, 1] (alpha dropped)", "resize": "bilinear, to size (aspect not kept)",
            "mean": [NORMALISATION["mean"]] * in_channels, "std": [NORMALISATION["std"]] * in_channels}


def predict_proba(model: Layer, x, batch_size: int = 32) -> np.ndarray:
    """Class probabilities (N, K), float64, of any layer that maps a batch to logits (N, K): the softmax of its
    evaluation-mode output, ``batch_size`` inputs at a time. No inputs: (0, ``model.num_classes``), 2 by default."""
    out = [softmax(model.forward(x[i:i + batch_size], training=False).astype(np.float64))
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, getattr(model, "num_classes", 2)))


class Model(Layer):
    """What every network offers on top of ``Layer`` (see ``squeezenp.models`` for the contract).

    After each ``forward``:

    - ``cam_features`` (N, C, h, w): the last feature maps before the classifier (the classifier conv's input);
    - ``class_maps`` (N, num_classes, h, w): the map whose spatial mean **is** the logit of each class.

    ``cam_weights()`` (num_classes, C) and ``cam_bias()`` (num_classes,) are the classifier conv's weights.
    When ``cam_is_linear`` (network 4) ``logits == GAP(cam_features) @ cam_weights().T + cam_bias()``; for
    SqueezeNet (networks 1-3) a ReLU sits between the classifier conv and the pool, so use ``class_maps``.
    """

    cam_is_linear = False
    batch1_plan = True     # one-image evaluation forwards of a fused model run the trunk's plan (plan.py)
    split_batches = True   # evaluation batches of a fused model split over the threads (ops/split_batch.py)
    _stem_cache = None     # (pool1's output shape, the cache) of the fused training forward's conv1 .. pool1

    def __init__(self, name: str, num_classes: int, input_size: int, in_channels: int, seed: int):
        super().__init__()
        if not 1 <= int(num_classes) <= MAX_CLASSES or not 1 <= int(in_channels) <= MAX_IN_CHANNELS:
            raise ValueError(f"{name}: num_classes must be in [1, {MAX_CLASSES}] and in_channels in "
                             f"[1, {MAX_IN_CHANNELS}], got {num_classes}, {in_channels}")
        if not MIN_INPUT_SIZE <= int(input_size) <= MAX_INPUT_SIZE:
            raise ValueError(f"{name}: input_size must be in [{MIN_INPUT_SIZE}, {MAX_INPUT_SIZE}] (three 3/2 pools; "
                             f"memory), got {input_size}")
        if int(seed) < 0:
            raise ValueError(f"{name}: seed must be a non-negative integer, got {seed}")
        self.num_classes, self.in_channels, self.input_size, self.seed = \
            int(num_classes), int(in_channels), int(input_size), int(seed)
        self.config = {"name": name, "num_classes": self.num_classes, "input_size": self.input_size,
                       "in_channels": self.in_channels, "seed": self.seed,
                       "preprocessing": default_preprocessing(self.in_channels, self.input_size)}
        self.dropout_enabled = True
        self.cam_features = None
        self.class_maps = None
        self.pretrained_report = None

    @property
    def name(self) -> str:
        return self.config["name"]

    # --- helpers -------------------------------------------------------------------------------
    def _seed(self, name):
        return layer_rng(self.seed, name)

    def _check(self, x):
        check_input(self, x, 4, self.in_channels)
        if min(x.shape[2:]) < MIN_INPUT_SIZE:
            raise ValueError(f"{type(self).__name__}: inputs must be at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} "
                             f"(three 3/2 pools), got shape {x.shape}")

    def _add_trunk(self, fire_cls, bypass: bool):
        """conv1 .. fire9 and the three pools (and the bypass sums), registered in call order."""
        self.add_child("conv1", Conv2d(self.in_channels, 64, 3, stride=2, rng=self._seed("conv1")))
        self.add_child("relu_conv1", ReLU())   # conv1 is no Fire module: ReLU in every network
        self.add_child("pool1", MaxPool2d(3, 2, ceil_mode=True))
        for name, spec in FIRE_SPECS.items():
            self.add_child(name, fire_cls(*spec, rng=self._seed(name)))
            if bypass and name in BYPASS_AROUND:
                self.add_child(f"bypass{name[4:]}", Add())
            if name in POOL_AFTER:
                self.add_child(POOL_AFTER[name], MaxPool2d(3, 2, ceil_mode=True))

    def trunk_forward(self, x, training):
        """conv1 -> ReLU -> pool1 -> fire2 -> fire3 -> pool3 -> fire4 -> fire5 -> pool5 -> fire6 -> fire7 ->
        fire8 -> fire9, with ``fireK(x) + x`` around fire3, 5, 7, 9 in networks 2 and 3.

        Returns ``(fire9's output, fire3's output)``; the second is where the proposed CNN's skip path starts.
        """
        t = training
        self._stem_cache = None
        if self.fused and not t and x.shape[0] == 1 and self.batch1_plan and ops.get_backend() == "numba":
            return self._trunk_plan(x)(x)                # the batch-1 plan: same numbers (plan.py)
        if self.fused and not t:
            x = self._fused_conv1_pool1(x)               # conv1, pool1 and ReLU per image, while in cache
        elif self.fused:
            x = self._fused_conv1_pool1_training(x)      # the same in training, keeping what the backward needs
        else:
            x = self.conv1(x, training=t)
            x = self.relu_conv1(x, training=t)
            x = self.pool1(x, training=t)
        x = self.fire2(x, training=t)
        x = fire3 = self._fire_and_bypass("fire3", x, t)
        x = self.pool3(x, training=t)
        x = self.fire4(x, training=t)
        x = self._fire_and_bypass("fire5", x, t)
        x = self.pool5(x, training=t)
        x = self.fire6(x, training=t)
        x = self._fire_and_bypass("fire7", x, t)
        x = self.fire8(x, training=t)
        x = self._fire_and_bypass("fire9", x, t)
        return x, fire3

    def _trunk_plan(self, x):
        """The :class:`~squeezenp.models.plan.TrunkPlan` for ``x`` (batch 1), built at the first such call and again
        when the input's shape or dtype, the thread count or a 3x3 algorithm changes. Its layers are not called (no
        caches, no forward hooks), as on the fused path."""
        from .plan import TrunkPlan, plan_key
        plan = self.__dict__.get("_plan")
        if plan is None or plan.key != plan_key(self, x):
            plan = self.__dict__["_plan"] = TrunkPlan(self, x)
        plan.clear_caches()
        return plan

    def _splits_batch(self, x, training) -> bool:
        """Whether this evaluation forward runs as ``ops.split_batch`` shares: a fused model on the fast backend,
        a batch of at least two images per thread, and no forward hook below the model (hooks would run on
        several threads at once, in no fixed order)."""
        return (self.split_batches and not training and self.fused and ops.get_backend() == "numba"
                and split_threads(len(x)) > 1
                and not any(layer._forward_hooks for _, layer in self.named_layers()))

    def _split_forward(self, x, head):
        """An evaluation forward as ``ops.split_batch`` shares of ``self._evaluate_share`` (which returns
        ``(logits, cam_features, class_maps)`` of its images and stores nothing), joined; the ``head`` layers'
        caches cleared, as on the fused path (a backward after it is an error)."""
        shares = split_batch(self._evaluate_share, x)
        logits, self.cam_features, self.class_maps = (np.concatenate(r) for r in zip(*shares))
        for name in head:
            self.children[name]._cache = None
        return logits

    def _fused_conv1_pool1(self, x):
        """Evaluation forward of conv1, its ReLU and pool1 after ``fuse()``: ``ops.conv2d_act_pool_inference``, each
        image pooled right after its GEMM and the bias and ReLU applied to the pooled map, instead of three passes
        over the network's largest activation. The three layers are not called (no caches, no forward hooks)."""
        conv1, pool1 = self.conv1, self.pool1
        conv1._cache = self.relu_conv1._cache = pool1._cache = None
        return ops.conv2d_act_pool_inference(x, *weight_and_bias(conv1, x.dtype), conv1.stride, conv1.padding, "relu",
                                             1.0, pool1.kernel_size, pool1.stride, pool1.ceil_mode,
                                             workspace=conv1.workspace)

    def _fused_conv1_pool1_training(self, x):
        """Training forward of conv1, its ReLU and pool1 after ``fuse()``: ``ops.conv2d_act_pool_forward``, each
        image pooled (with its argmax) right after its GEMM; conv1's output is not kept, only conv1's columns, the
        pooled map and the argmax. The three layers are not called (no caches, no forward hooks)."""
        conv1, pool1 = self.conv1, self.pool1
        conv1._cache = self.relu_conv1._cache = pool1._cache = None
        out, cache = ops.conv2d_act_pool_forward(
            x, *weight_and_bias(conv1, x.dtype), conv1.stride, conv1.padding, "relu", 1.0, pool1.kernel_size,
            pool1.stride, pool1.ceil_mode, workspace=conv1.workspace)
        self._stem_cache = (out.shape, cache)
        return out

    def _stem_backward(self, d, input_grad):
        """pool1, ReLU and conv1 backward: ``ops.conv2d_act_pool_backward`` after the fused forward, else layer by
        layer; fills conv1's gradients and returns the input's (None without ``input_grad``)."""
        if self._stem_cache is None:
            d = self.pool1.backward(d)
            d = self.relu_conv1.backward(d)
            return self.conv1.backward(d, input_grad=input_grad)
        shape, cache = self._stem_cache
        if not isinstance(d, np.ndarray) or d.shape != shape:
            raise ValueError(f"{type(self).__name__}: expected a gradient of pool1's output of shape {shape}, got "
                             f"{getattr(d, 'shape', type(d).__name__)}")
        dx, dw, db = ops.conv2d_act_pool_backward(d, cache, input_grad, workspace=self.conv1.workspace)
        self.conv1.grads["weight"][...] = dw
        self.conv1.grads["bias"][...] = db
        return dx

    def trunk_backward(self, d, d_fire3=None, input_grad=True):
        """``trunk_forward`` in reverse. ``d``: the gradient of fire9's output; ``d_fire3``: of fire3's output
        through a skip path (it adds to what comes back through pool3: fire3's output fanned out). Returns the
        input's gradient, or None when ``input_grad`` is False (conv1 then skips it)."""
        d = self._fire_and_bypass_backward("fire9", d)
        d = self.fire8.backward(d)
        d = self._fire_and_bypass_backward("fire7", d)
        d = self.fire6.backward(d)
        d = self.pool5.backward(d)
        d = self._fire_and_bypass_backward("fire5", d)
        d = self.fire4.backward(d)
        d = self.pool3.backward(d)
        if d_fire3 is not None:
            d = d + d_fire3
        d = self._fire_and_bypass_backward("fire3", d)
        d = self.fire2.backward(d)
        return self._stem_backward(d, input_grad)

    def _fire_and_bypass(self, name, x, training):
        """``fire(x)``, or ``bypassK(fire(x), x)`` = fire(x) + x where the network has that shortcut. In the fused
        evaluation forward the Fire module's output is a fresh array that nothing holds, so the shortcut is added
        into it in place (``ops.add_inference``, no copy; the Add layer is not called)."""
        fire = self.children[name]
        y = fire(x, training=training)
        bypass = self.children.get(f"bypass{name[4:]}")
        if bypass is None:
            return y
        if fire.fused and not training:
            bypass._cache = None
            return ops.add_inference(y, x)
        return bypass(y, x)

    def _fire_and_bypass_backward(self, name, d):
        bypass = self.children.get(f"bypass{name[4:]}")
        if bypass is None:
            return self.children[name].backward(d)
        d_fire, d_shortcut = bypass.backward(d)
        return self.children[name].backward(d_fire) + d_shortcut      # x fanned out: gradients add

    def _dropout_training(self, training):
        return training and self.dropout_enabled

    def _normalise_input(self, x, training):
        """Matlab's input-layer normalisation when the network has one (``set_input_normalization``)."""
        layer = self.children.get("input_norm")
        return x if layer is None else layer.forward(x, training=training)

    def _input_grad(self, dx):
        layer = self.children.get("input_norm")
        return dx if layer is None or dx is None else layer.backward(dx)

    # --- public API ------------------------------------------------------------------------------
    def set_input_normalization(self, mode: str) -> "Model":
        """Give the network Matlab's input normalisation ``mode`` (``input_normalization.MODES``) as its first
        layer, ``input_norm`` (buffers ``input_norm.mean``/``input_norm.std``, saved with the weights);
        ``"none"`` removes it. Recorded in ``config['input_normalization']`` so that ``load_model`` rebuilds it."""
        from .input_normalization import MODES, InputNormalization
        if mode not in MODES:
            raise ValueError(f"{self.name}: input normalization must be one of {MODES}, got {mode!r}")
        self.children.pop("input_norm", None)
        self.__dict__.pop("input_norm", None)
        if mode != "none":   # first in call order, so state_dict lists it first
            layer = InputNormalization(mode, self.in_channels, self.input_size)
            self.children = {"input_norm": layer, **self.children}
            self.input_norm = layer
            self.config["preprocessing"]["normalisation_in_model"] = \
                f"{mode}: (255 (std x + mean) - input_norm.mean) / input_norm.std"
        else:
            self.config["preprocessing"].pop("normalisation_in_model", None)
        self.config["input_normalization"] = mode
        return self

    def set_dropout(self, enabled: bool) -> "Model":
        """Switch dropout off (identity) while the rest stays in training mode, e.g. for gradient checks."""
        self.dropout_enabled = bool(enabled)
        return self

    def predict_proba(self, x, batch_size: int = 32) -> np.ndarray:
        """Class probabilities (N, num_classes), float64 (``predict_proba``)."""
        return predict_proba(self, x, batch_size)

    def predict(self, x) -> np.ndarray:
        """Predicted class indices (N,)."""
        return np.argmax(self.forward(x, training=False), axis=1)

    def features(self, x, training=False) -> np.ndarray:
        """Run a forward pass and return ``cam_features`` (N, C, h, w)."""
        self.forward(x, training=training)
        return self.cam_features

    def cam_weights(self) -> np.ndarray:
        """(num_classes, C): the classifier conv's 1x1 weights."""
        return self.conv10.params["weight"].reshape(self.num_classes, -1)

    def cam_bias(self) -> np.ndarray:
        """(num_classes,): the classifier conv's bias."""
        return self.conv10.params["bias"]

    def summary(self, input_shape=None) -> str:
        """Table of layers, output shapes, parameters and FLOPs; default input (1, C, input_size, input_size)."""
        if input_shape is None:
            input_shape = (1, self.in_channels, self.input_size, self.input_size)
        return summary_table(self, input_shape)

    def __repr__(self):
        c = self.config
        return (f"{type(self).__name__}(name={c['name']!r}, num_classes={c['num_classes']}, "
                f"input_size={c['input_size']}, in_channels={c['in_channels']}, "
                f"parameters={self.num_parameters():,})")


class SqueezeNet(Model):
    """Networks 1-3: SqueezeNet v1.1 (Matlab's ``squeezenet``), optionally with simple bypass.

    ``forward(x) -> logits`` (N, num_classes) = GAP(ReLU(conv10(dropout(fire9(...))))).

    conv10 starts at weight 0 and bias ``CLASSIFIER_BIAS`` (not torchvision's N(0, 0.01), bias 0): every class
    map then starts equal and positive, so every ReLU passes gradient and the first step moves the weights along
    the difference of the class means. With N(0, 0.01) and these ReLU features (pooled mean 1.6 from scratch,
    13.7 with ImageNet weights, over 512 channels) the class maps start at different levels (about 10 apart with
    ImageNet features), often mostly below zero, and a step too far leaves both at zero for good: constant
    output, loss ln 2, no gradient.
    ``examples/classifier_collapse.py`` measures it; ``docs/reproduction.md`` tells the story.
    """

    CLASSIFIER_BIAS = 0.1

    def __init__(self, num_classes=2, input_size=227, in_channels=3, seed=0, bypass=False, name=None):
        super().__init__(name or ("squeezenet_bypass" if bypass else "squeezenet"), num_classes, input_size,
                         in_channels, seed)
        self.bypass = bool(bypass)
        self._add_trunk(Fire, self.bypass)
        self.add_child("drop9", Dropout(0.5, rng=self._seed("drop9")))
        self.add_child("conv10", Conv2d(512, self.num_classes, 1, rng=self._seed("conv10")))
        self.conv10.params["weight"][...] = 0.0           # zero classifier, positive bias: see the docstring
        self.conv10.params["bias"][...] = self.CLASSIFIER_BIAS
        self.add_child("relu_conv10", ReLU())
        self.add_child("pool10", GlobalAvgPool2d())

    def forward(self, x, training=None):
        t = self._is_training(training)
        self._check(x)
        x = self._normalise_input(x, t)
        if self._splits_batch(x, t):                   # each thread its share of the images, start to end
            return self._split_forward(x, ("drop9", "conv10", "relu_conv10", "pool10"))
        x, _ = self.trunk_forward(x, t)                                    # (N, 512, 14, 14) at 227
        x = self.drop9(x, training=self._dropout_training(t))
        self.cam_features = x
        self.class_maps = self._class_maps(x, t)                           # (N, classes, 14, 14)
        return self.pool10(self.class_maps)                                # (N, classes)

    def _class_maps(self, x, training):
        """ReLU(conv10(x)). After ``fuse()``, in evaluation, with no hook on either layer: one pass,
        ``ops.conv2d_act_inference`` (the ReLU in each image's GEMM epilogue; the two layers are not called, so
        they keep no cache). Else the two layers."""
        conv10, relu = self.conv10, self.relu_conv10
        if self.fused and not training and not (conv10._forward_hooks or relu._forward_hooks):
            conv10._cache = relu._cache = None
            return ops.conv2d_act_inference(x, *weight_and_bias(conv10, x.dtype), conv10.stride, conv10.padding,
                                            "relu", 1.0)
        return relu(conv10(x, training=training))

    def _evaluate_share(self, x):
        """The evaluation forward of one share of a split batch (``ops/split_batch.py``), returning
        ``(logits, cam_features, class_maps)`` instead of storing them: the shares run at once. drop9 is the
        identity in evaluation."""
        features, _ = self.trunk_forward(x, False)
        maps = self._class_maps(features, False)
        return self.pool10.forward(maps), features, maps

    def backward(self, dlogits, input_grad=True):
        """``forward`` in reverse: fills every parameter's gradient and returns the input's, or None with
        ``input_grad=False`` (a training step: conv1 then skips the image's gradient)."""
        d = self.pool10.backward(dlogits)
        d = self.relu_conv10.backward(d)
        d = self.conv10.backward(d)
        d = self.drop9.backward(d)
        return self._input_grad(self.trunk_backward(d, input_grad=input_grad))


class ProposedCNN(Model):
    """Network 4, the paper's light CNN (Figure 3); every choice is argued in ``docs/architecture.md``.

    ::

        conv1 -> ReLU -> pool1 -> CustomFire2 -> CustomFire3 ──────────────────────────────┐ skip (128 ch)
                                    -> pool3 -> CF4 -> CF5 -> pool5 -> CF6..CF9 -> drop9   │
                                    -> upconv (ConvTranspose2d 512->64, k4, s4) -> ELU     │
                                    -> crop/pad to the skip's size (exact at 227) ─> concat [fire3 | up]
                                    -> conv_fuse (1x1, 192->128) -> ELU -> conv10 (1x1, 128->classes) -> GAP

    No ReLU at the end: logits = GAP(conv10(f)), linear in the pooled features ``f`` (``cam_is_linear``).
    After ``fuse()``, where the upconv's output has the skip's size, the evaluation head (drop9 .. pool10) runs as
    ``ops.proposed_head_inference`` and in training upconv .. elu_fuse as ``ops.upconv_fuse_forward/backward``
    (``squeezenp/functional/head.py``, its fast twin ``squeezenp/ops/head.py``).
    """

    cam_is_linear = True
    UP_CHANNELS, UP_KERNEL, UP_STRIDE, FUSE_CHANNELS, SKIP_FROM = 64, 4, 4, 128, "fire3"

    def __init__(self, num_classes=2, input_size=227, in_channels=3, seed=0, name="proposed"):
        super().__init__(name, num_classes, input_size, in_channels, seed)
        self._add_trunk(CustomFire, bypass=False)
        self.add_child("drop9", Dropout(0.5, rng=self._seed("drop9")))
        self.add_child("upconv", ConvTranspose2d(512, self.UP_CHANNELS, self.UP_KERNEL, stride=self.UP_STRIDE,
                                                 rng=self._seed("upconv")))
        self.add_child("elu_upconv", ELU())
        self.add_child("crop_upconv", CropOrPad2d())
        self.add_child("concat", Concat(axis=1))
        skip_ch = FIRE_SPECS[self.SKIP_FROM][2] + FIRE_SPECS[self.SKIP_FROM][3]
        self.add_child("conv_fuse", Conv2d(skip_ch + self.UP_CHANNELS, self.FUSE_CHANNELS, 1,
                                           rng=self._seed("conv_fuse")))
        self.add_child("elu_fuse", ELU())
        self.add_child("conv10", Conv2d(self.FUSE_CHANNELS, self.num_classes, 1, rng=self._seed("conv10")))
        rng = self._seed("conv10.normal")   # small initial logits, as torchvision's conv10
        self.conv10.params["weight"][...] = rng.normal(0.0, 0.01, self.conv10.params["weight"].shape)
        self.add_child("pool10", GlobalAvgPool2d())
        self._skip_path_cache = None       # the fused training forward's (``_fused_skip_path``)

    def forward(self, x, training=None):
        """Figure 3, top to bottom; shapes at 227x227."""
        t = self._is_training(training)
        self._check(x)
        x = self._normalise_input(x, t)
        self._skip_path_cache = None
        if self._splits_batch(x, t):                   # each thread its share of the images, start to end
            return self._split_forward(x, self.HEAD)
        x, skip = self.trunk_forward(x, t)             # CF9 (N, 512, 14, 14); skip = CF3 (N, 128, 56, 56)
        if self.fused and not t and self._head_fusable(x, skip):
            return self._fused_head(x, skip)
        x = self.drop9(x, training=self._dropout_training(t))
        if self.fused and self._head_fusable(x, skip):  # training: upconv .. elu_fuse as one fused pair
            self.cam_features = self._fused_skip_path(x, skip)
        else:
            up = self.upconv(x, training=t)                  # transposed conv, 4x: (N, 64, 56, 56)
            up = self.elu_upconv(up, training=t)
            up = self.crop_upconv(up, skip.shape[2:])        # to CF3's size (the identity at 227)
            h = self.concat(skip, up)                        # [CF3 | up]: (N, 192, 56, 56)
            h = self.conv_fuse(h, training=t)                # the 128-filter 1x1 "weighted sum"
            self.cam_features = self.elu_fuse(h, training=t) # (N, 128, 56, 56)
        self.class_maps = self.conv10(self.cam_features, training=t)   # (N, classes, 56, 56)
        return self.pool10(self.class_maps)              # (N, classes)

    HEAD = ("drop9", "upconv", "elu_upconv", "crop_upconv", "concat", "conv_fuse", "elu_fuse", "conv10", "pool10")

    def _head_fusable(self, x9, skip) -> bool:
        """The fused head computes the same numbers for a non-overlapping upconv (stride = kernel, no padding)
        whose output has the skip's size exactly (no crop or pad; so at 227 and at 35, for instance)."""
        return self._head_fusable_sides(tuple(x9.shape[2:]), tuple(skip.shape[2:]))

    def _head_fusable_sides(self, side9, side3) -> bool:
        up = self.upconv
        return (up.kernel_size == up.stride and up.padding == (0, 0) and "bias" in up.params
                and "bias" in self.conv_fuse.params and "bias" in self.conv10.params
                and tuple(side3) == (side9[0] * up.stride[0], side9[1] * up.stride[1]))

    def _splits_batch(self, x, training) -> bool:
        """As the SqueezeNets, where the head is fusable at this input size (the shares run the fused head)."""
        if not super()._splits_batch(x, training):
            return False
        from .plan import _fire_sides
        sides = _fire_sides(self, x.shape)             # the input sides of fire2 .. fire9, in call order
        return self._head_fusable_sides(sides[-1], sides[1])

    def _evaluate_share(self, x):
        """The evaluation forward of one share of a split batch: ``(logits, cam_features, class_maps)``."""
        return self._head_inference(*self.trunk_forward(x, False))

    def _head_inference(self, x9, skip):
        """``ops.proposed_head_inference``: ``(logits, cam_features, class_maps)``, nothing stored."""
        return ops.proposed_head_inference(
            x9, skip, *(weight_and_bias(layer, x9.dtype) for layer in (self.upconv, self.conv_fuse, self.conv10)),
            self.elu_upconv.alpha, self.elu_fuse.alpha, workspace=self.upconv.workspace)

    def _fused_head(self, x9, skip):
        """Evaluation forward of the head after ``fuse()``: ``ops.proposed_head_inference``, image by image with no
        concatenation (``squeezenp/ops/head.py``); drop9 is the identity in evaluation. The head's layers are not
        called (no caches, no forward hooks); ``cam_features`` and ``class_maps`` are set as on the layer path."""
        for name in self.HEAD:
            self.children[name]._cache = None
        logits, self.cam_features, self.class_maps = self._head_inference(x9, skip)
        return logits

    def _fused_skip_path(self, x9, skip):
        """Training forward of upconv .. elu_fuse after ``fuse()``: ``ops.upconv_fuse_forward`` (no concatenation,
        ``squeezenp/ops/head.py``); those layers are not called (no caches, no forward hooks)."""
        for name in ("upconv", "elu_upconv", "crop_upconv", "concat", "conv_fuse", "elu_fuse"):
            self.children[name]._cache = None
        features, self._skip_path_cache = ops.upconv_fuse_forward(
            x9, skip, weight_and_bias(self.upconv, x9.dtype), weight_and_bias(self.conv_fuse, x9.dtype),
            self.elu_upconv.alpha, self.elu_fuse.alpha, workspace=self.upconv.workspace)
        return features

    def _fused_skip_path_backward(self, d):
        """Backward of :meth:`_fused_skip_path`: ``(d_x9, d_skip)``; fills upconv's and conv_fuse's gradients."""
        dx9, d_skip, dw_up, db_up, dw_f, db_f = ops.upconv_fuse_backward(d, self._skip_path_cache,
                                                                         workspace=self.upconv.workspace)
        for layer, dw, db in ((self.upconv, dw_up, db_up), (self.conv_fuse, dw_f, db_f)):
            layer.grads["weight"][...] = dw
            layer.grads["bias"][...] = db
        return dx9, d_skip

    def backward(self, dlogits, input_grad=True):
        """``forward`` in reverse; CF3's output fanned out (to pool3 and to the concat), so its gradients add
        (``trunk_backward``'s ``d_fire3``). Returns the input's gradient, or None with ``input_grad=False``."""
        d = self.pool10.backward(dlogits)
        d = self.conv10.backward(d)
        if self._skip_path_cache is not None:
            d_up, d_skip = self._fused_skip_path_backward(d)
        else:
            d = self.elu_fuse.backward(d)
            d = self.conv_fuse.backward(d)
            d_skip, d_up = self.concat.backward(d)
            d_up = self.crop_upconv.backward(d_up)
            d_up = self.elu_upconv.backward(d_up)
            d_up = self.upconv.backward(d_up)
        d = self.drop9.backward(d_up)
        return self._input_grad(self.trunk_backward(d, d_fire3=d_skip, input_grad=input_grad))
