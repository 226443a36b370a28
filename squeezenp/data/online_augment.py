"""Augmentation drawn afresh for every image of every batch ("online"), instead of a fixed x4 copy.

Per image, on the network tensor (C, H, W) whose channels are one gray image (the pipeline replicates gray)::

    flip     : mirror left-right with probability 1/2 (chest CT is close to symmetric at this level of detail)
    affine   : rotation in [-max_angle, max_angle] degrees, scale in [1/(1+s), 1+s], shift up to ``max_shift`` of
               the size, about the centre, bilinear, edges filled with the image's darkest value (air)
    contrast : multiply the deviation from the mean by c in [1-k, 1+k]
    gamma    : intensities x in [0, 1] -> x ** gamma, gamma log-uniform in [1/(1+g), 1+g]

Drawing from ``rng`` only, so an epoch seeded the same way sees the same images (resume stays exact).
Tests: ``tests/data/test_online_augment.py``.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from .images import NORMALISATION


@dataclasses.dataclass(frozen=True)
class OnlineAugment:
    flip: bool = True
    max_angle: float = 10.0
    max_scale: float = 0.10
    max_shift: float = 0.06
    contrast: float = 0.15
    gamma: float = 0.25

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment a batch (N, C, H, W) of normalised tensors; returns a new array of the same shape and dtype."""
        mean, std = NORMALISATION["mean"], NORMALISATION["std"]
        out = np.empty_like(x)
        for i in range(len(x)):
            g = x[i, 0].astype(np.float64) * std + mean
            g = self.one(g, rng)
            out[i] = ((g - mean) / std).astype(x.dtype)[None]
        return out

    def one(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment one gray image (H, W) with intensities near [0, 1]."""
        H, W = g.shape
        if self.flip and rng.random() < 0.5:
            g = g[:, ::-1]
        angle = np.deg2rad(rng.uniform(-self.max_angle, self.max_angle))
        s = np.exp(rng.uniform(-np.log1p(self.max_scale), np.log1p(self.max_scale)))
        shift = rng.uniform(-self.max_shift, self.max_shift, 2) * (H, W)
        c, si = np.cos(angle) / s, np.sin(angle) / s
        m = np.array([[c, -si], [si, c]])                    # output -> input coordinates
        centre = np.array([(H - 1) / 2, (W - 1) / 2])
        offset = centre - m @ (centre + shift)
        g = ndimage.affine_transform(g, m, offset=offset, order=1, mode="constant", cval=float(g.min()))
        lo, hi = float(g.min()), float(g.max())
        if hi > lo:
            u = (g - lo) / (hi - lo)
            gam = np.exp(rng.uniform(-np.log1p(self.gamma), np.log1p(self.gamma)))
            u = u ** gam
            g = u * (hi - lo) + lo
        k = rng.uniform(1 - self.contrast, 1 + self.contrast)
        mu = g.mean()
        return mu + k * (g - mu)
