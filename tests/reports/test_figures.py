"""Report pictures (Pillow only): valid PNGs of the expected size, robust to NaN metrics and short histories."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from squeezenp.reports import figures as F
from squeezenp.reports.colormap import color as cmap_color
from squeezenp.reports.colormap import viridis, viridis_uint8


def _history(n, nan_val=False, drop_every=0):
    return [{"epoch": e, "lr": 0.01 * 0.8 ** ((e - 1) // drop_every if drop_every else 0), "train_loss": 0.7 / e,
             "train_accuracy": 1 - 0.5 / e,
             "val_loss": float("nan") if nan_val else 0.75 / e, "val_accuracy": None if nan_val else 1 - 0.6 / e,
             "seconds": 1.0} for e in range(1, n + 1)]


def _rows(split, n=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    prob = np.clip(0.3 * labels + 0.35 + 0.2 * rng.standard_normal(n), 0, 1)
    return [{"split": split, "path": f"{i}.png", "label": int(l), "probability_covid": float(p),
             "prediction": int(p >= 0.5)} for i, (l, p) in enumerate(zip(labels, prob))]


def _open(path):
    with Image.open(path) as im:
        im.verify()
    im = Image.open(path)
    assert im.format == "PNG"
    return im


def test_viridis_table():
    rgb = viridis([0.0, 0.5, 1.0])
    np.testing.assert_allclose(rgb[0], [0.267004, 0.004874, 0.329415])
    np.testing.assert_allclose(rgb[2], [0.993248, 0.906157, 0.143936])
    np.testing.assert_allclose(rgb[1], [0.128, 0.565, 0.551], atol=2e-3)
    lum = viridis(np.linspace(0, 1, 50)) @ np.array([0.2126, 0.7152, 0.0722])
    assert (np.diff(lum) > 0).all()                                    # lightness rises: perceptual order
    assert viridis_uint8(np.array([[np.nan, 2.0]])).shape == (1, 2, 3)  # NaN and out-of-range are clipped


def test_write_training_figures(tmp_path):
    metrics = {"val": {"confusion_matrix": [[18, 2], [3, 17]], "roc_auc": 0.9},
               "test1": {"confusion_matrix": [[20, 0], [1, 19]], "roc_auc": 0.95}}
    rows = _rows("val") + _rows("test1", seed=1)
    paths = F.write_training_figures(tmp_path, _history(8), metrics, rows)
    names = sorted(p.name for p in paths)
    assert names == ["confusion_test1.png", "confusion_val.png", "roc_test1.png", "roc_val.png",
                     "training_curves.png"]
    assert _open(tmp_path / "training_curves.png").size == (1000, 460)
    assert _open(tmp_path / "confusion_val.png").size[0] == 360
    assert _open(tmp_path / "roc_val.png").size == (420, 420)
    curves = np.asarray(_open(tmp_path / "training_curves.png").convert("RGB")).reshape(-1, 3)
    for colour in (F.TRAIN_COLOUR, F.VAL_COLOUR):                     # both lines were drawn
        assert (curves == colour).all(axis=1).sum() > 100


@pytest.mark.parametrize("history", [[], _history(1), _history(5, nan_val=True)])
def test_figures_handle_nan_and_short_histories(tmp_path, history):
    metrics = {"val": {"confusion_matrix": None, "roc_auc": float("nan")},
               "test": {"confusion_matrix": [[5, 0], [0, 0]], "roc_auc": float("nan"), "accuracy": float("nan")}}
    rows = [{"split": "test", "label": 0, "probability_covid": 0.2}] * 5          # one class only: no ROC
    rows += [{"split": "val", "label": 1, "probability_covid": float("nan")}]
    paths = F.write_training_figures(tmp_path, history, metrics, rows)
    assert len(paths) == 5
    for p in paths:
        _open(p)


def _count(img, colour) -> int:
    return int((np.asarray(img.convert("RGB")).reshape(-1, 3) == colour).all(axis=1).sum())


def test_curves_mark_the_selected_epoch_and_the_learning_rate_drops():
    plain = F.training_curves(_history(12))
    marked = F.training_curves(_history(12, drop_every=5), selected_epoch=7)
    assert _count(plain, F.SELECTED_COLOUR) == 0 and _count(plain, F.DROP_COLOUR) == 0
    assert _count(marked, F.SELECTED_COLOUR) > 2 * 300          # a line across both panels, and its legend
    assert _count(marked, F.DROP_COLOUR) > 100                   # two dotted lines per panel, and their labels
    assert F.lr_drops(_history(12, drop_every=5)) == [(6, pytest.approx(0.008)), (11, pytest.approx(0.0064))]
    assert F.lr_drops(_history(12)) == []


def _dark_rows(img, top, bottom) -> int:
    """How many pixel rows between top and bottom hold dark (text) pixels."""
    a = np.asarray(img.convert("L"))[top:bottom]
    return int((a < 100).any(axis=1).sum())


def test_grids_label_rows_columns_and_colours():
    rng = np.random.default_rng(0)
    grays = [rng.random((32, 32)) * 0.2 + 0.8 for _ in range(2)]       # light images: dark pixels are text
    maps = [np.ones((2, 32, 32))]
    bare = F.cam_grid(grays, maps, ["net"], cell=64)
    full = F.cam_grid(grays, maps, ["net"], cell=64, row_labels=["a.png", "b.png"], true_labels=["COVID"] * 2,
                      masks=[np.eye(32, dtype=bool), None], probabilities=[np.array([0.9, 0.1])])
    assert full.size[1] > bare.size[1]                                 # the labels and notes take room
    assert _dark_rows(full, 0, 40) > 10                                # title and column titles
    assert _count(full, F.MASK_COLOUR) > _count(bare, F.MASK_COLOUR) + 20   # outline and its legend swatch
    assert _count(bare, F.MASK_COLOUR) == 0
    grid = F.image_grid([[g, g] for g in grays], ["original", "copy\nsecond line"], ["row a", "row b"],
                        [["x", "y"], ["z", "w"]], "title", ["a note"], cell=64)
    assert grid.size[0] > 8 + 2 * (64 + 8) and _dark_rows(grid, 0, 60) > 20
    with pytest.raises(ValueError):
        F.image_grid([[grays[0]]], ["one", "two"])


def test_search_progress_marks_failed_trials_and_the_best_so_far():
    trials = [{"trial": 1, "status": "ok", "val_accuracy": 0.6}, {"trial": 2, "status": "failed"},
              {"trial": 3, "status": "ok", "val_accuracy": 0.8}, {"trial": 4, "status": "ok", "val_accuracy": 0.7}]
    img = F.search_progress(trials, "experiment 4", n_initial=2)
    assert _count(img, F.MASK_COLOUR) > 20 and _count(img, F.SELECTED_COLOUR) > 50
    assert _count(F.search_progress(trials[:1]), F.MASK_COLOUR) == 0
    F.search_progress([])                                              # no trial yet: an empty panel


def test_single_epoch_draws_a_marker():
    img = F.training_curves(_history(1))
    a = np.asarray(img).reshape(-1, 3)
    assert (a == F.TRAIN_COLOUR).all(axis=1).sum() > 10


def test_nice_ticks():
    t = F.nice_ticks(0.0, 1.0)
    assert t[0] <= 0 and t[-1] >= 1 and 4 <= len(t) <= 7
    t = F.nice_ticks(1, 8, n=6)
    assert t[0] <= 1 and t[-1] >= 8 and np.allclose(np.diff(t), np.diff(t)[0])
    assert len(F.nice_ticks(3.0, 3.0)) >= 2                             # degenerate range is widened
    assert list(F.nice_ticks(math.nan, 1.0)) == [0.0, 1.0]


def test_overlay_blends_gray_and_viridis():
    gray = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    cam = np.tile(np.linspace(0, 1, 32), (32, 1))
    only_gray = np.asarray(F.overlay(gray, cam, alpha=0.0))
    assert only_gray.shape == (32, 32, 3)
    np.testing.assert_allclose(only_gray[..., 0], np.rint(gray * 255), atol=1)
    only_map = np.asarray(F.overlay(gray, cam, alpha=1.0, size=64))
    assert only_map.shape == (64, 64, 3)
    np.testing.assert_allclose(only_map[0, 0], viridis_uint8(0.0), atol=2)
    np.testing.assert_allclose(only_map[0, -1], viridis_uint8(1.0), atol=2)


def test_cam_figure_and_grid_sizes(tmp_path):
    rng = np.random.default_rng(0)
    grays = [rng.random((40, 40)) for _ in range(3)]
    maps = [rng.random((3, 40, 40)), rng.random((3, 20, 20))]
    p = F.write_cam_image(tmp_path / "one.png", grays[0], maps[0][0], "slice.png\nmodel: map of COVID", size=128,
                          mask=np.eye(40, dtype=bool))
    one = _open(p)
    assert one.size[0] > 128 and one.size[1] > 128
    img = F.cam_grid(grays, maps, ["network 1", "a very long title that will not fit in a cell"],
                     tmp_path / "grid.png", row_labels=["a", "b", "c"], probabilities=[np.ones(3) * 0.5, None],
                     masks=[None, np.ones((40, 40), bool), None], cell=100)
    assert _open(tmp_path / "grid.png").size == img.size
    cols_w = 8 + 3 * (100 + 8)
    assert cols_w < img.size[0] < cols_w + 110 and img.size[1] > 3 * (100 + 17 + 8)
    with pytest.raises(ValueError):
        F.cam_grid([], [], [])


def test_confusion_colours_follow_row_share():
    img = F.confusion_image([[9, 1], [0, 10]], "val", subtitle="validation, used to choose the epoch")
    assert img.size[0] == 360
    for share in (0.9, 0.1, 1.0):                           # each cell filled with the colour of its row share
        assert _count(img, cmap_color(share)) > 5000, share
    assert _count(F.confusion_image([[9, 1], [0, 10]]), cmap_color(0.5)) == 0


def test_augmentation_grid_png(tmp_path):
    from squeezenp.data.augment import augmentation_examples
    from squeezenp.data.phantoms import make_phantom_dataset
    X = make_phantom_dataset(3, 40, seed=0)[0]
    cells, params = augmentation_examples(X, np.random.default_rng(0), n=2)
    path = F.save_png(F.augmentation_image(cells, params, cell=64), tmp_path / "sub" / "grid.png")
    labelled = F.save_png(F.augmentation_image(cells, params, ["a.png\nCOVID", "b.png\nNonCOVID"], cell=64),
                          tmp_path / "labelled.png")
    with Image.open(path) as im, Image.open(labelled) as lab:
        assert im.mode == "RGB" and im.size[0] > 4 * 64 and im.size[1] > 2 * 64   # title, column titles, notes
        assert lab.size[0] >= im.size[0] and lab.size[1] == im.size[1]
        band = (slice(60, 60 + 2 * 64), slice(8, 40))          # the left edge beside the two rows
        text = np.asarray(lab.convert("L"))[band]
        assert (text < 100).sum() > 20 and (text > 250).mean() > 0.7   # dark letters on white: the row labels
        assert (np.asarray(im.convert("L"))[band] > 250).mean() < 0.5  # without labels: the pictures start there
