"""phantoms.py: seeded, label-exact synthetic CT slices; lesions inside the lungs and visible at 64 px."""
import numpy as np
import pytest
from PIL import Image

from squeezenp.data.datasets import scan_image_folder
from squeezenp.data.phantoms import make_phantom, make_phantom_dataset, write_phantom_folder


@pytest.mark.parametrize("covid", [False, True])
def test_same_seed_same_phantom_and_ranges(covid):
    a, ma = make_phantom(7, 64, covid=covid)
    b, mb = make_phantom(np.random.default_rng(7), 64, covid=covid)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    assert a.shape == (64, 64) and a.dtype == np.float32 and ma.dtype == bool
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert not np.array_equal(a, make_phantom(8, 64, covid=covid)[0])


@pytest.mark.parametrize("seed", range(12))
def test_masks_and_lungs(seed):
    img, mask, lungs = make_phantom(seed, 64, covid=True, return_lungs=True)
    assert mask.any() and not (mask & ~lungs).any()              # non-empty, inside the lungs
    _, mask0, lungs0 = make_phantom(seed, 64, covid=False, return_lungs=True)
    assert not mask0.any() and lungs0.mean() > 0.05
    # visible at 64 px: the opacity brightens the lung by clearly more than the noise
    assert img[mask].mean() - np.median(img[lungs & ~mask]) > 0.1


def test_dataset_shapes_labels_and_stability():
    X, y, M = make_phantom_dataset(5, 48, seed=3)
    assert X.shape == (10, 48, 48) and X.dtype == np.float32 and M.shape == X.shape and M.dtype == bool
    assert y.dtype == np.int64 and y.tolist() == [0] * 5 + [1] * 5
    assert all(M[y == 1].reshape(5, -1).any(1)) and not M[y == 0].any()
    X2, _, _ = make_phantom_dataset(3, 48, seed=3)             # phantom i does not depend on n
    np.testing.assert_array_equal(X2[:3], X[:3])
    np.testing.assert_array_equal(X2[3:], X[5:8])


def test_class_means_are_not_a_giveaway():
    X, y, _ = make_phantom_dataset(40, 64, seed=0)
    m0, m1 = X[y == 0].mean((1, 2)), X[y == 1].mean((1, 2))
    assert abs(m0.mean() - m1.mean()) < 0.5 * (m0.std() + m1.std())   # overlapping mean brightness


def test_write_phantom_folder_round_trip(tmp_path):
    counts = write_phantom_folder(tmp_path, 10, size=32, seed=1)
    assert counts == {s: {"NonCOVID": n, "COVID": n} for s, n in (("train", 6), ("val", 2), ("test", 2))}
    splits = scan_image_folder(tmp_path)
    assert {k: v.counts()["total"] for k, v in splits.items()} == {"train": 12, "val": 4, "test": 4}
    p = splits["val"].paths[-1]                                 # COVID_00007.png
    assert p.name == "COVID_00007.png"
    with Image.open(p) as im:
        assert im.mode == "L" and im.size == (32, 32)
        img = np.asarray(im)
    mask_path = tmp_path / "masks" / "val" / "COVID" / p.name
    with Image.open(mask_path) as im:
        mask = np.asarray(im) > 0
    X, _, M = make_phantom_dataset(10, 32, seed=1)
    np.testing.assert_array_equal(img, np.rint(X[10 + 7] * 255).astype(np.uint8))
    np.testing.assert_array_equal(mask, M[10 + 7])


@pytest.mark.parametrize("kw", [{"size": 4}, {"size": 3.0}])
def test_bad_size(kw):
    with pytest.raises(ValueError, match="size"):
        make_phantom(0, covid=True, **kw)


def test_bad_splits(tmp_path):
    with pytest.raises(ValueError, match="splits"):
        write_phantom_folder(tmp_path, 4, splits={"train": 0.5, "val": 0.2})
