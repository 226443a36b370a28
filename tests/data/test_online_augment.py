"""Online augmentation: shape and dtype kept, seeded determinism, the flip, and bounded changes."""
import numpy as np
import pytest

from squeezenp.data.images import NORMALISATION
from squeezenp.data.online_augment import OnlineAugment


def _batch(n=4, size=24, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.random((n, size, size))
    x = ((g - NORMALISATION["mean"]) / NORMALISATION["std"]).astype(np.float32)
    return np.ascontiguousarray(np.broadcast_to(x[:, None], (n, 3, size, size)))


def test_shape_dtype_and_channels_are_kept_and_the_input_untouched():
    x = _batch()
    x0 = x.copy()
    out = OnlineAugment()(x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.array_equal(out[:, 0], out[:, 2])                 # channels stay one gray image
    assert np.array_equal(x, x0) and not np.allclose(out, x)


def test_same_generator_state_same_augmentation():
    x = _batch()
    a = OnlineAugment()(x, np.random.default_rng([7, 3]))
    b = OnlineAugment()(x, np.random.default_rng([7, 3]))
    c = OnlineAugment()(x, np.random.default_rng([7, 4]))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_flip_only_mirrors_about_half_the_images():
    x = _batch(n=200, size=8)
    flip_only = OnlineAugment(max_angle=0, max_scale=0, max_shift=0, contrast=0, gamma=0)
    out = flip_only(x, np.random.default_rng(0))
    same = np.array([np.allclose(o, i, atol=1e-5) for o, i in zip(out, x)])
    mirrored = np.array([np.allclose(o, i[..., ::-1], atol=1e-5) for o, i in zip(out, x)])
    assert np.all(same | mirrored) and 0.35 < mirrored.mean() < 0.65


def test_contrast_and_gamma_stay_within_their_ranges():
    x = _batch(n=50, size=16, seed=2)
    aug = OnlineAugment(flip=False, max_angle=0, max_scale=0, max_shift=0, contrast=0.15, gamma=0)
    out = aug(x, np.random.default_rng(3))
    s_in, s_out = x[:, 0].std(axis=(1, 2)), out[:, 0].std(axis=(1, 2))
    assert np.all(s_out / s_in >= 0.85 - 1e-4) and np.all(s_out / s_in <= 1.15 + 1e-4)
    np.testing.assert_allclose(out[:, 0].mean(axis=(1, 2)), x[:, 0].mean(axis=(1, 2)), atol=1e-5)
