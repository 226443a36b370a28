"""datasets.py: folder scans, the upstream name-list layout, the paper's arrangements, in-memory arrays."""
import shutil

import numpy as np
import pytest

from squeezenp.data.datasets import (
    CLASS_NAMES, COVID, ArrayDataset, DatasetLayoutError, Split, arrangement1, arrangement2, load_split,
    scan_image_folder, scan_upstream_layout,
)
from squeezenp.data.phantoms import write_phantom_folder


@pytest.fixture(scope="module")
def phantom_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantoms")
    write_phantom_folder(root, 10, size=24, seed=0)           # 6/2/2 per class
    return root


def _upstream_from(folder_splits, dest, class_dir_names=("CT_NonCOVID", "CT_COVID")):
    """Build an upstream-style layout of symlinks: dest/images/<CT_class>/<name> and dest/Data-split/<class>/*.txt."""
    for label, cls in enumerate(CLASS_NAMES):
        img_dir = dest / "images" / class_dir_names[label]
        list_dir = dest / "Data-split" / cls
        img_dir.mkdir(parents=True, exist_ok=True)
        list_dir.mkdir(parents=True, exist_ok=True)
        for split, s in folder_splits.items():
            names = []
            for p, y in zip(s.paths, s.labels):
                if y == label:
                    (img_dir / p.name).symlink_to(p)
                    names.append(p.name)
            (list_dir / f"{split}CT_{cls}.txt").write_text("\n".join(names[::-1]) + "\n")
    return dest / "images", dest / "Data-split"


# --- image folders -----------------------------------------------------------------------------------------

def test_scan_image_folder_on_shared(require_shared):
    splits = scan_image_folder(require_shared("data", "covid-ct"))
    assert set(splits) == {"train", "val"}
    assert splits["train"].counts() == {"NonCOVID": 234, "COVID": 191, "total": 425}
    assert splits["val"].counts() == {"NonCOVID": 58, "COVID": 60, "total": 118}
    s = splits["train"]
    assert s.labels.dtype == np.int64 and all(p.parent.name == CLASS_NAMES[y] for p, y in zip(s.paths, s.labels))


def test_scan_is_sorted_and_ignores_non_images(phantom_root, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(phantom_root, root)
    (root / "train" / "COVID" / "notes.txt").write_text("x")
    (root / "train" / "COVID" / ".hidden.png").write_bytes(b"")
    (root / "train" / "COVID" / "UPPER.PNG").write_bytes(b"")   # extension match is case-insensitive
    s = scan_image_folder(root)["train"]
    names = [p.name for p in s.paths]
    assert "notes.txt" not in names and ".hidden.png" not in names and "UPPER.PNG" in names
    assert names[:6] == sorted(names[:6]) and s.counts() == {"NonCOVID": 6, "COVID": 7, "total": 13}


def test_scan_errors_name_the_folder(phantom_root, tmp_path):
    with pytest.raises(DatasetLayoutError, match="nowhere"):
        scan_image_folder(tmp_path / "nowhere")
    root = tmp_path / "r"
    shutil.copytree(phantom_root, root)
    shutil.rmtree(root / "test")
    assert set(scan_image_folder(root)) == {"train", "val"}   # test is optional
    shutil.rmtree(root / "val" / "NonCOVID")
    with pytest.raises(DatasetLayoutError, match="val/NonCOVID"):
        scan_image_folder(root)
    shutil.rmtree(root / "val")
    with pytest.raises(DatasetLayoutError, match="missing split folder"):
        scan_image_folder(root)


# --- upstream layout ---------------------------------------------------------------------------------------

def test_upstream_layout_matches_folder_scan(phantom_root, tmp_path):
    folder = scan_image_folder(phantom_root)
    images, lists = _upstream_from(folder, tmp_path)
    up = scan_upstream_layout(images, lists)
    assert set(up) == {"train", "val", "test"}
    for k in folder:
        assert [p.name for p in up[k].paths] == [p.name for p in folder[k].paths]
        np.testing.assert_array_equal(up[k].labels, folder[k].labels)


def test_upstream_accepts_plain_class_names_and_nesting(phantom_root, tmp_path):
    images, lists = _upstream_from(scan_image_folder(phantom_root), tmp_path, ("NonCOVID", "COVID"))
    assert scan_upstream_layout(images, lists)["train"].counts()["COVID"] == 6
    nested = tmp_path / "nested" / "deeper"
    nested.parent.mkdir()
    shutil.move(str(images), str(nested))                    # no class folder at the root: found by name
    assert scan_upstream_layout(nested.parent, lists)["val"].counts() == {"NonCOVID": 2, "COVID": 2, "total": 4}


def test_upstream_missing_name_is_named(phantom_root, tmp_path):
    images, lists = _upstream_from(scan_image_folder(phantom_root), tmp_path)
    lst = lists / "COVID" / "valCT_COVID.txt"
    lst.write_text(lst.read_text() + "ghost%0.png\n")
    with pytest.raises(DatasetLayoutError, match=r"valCT_COVID\.txt.*ghost%0\.png"):
        scan_upstream_layout(images, lists)


def test_upstream_duplicates_and_leaks(phantom_root, tmp_path):
    images, lists = _upstream_from(scan_image_folder(phantom_root), tmp_path)
    lst = lists / "COVID" / "trainCT_COVID.txt"
    first = lst.read_text().split()[0]
    lst.write_text(lst.read_text() + first + "\n")
    with pytest.warns(UserWarning, match="more than once"):
        assert scan_upstream_layout(images, lists)["train"].counts()["COVID"] == 6
    val = lists / "COVID" / "valCT_COVID.txt"
    val.write_text(val.read_text() + first + "\n")
    with pytest.raises(DatasetLayoutError, match="listed in both"), pytest.warns(UserWarning):
        scan_upstream_layout(images, lists)


def test_upstream_missing_lists(phantom_root, tmp_path):
    images, lists = _upstream_from(scan_image_folder(phantom_root), tmp_path)
    (lists / "NonCOVID" / "testCT_NonCOVID.txt").unlink()
    with pytest.raises(DatasetLayoutError, match="testCT_NonCOVID.txt"):
        scan_upstream_layout(images, lists)
    (lists / "COVID" / "testCT_COVID.txt").unlink()
    assert set(scan_upstream_layout(images, lists)) == {"train", "val"}   # both test lists gone: skipped
    with pytest.raises(DatasetLayoutError, match="images_root"):
        scan_upstream_layout(tmp_path / "none", lists)


def test_upstream_layout_on_shared(require_shared, tmp_path):
    root = require_shared("data", "covid-ct")
    images, lists = _upstream_from(scan_image_folder(root), tmp_path)
    for split in ("train", "val"):                           # the official lists, not the ones we wrote
        for cls in CLASS_NAMES:
            (lists / cls / f"{split}CT_{cls}.txt").write_text((root / "splits" / f"{split}CT_{cls}.txt").read_text())
    up = scan_upstream_layout(images, lists, split_names=("train", "val"))
    assert up["train"].counts() == {"NonCOVID": 234, "COVID": 191, "total": 425}
    assert up["val"].counts() == {"NonCOVID": 58, "COVID": 60, "total": 118}
    with pytest.raises(DatasetLayoutError, match="testCT_"):   # test images are held out of shared/
        scan_upstream_layout(root, root / "splits")


# --- arrangements -----------------------------------------------------------------------------------------

def test_arrangement1_on_shared(require_shared):
    splits = scan_image_folder(require_shared("data", "covid-ct"))
    a = arrangement1(splits, seed=0)
    assert a.counts["train"] == {"NonCOVID": 191, "COVID": 191, "total": 382}
    assert a.counts["val"] == {"NonCOVID": 58, "COVID": 60, "total": 118}
    assert set(a.splits) == {"train", "val"} and "382" in a.table()
    assert a["train"].paths == arrangement1(splits, seed=0)["train"].paths
    assert a["train"].paths != arrangement1(splits, seed=1)["train"].paths
    assert set(a["train"].paths) <= set(splits["train"].paths)


def test_arrangements_with_second_source(phantom_root, tmp_path):
    splits = scan_image_folder(phantom_root)
    unbalanced = {**splits, "train": splits["train"].subset(np.arange(10))}   # 6 NonCOVID, 4 COVID
    second = tmp_path / "sirm"
    (second / "a").mkdir(parents=True)
    for i in range(10):
        (second / "a" / f"s{i}.png").symlink_to(splits["val"].paths[0])
    a1 = arrangement1(unbalanced, seed=0, second_source=second)
    assert a1.counts["train"] == {"NonCOVID": 4, "COVID": 4, "total": 8}
    assert a1.counts["test1"]["total"] == 4 and a1.counts["test2"] == {"NonCOVID": 0, "COVID": 10, "total": 10}
    a2 = arrangement2(unbalanced, second, seed=0)
    assert a2.counts["train"] == {"NonCOVID": 4, "COVID": 4 + 6, "total": 14}
    assert a2.counts["val"] == {"NonCOVID": 2, "COVID": 2 + 2, "total": 6}
    assert a2.counts["test"] == {"NonCOVID": 2, "COVID": 2 + 2, "total": 6}
    extra = [set(p for p in a2[k].paths if p.parent.parent == second) for k in ("train", "val", "test")]
    assert sum(map(len, extra)) == 10 and not (extra[0] & extra[1] or extra[0] & extra[2] or extra[1] & extra[2])
    with pytest.raises(DatasetLayoutError, match="second_source"):
        arrangement2(splits, tmp_path / "missing", seed=0)


# --- arrays -----------------------------------------------------------------------------------------------

def test_load_split_and_batches(phantom_root, tmp_path):
    split = scan_image_folder(phantom_root)["val"]
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n")
    split = Split.concat(split, Split([bad], [COVID]))
    ds, errors = load_split(split, size=(16, 16), channels=1, on_error="skip")
    assert len(ds) == 4 and ds.images.shape == (4, 1, 16, 16) and errors[0][0] == bad
    np.testing.assert_array_equal(ds.labels, [0, 0, 1, 1])
    seen = np.concatenate([y for _, y in ds.batches(3, shuffle=True, rng=0)])
    assert sorted(seen.tolist()) == [0, 0, 1, 1]
    x, y = ds[1:3]
    assert x.shape == (2, 1, 16, 16) and y.tolist() == [0, 1]
    with pytest.raises(ValueError):
        ArrayDataset(np.zeros((2, 1, 4, 4)), [0])


def test_split_validation():
    with pytest.raises(ValueError, match="labels"):
        Split(["a.png"], [0, 1])
    with pytest.raises(ValueError, match="0 \\(NonCOVID\\) or 1"):
        Split(["a.png"], [2])
