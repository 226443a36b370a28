"""The four squeezenp networks rebuilt in PyTorch, module names matching squeezenp's state-dict keys, so the
weights copy over key by key (``from_squeezenp``). Used by ``bench_reference.py`` to time PyTorch on exactly
the same network and to check that it gives the same outputs.

Architecture: ``squeezenp/models/networks.py`` (and ``docs/architecture.md``); the crop/pad after the
transposed convolution is at the bottom/right as ``CropOrPad2d``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from squeezenp.models.networks import BYPASS_AROUND, FIRE_SPECS, POOL_AFTER


class TorchFire(nn.Module):
    def __init__(self, cin, sq, e1, e3, custom):
        super().__init__()
        self.custom = custom
        self.squeeze1x1 = nn.Conv2d(cin, sq, 1)
        if custom:
            self.bn = nn.BatchNorm2d(sq)
        self.expand1x1 = nn.Conv2d(sq, e1, 1)
        self.expand3x3 = nn.Conv2d(sq, e3, 3, padding=1)
        self.act = F.elu if custom else F.relu

    def forward(self, x):
        s = self.squeeze1x1(x)
        if self.custom:
            s = self.bn(s)
        s = self.act(s)
        return torch.cat([self.act(self.expand1x1(s)), self.act(self.expand3x3(s))], 1)


class TorchNet(nn.Module):
    """``TorchNet(name, num_classes=2)``: one of squeezenp.models.available()."""

    def __init__(self, name, num_classes=2, in_channels=3):
        super().__init__()
        self.name = name
        self.proposed = name == "proposed"
        self.bypass = name in ("squeezenet_bypass", "squeezenet_bypass_transfer")
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=2)
        for fname, spec in FIRE_SPECS.items():
            setattr(self, fname, TorchFire(*spec, custom=self.proposed))
        self.drop9 = nn.Dropout(0.5)
        if self.proposed:
            self.upconv = nn.ConvTranspose2d(512, 64, 4, stride=4)
            self.conv_fuse = nn.Conv2d(128 + 64, 128, 1)
            self.conv10 = nn.Conv2d(128, num_classes, 1)
        else:
            self.conv10 = nn.Conv2d(512, num_classes, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 3, 2, ceil_mode=True)
        skip = None
        for fname in FIRE_SPECS:
            y = getattr(self, fname)(x)
            x = y + x if (self.bypass and fname in BYPASS_AROUND) else y
            if fname == "fire3":
                skip = x
            if fname in POOL_AFTER:
                x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        x = self.drop9(x)
        if not self.proposed:
            return F.relu(self.conv10(x)).mean(dim=(2, 3))
        up = F.elu(self.upconv(x))
        TH, TW = skip.shape[2:]
        H, W = up.shape[2:]
        if (H, W) != (TH, TW):      # crop or zero-pad at the bottom/right, as CropOrPad2d
            up = F.pad(up[:, :, :TH, :TW], (0, max(TW - W, 0), 0, max(TH - H, 0)))
        h = F.elu(self.conv_fuse(torch.cat([skip, up], 1)))
        return self.conv10(h).mean(dim=(2, 3))


def from_squeezenp(model) -> TorchNet:
    """A TorchNet with ``model``'s weights and batch-norm statistics copied in (strict on every squeezenp key)."""
    net = TorchNet(model.name, model.num_classes, model.in_channels)
    own = net.state_dict()
    state = {}
    for k, v in model.state_dict().items():
        if k not in own:
            raise KeyError(f"_torch_squeezenet: squeezenp key {k!r} has no PyTorch counterpart")
        if tuple(own[k].shape) != v.shape:
            raise ValueError(f"_torch_squeezenet: {k}: PyTorch {tuple(own[k].shape)} vs squeezenp {v.shape}")
        state[k] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise KeyError(f"_torch_squeezenet: PyTorch keys without squeezenp weights: {missing}")
    net.load_state_dict(state, strict=False)
    return net
