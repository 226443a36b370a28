"""Start the proposed CNN from SqueezeNet 1.1's ImageNet weights, keeping the trunk's function.

The proposed CNN's conv1 and Fire modules have SqueezeNet 1.1's shapes, so torchvision's ImageNet weights load
into them (``pretrained.load_torchvision_squeezenet``). Two differences remain: every CustomFire has a batch norm
after its squeeze convolution, and ELU instead of ReLU. A fresh batch norm (scale 1, shift 0) would standardise
the squeeze outputs and so change what every later layer sees. Instead each batch norm is set to pass its input
through unchanged on the training images::

    gamma = sqrt(var + eps),  beta = mean,  running_mean = mean,  running_var = var

where ``mean`` and ``var`` are that channel's statistics on a sample of training images; then
``bn(s) = gamma * (s - mean) / sqrt(var + eps) + beta = s`` and the CustomFire computes ELU where SqueezeNet
computed ReLU on the same values. The Fire modules are calibrated in call order, because each one's input
depends on the ones before it. The new layers (transposed conv, conv_fuse, conv10) keep their initialisation.

Tests: ``tests/models/test_transfer.py``.
"""
from __future__ import annotations

import numpy as np

from ..layers import BatchNorm2d
from .pretrained import load_torchvision_squeezenet


def batchnorm_as_identity(model, x_sample: np.ndarray, batch_size: int = 32) -> list[str]:
    """Set every BatchNorm2d of ``model`` to the identity on ``x_sample`` (N, C, H, W), in call order.

    Returns the names of the batch norms set.
    """
    bns = [(name, layer) for name, layer in model.named_layers() if isinstance(layer, BatchNorm2d)]
    for name, bn in bns:
        stats = []

        def record(layer, args, out):
            x = args[0].astype(np.float64)
            stats.append((x.mean(axis=(0, 2, 3)), (x ** 2).mean(axis=(0, 2, 3)), x.shape[0] * x.shape[2] * x.shape[3]))
        handle = bn.register_forward_hook(record)
        try:
            with model.unfused():        # the batch norms must run as layers for the hook to see their input
                for b in range(0, len(x_sample), batch_size):
                    model.forward(x_sample[b:b + batch_size], training=False)
        finally:
            handle.remove()
        n = sum(s[2] for s in stats)
        mean = sum(s[0] * s[2] for s in stats) / n
        var = np.maximum(sum(s[1] * s[2] for s in stats) / n - mean ** 2, 0.0)
        dtype = bn.params["weight"].dtype
        bn.params["weight"][...] = np.sqrt(var + bn.eps).astype(dtype)
        bn.params["bias"][...] = mean.astype(dtype)
        bn.buffers["running_mean"][...] = mean.astype(dtype)
        bn.buffers["running_var"][...] = var.astype(dtype)
    return [name for name, _ in bns]


def imagenet_start(model, weights_path, x_sample: np.ndarray) -> dict:
    """Load the ImageNet trunk into ``model`` and make its batch norms the identity on ``x_sample``.

    Returns the loading report of ``load_torchvision_squeezenet`` with ``"identity_batchnorms"`` added.
    """
    report = load_torchvision_squeezenet(model, weights_path)
    report["identity_batchnorms"] = batchnorm_as_identity(model, x_sample)
    model.config["pretrained"] = str(weights_path)
    return report
