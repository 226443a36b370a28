"""Matlab's input normalisation (``imageInputLayer``'s ``Normalization``), as the first layer of a network.

squeezenp's data pipeline gives every network one tensor, ``x = (g - m0) / s0`` with ``g`` the luma in [0, 1]
replicated to every channel and ``m0, s0 = NORMALISATION`` (``squeezenp.data.images``). A Matlab network instead
receives pixels in 0-255 and normalises them in its input layer. This layer turns the pipeline's tensor into what
that input layer would produce, so that files, ``predict``, CAM and timing all stay as they are and the model file
carries its own normalisation (the ``mean`` buffer is saved with the weights, the mode in ``model.config``)::

    pixels = 255 g = 255 (s0 x + m0)
    out    = (pixels - mean) / std                    mean (C, H, W), std (C, 1, 1), both in 0-255 units

Modes (``MODES``):

``zerocenter``  Matlab's default for a network built from layers: ``mean`` = the training set's mean image
                (``mean_image``), ``std`` = 1; pixels stay in 0-255 around zero.
``imagenet``    a network that starts from ImageNet weights keeps ImageNet's normalisation, as Matlab's pretrained
                ``squeezenet`` keeps ImageNet's mean image in its input layer. Our ImageNet weights are
                torchvision's, trained on ``(pixels / 255 - mu_c) / sigma_c``, so ``mean = 255 mu_c`` and
                ``std = 255 sigma_c`` per channel (``IMAGENET_MEAN`` / ``IMAGENET_STD``); Matlab's Caffe-derived
                weights take ``pixels - 255 mu_c`` unscaled, which our weights would not recognise.

Forward is affine in ``x``: ``out = a x + b`` with ``a = 255 s0 / std``, so backward is ``dx = a dout``.
Tests: ``tests/models/test_input_normalization.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import Layer, check_grad, check_input

MODES = ("none", "zerocenter", "imagenet")
IMAGENET_MEAN = (0.485, 0.456, 0.406)      # torchvision's ImageNet statistics, RGB, on [0, 1] pixels
IMAGENET_STD = (0.229, 0.224, 0.225)


def _pipeline_normalisation() -> tuple[float, float]:
    from ..data.images import NORMALISATION
    return float(NORMALISATION["mean"]), float(NORMALISATION["std"])


def to_pixels(x: np.ndarray) -> np.ndarray:
    """The pipeline's tensor ``x`` back to pixels in 0-255, float64: ``255 (s0 x + m0)``."""
    m0, s0 = _pipeline_normalisation()
    return 255.0 * (s0 * np.asarray(x, dtype=np.float64) + m0)


def mean_image(x: np.ndarray, batch: int = 256) -> np.ndarray:
    """The mean image in 0-255 pixels of a training set given as pipeline tensors.

    x : (N, C, H, W) -> (C, H, W) float32, accumulated in float64 a batch at a time (x may be a memmap).
    """
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"mean_image: expected a non-empty (N, C, H, W) training set, got shape {x.shape}")
    total = np.zeros(x.shape[1:], dtype=np.float64)
    for i in range(0, len(x), batch):
        total += to_pixels(x[i:i + batch]).sum(axis=0)
    return (total / len(x)).astype(np.float32)


class InputNormalization(Layer):
    """``InputNormalization(mode, channels, size)``: (N, C, H, W) pipeline tensor -> normalised input, same shape.

    Buffers: ``mean`` (C, H, W) and ``std`` (C, 1, 1), in 0-255 pixel units. ``zerocenter`` starts with a zero mean
    image: set it with ``set_mean(mean_image(x_train))`` before training.
    """

    def __init__(self, mode: str, channels: int, size: int, dtype=np.float32):
        super().__init__()
        if mode not in MODES[1:]:
            raise ValueError(f"InputNormalization: mode must be one of {MODES[1:]}, got {mode!r}")
        self.mode = mode
        mean = np.zeros((channels, size, size), dtype=dtype)
        std = np.ones((channels, 1, 1), dtype=dtype)
        if mode == "imagenet":
            if channels != 3:
                raise ValueError(f"InputNormalization: ImageNet statistics need 3 channels, got {channels}")
            mean[...] = 255.0 * np.asarray(IMAGENET_MEAN, dtype=np.float64)[:, None, None]
            std[...] = 255.0 * np.asarray(IMAGENET_STD, dtype=np.float64)[:, None, None]
        self.buffers["mean"] = mean
        self.buffers["std"] = std

    def set_mean(self, mean: np.ndarray) -> None:
        """Store the mean image (C, H, W) in 0-255 pixels (``mean_image`` of the training set)."""
        if mean.shape != self.buffers["mean"].shape:
            raise ValueError(f"InputNormalization: mean image must have shape {self.buffers['mean'].shape} "
                             f"(channels, input size, input size), got {mean.shape}")
        self.buffers["mean"][...] = mean

    def affine(self, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
        """``(a (C, 1, 1), b (C, H, W))`` with ``out = a x + b`` (also what the ONNX export writes)."""
        m0, s0 = _pipeline_normalisation()
        std = self.buffers["std"].astype(np.float64)
        a = 255.0 * s0 / std
        b = (255.0 * m0 - self.buffers["mean"].astype(np.float64)) / std
        return a.astype(dtype), b.astype(dtype)

    def forward(self, x, training=None):
        check_input(self, x, 4, self.buffers["mean"].shape[0])
        if x.shape[2:] != self.buffers["mean"].shape[1:]:
            raise ValueError(f"InputNormalization: the mean image is {self.buffers['mean'].shape[1:]}, the input "
                             f"{x.shape[2:]}; this network normalises inputs of its training size only")
        a, b = self.affine(x.dtype)
        self._cache = (x.shape, a)
        return a * x + b

    def backward(self, dout):
        shape, a = self._cache if self._cache else (None, None)
        check_grad(self, dout, shape)
        return (a * dout).astype(dout.dtype, copy=False)

    def __repr__(self):
        return f"InputNormalization({self.mode!r})"
