"""CropOrPad2d: crops or zero-pads at the bottom/right; its backward is the adjoint; bad input and gradients
named as for every layer."""
import numpy as np
import pytest

from squeezenp.layers import CropOrPad2d


def test_crop_or_pad_backward_is_adjoint():
    layer = CropOrPad2d()
    rng = np.random.default_rng(0)
    for shape, size in [((1, 2, 4, 5), (6, 3)), ((2, 1, 5, 5), (5, 5)), ((1, 1, 3, 3), (2, 4))]:
        x = rng.standard_normal(shape)
        y = layer.forward(x, size)
        assert y.shape == shape[:2] + size
        d = rng.standard_normal(y.shape)
        np.testing.assert_allclose(np.sum(y * d), np.sum(x * layer.backward(d)))


def test_crop_or_pad_errors():
    layer = CropOrPad2d()
    with pytest.raises(ValueError, match=r"^CropOrPad2d: expected a 4-D input, got shape \(2, 3\)$"):
        layer.forward(np.zeros((2, 3), np.float32), (1, 1))
    with pytest.raises(RuntimeError, match="^CropOrPad2d: backward called without a forward"):
        layer.backward(np.zeros((1, 1, 2, 2), np.float32))
    layer.forward(np.zeros((1, 1, 3, 3), np.float32), (2, 2))
    with pytest.raises(ValueError, match=r"expected an upstream gradient of shape \(1, 1, 2, 2\)"):
        layer.backward(np.zeros((1, 1, 3, 3), np.float32))
