"""augment.py: the x4 augmentation of Table 1, seeded and within the paper's ranges."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from squeezenp.data.augment import (
    ANGLE_RANGE, NOISE_SIGMA, SCALE_RANGE, add_noise, augment_x4, augmentation_examples, draw_params, rotate, scale,
)
from squeezenp.data.phantoms import make_phantom_dataset


@pytest.fixture(scope="module")
def data():
    X, y, _ = make_phantom_dataset(3, 40, seed=0)
    return X, y


def test_x4_layout_and_reproducibility(data):
    X, y = data
    out, labels, params = augment_x4(X, y, np.random.default_rng(5), return_params=True)
    N = len(X)
    assert out.shape == (4 * N, 40, 40) and out.dtype == X.dtype
    np.testing.assert_array_equal(labels, np.tile(y, 4))
    np.testing.assert_array_equal(out[:N], X)
    for i, p in enumerate(params):
        assert ANGLE_RANGE[0] <= p["angle"] <= ANGLE_RANGE[1] and SCALE_RANGE[0] <= p["scale"] <= SCALE_RANGE[1]
        np.testing.assert_array_equal(out[N + i], rotate(X[i], p["angle"]))
        np.testing.assert_array_equal(out[2 * N + i], scale(X[i], p["scale"]))
    noise = out[3 * N:] - X
    assert 0.5 * NOISE_SIGMA < noise.std() < 1.5 * NOISE_SIGMA
    again, _ = augment_x4(X, y, np.random.default_rng(5))
    np.testing.assert_array_equal(again, out)
    other, _ = augment_x4(X, y, np.random.default_rng(6))
    assert not np.array_equal(other[N:], out[N:])
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_paper_count():
    X = np.zeros((382, 4, 4), dtype=np.float32)
    out, labels = augment_x4(X, np.zeros(382, dtype=np.int64), np.random.default_rng(0))
    assert len(out) == len(labels) == 1528


def test_draw_params_ranges():
    rng = np.random.default_rng(0)
    ps = [draw_params(rng) for _ in range(500)]
    a, s = np.array([p["angle"] for p in ps]), np.array([p["scale"] for p in ps])
    assert a.min() >= 0 and a.max() <= 90 and a.max() - a.min() > 80
    assert s.min() >= 1.1 and s.max() <= 1.3 and s.max() - s.min() > 0.15


def test_transforms_identity_and_geometry():
    img = np.zeros((21, 21), dtype=np.float32)
    img[10, 15] = 1.0                                            # right of centre
    np.testing.assert_allclose(rotate(img, 0.0), img, atol=1e-6)
    np.testing.assert_allclose(scale(img, 1.0), img, atol=1e-6)
    r = rotate(img, 90.0)
    assert np.unravel_index(r.argmax(), r.shape) == (5, 10)      # counter-clockwise: now above centre
    z = scale(np.pad(np.ones((11, 11), np.float32), 5), 1.2)    # zoom in: the bright square grows
    assert z.shape == (21, 21) and (z > 0.5).sum() > 121
    assert add_noise(img, np.random.default_rng(0), sigma=0.0).tolist() == img.tolist()


@settings(deadline=None, max_examples=25)
@given(h=st.integers(1, 12), w=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_shapes_dtypes_ranges(h, w, seed):
    rng = np.random.default_rng(seed)
    img = rng.random((h, w)).astype(np.float32)
    p = draw_params(rng)
    for out in (rotate(img, p["angle"]), scale(img, p["scale"]), add_noise(img, rng)):
        assert out.shape == (h, w) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_bad_inputs(data):
    X, y = data
    with pytest.raises(ValueError, match="labels"):
        augment_x4(X, y[:2], np.random.default_rng(0))
    with pytest.raises(ValueError, match="factor"):
        scale(X[0], 0.9)
    with pytest.raises(ValueError, match="image"):
        rotate(np.zeros((2, 2, 2)), 3.0)


def test_augmentation_examples(data):
    X, _ = data
    cells, params = augmentation_examples(X, np.random.default_rng(0), n=2)
    assert cells.shape == (2, 4) + X.shape[1:] and len(params) == 2
    np.testing.assert_array_equal(cells[:, 0], X[:2])                 # the originals come first
    again, _ = augmentation_examples(X, np.random.default_rng(0), n=2)
    np.testing.assert_array_equal(cells, again)                       # seeded
    with pytest.raises(ValueError, match="images"):
        augmentation_examples(np.zeros((0, 4, 4)), np.random.default_rng(0))
