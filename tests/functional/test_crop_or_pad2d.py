"""crop_or_pad2d_forward / backward: float64 gradient check (crop, pad, both, identity) and the identity
returning its input without a copy."""
import numpy as np
import pytest

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import crop_or_pad2d_backward, crop_or_pad2d_forward


@pytest.mark.parametrize("shape,size", [((1, 2, 4, 5), (6, 3)), ((2, 1, 5, 5), (5, 5)), ((1, 1, 3, 3), (2, 4)),
                                        ((2, 3, 4, 4), (7, 7))])
def test_crop_or_pad2d_gradient(shape, size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    out, _, _ = check_function_gradients(crop_or_pad2d_forward, crop_or_pad2d_backward, (x, size), {0: 0}, rng)
    assert out.shape == shape[:2] + size
    h, w = min(shape[2], size[0]), min(shape[3], size[1])
    np.testing.assert_array_equal(out[:, :, :h, :w], x[:, :, :h, :w])
    assert np.all(out[:, :, h:] == 0) and np.all(out[:, :, :, w:] == 0)
    if shape[2:] == size:
        assert crop_or_pad2d_forward(x, size)[0] is x
