"""Weight initialisation schemes of a whole network: squeezenp's own, or Matlab's defaults.

``default``  as the networks build themselves: He normal N(0, 2 / fan_in) for every convolution, zero biases;
             SqueezeNet's conv10 at weight 0 and bias 0.1, the proposed CNN's conv10 N(0, 0.01)
             (``squeezenp/models/networks.py`` says why).
``glorot``   Matlab 2020a's ``convolution2dLayer`` / ``transposedConv2dLayer`` defaults (``WeightsInitializer``
             'glorot', ``BiasInitializer`` 'zeros'; ``../shared/paper/tables.md``, Matlab section): every
             convolution and transposed convolution, conv10 included, drawn from U(-a, a) with
             a = sqrt(6 / (fan_in + fan_out)), fan_in = KH KW C_in, fan_out = KH KW C_out; every bias 0.
             Batch norms keep scale 1 and offset 0 (Matlab's defaults too).
``glorot_zero_conv10``  ``glorot`` everywhere except SqueezeNet's classifier (networks 1-3), which starts as in
             ``default``: conv10 weight 0, bias ``SqueezeNet.CLASSIFIER_BIAS``, so both class maps start equal and
             alive. With Glorot's conv10 and zero bias a class map whose weights point against the features'
             common (positive) mean starts dead at nearly every position (``docs/reproduction.md``).
``lsuv``     ``glorot_zero_conv10``, then, once training images are at hand (``scale_to_unit_variance``, called by
             the recipes' ``build_model`` and the search trials), every convolution below the classifier rescaled
             so that its output has unit variance on those images: layer-sequential unit variance (Mishkin and
             Matas, "All you need is a good init", 2016) without its orthonormal draw. Without batch norm,
             Glorot's weights shrink the signal about five-fold per Fire module, and zerocenter's 0-255 pixels
             inflate it; this start gives networks 1 and 2 features of the size a batch-normalised network has.

Each layer draws from its own generator, derived from the model seed and the layer's name
(``networks.layer_rng``), so networks 1 and 2 get the same weights in the layers they share.
Tests: ``tests/models/test_initialisation.py``.
"""
from __future__ import annotations

import numpy as np

from ..layers import Conv2d, ConvTranspose2d
from ..layers.init import glorot_uniform
from .networks import layer_rng

SCHEMES = ("default", "glorot", "glorot_zero_conv10", "lsuv")


def conv_fans(layer) -> tuple[int, int]:
    """(fan_in, fan_out) of a Conv2d (weight (C_out, C_in, KH, KW)) or ConvTranspose2d (weight (C_in, C_out, KH,
    KW)): KH KW C_in and KH KW C_out, the forward direction's input and output channels."""
    kh, kw = layer.kernel_size
    return kh * kw * layer.in_channels, kh * kw * layer.out_channels


def glorot_initialise(model, seed: int | None = None) -> list[str]:
    """Redraw every convolution and transposed convolution of ``model`` with Glorot-uniform weights and zero
    biases; returns the names of the layers redrawn (in call order)."""
    seed = model.seed if seed is None else int(seed)
    done = []
    for name, layer in model.named_layers():
        if not isinstance(layer, (Conv2d, ConvTranspose2d)):
            continue
        w = layer.params["weight"]
        fan_in, fan_out = conv_fans(layer)
        w[...] = glorot_uniform(w.shape, fan_in, fan_out, layer_rng(seed, name + ".glorot"), w.dtype)
        if "bias" in layer.params:
            layer.params["bias"][...] = 0.0
        done.append(name)
    return done


def initialise(model, scheme: str, seed: int | None = None):
    """Apply ``scheme`` (one of ``SCHEMES``) to a freshly built ``model``; records it in ``model.config['init']``."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown initialisation {scheme!r}; expected one of {SCHEMES}")
    if scheme.startswith("glorot") or scheme == "lsuv":
        glorot_initialise(model, seed)
    if scheme in ("glorot_zero_conv10", "lsuv") and not model.cam_is_linear:
        model.conv10.params["weight"][...] = 0.0
        model.conv10.params["bias"][...] = model.CLASSIFIER_BIAS
    model.config["init"] = scheme
    return model


def scale_to_unit_variance(model, x, sweeps: int = 1) -> dict[str, float]:
    """LSUV's scaling: for every convolution and transposed convolution of ``model`` but conv10, in turn, run
    ``x`` (N, C, H, W) through the network (evaluation mode, layer by layer) and divide the layer's weights and
    bias by the standard deviation of its output, so that the output has unit variance. The output is linear in
    (weight, bias), so one pass makes a layer exact given the layers before it; ``sweeps`` passes over all layers
    settle a network whose definition order is not its call order. Returns the last sweep's
    standard deviation per layer (1.0 = already settled)."""
    layers = [(name, layer) for name, layer in model.named_layers()
              if isinstance(layer, (Conv2d, ConvTranspose2d)) and name != "conv10"]
    seen: dict[str, float] = {}
    was_training = model.training
    model.eval()
    with model.unfused():
        for _ in range(sweeps):
            for name, layer in layers:
                out = []
                handle = layer.register_forward_hook(lambda _l, _a, y: out.append(float(np.std(y))))
                try:
                    model.forward(x)
                finally:
                    handle.remove()
                std = out[0]
                if std > 0 and np.isfinite(std):
                    for key in ("weight", "bias"):
                        if key in layer.params:
                            layer.params[key] /= np.asarray(std, dtype=layer.params[key].dtype)
                seen[name] = std
    model.train(was_training)
    return seen
