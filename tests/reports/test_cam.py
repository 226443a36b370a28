"""Class activation maps: the GAP identity for all four networks, normalisation, localisation, the cam command."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from squeezenp.reports import cam
from squeezenp.app.cli import main
from squeezenp.data import write_phantom_folder
from squeezenp.models import available, build, create, save_model

SIZE = 64


def _network(name, x=None, seed=0):
    """Random weights at 64x64 (network 3 without its ImageNet file: the architecture is network 2's).

    With a batch ``x``, the classifier bias is set to minus the median of each class's pre-activation map, so
    SqueezeNet's ReLU'd map is about half zero and half positive (a test on an all-zero map would be vacuous).
    """
    model = build(name, num_classes=2, input_size=SIZE, seed=seed)
    W = model.conv10.params["weight"]
    if not W.any():   # networks 1-3 start with a zero classifier, whose maps are constant: draw one
        W[...] = np.random.default_rng(seed).normal(0.0, 0.01, W.shape)
    if x is not None:
        model.forward(x, training=False)
        pre = np.einsum("ck,nkhw->nchw", model.cam_weights().astype(np.float64), model.cam_features)
        b = model.conv10.params["bias"]
        b[...] = -np.median(pre.transpose(1, 0, 2, 3).reshape(2, -1), axis=1).astype(b.dtype)
    return model


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(1).standard_normal((2, 3, SIZE, SIZE)).astype(np.float32)


@pytest.mark.parametrize("name", available())
def test_raw_map_mean_is_the_logit(name, batch):
    model = _network(name, batch)
    for target in (0, 1):
        raw, classes, logits = cam.raw_class_maps(model, batch, target)
        assert raw.ndim == 3 and raw.shape[0] == 2 and (classes == target).all()
        expected = logits[:, target] - (model.cam_bias()[target] if model.cam_is_linear else 0.0)
        np.testing.assert_allclose(raw.mean(axis=(1, 2)), expected, rtol=1e-5, atol=1e-6)
        assert np.ptp(raw) > 0, "vacuous: the map is constant"
        if not model.cam_is_linear:   # SqueezeNet: the map is the ReLU'd conv10 output the model kept
            np.testing.assert_allclose(raw, model.class_maps[:, target], rtol=1e-5, atol=1e-5 * np.abs(raw).max())


@pytest.mark.parametrize("name", ["squeezenet", "proposed"])
def test_maps_are_normalised_and_of_the_input_size(name, batch):
    model = _network(name, batch)
    res = cam.class_activation_maps(model, batch, "predicted")
    assert res.maps.shape == (2, SIZE, SIZE)
    assert res.maps.min() >= 0 and res.maps.max() <= 1
    np.testing.assert_allclose(res.maps.max(axis=(1, 2)), 1.0)
    np.testing.assert_array_equal(res.classes, res.logits.argmax(axis=1))
    np.testing.assert_allclose(res.probabilities.sum(axis=1), 1.0)
    assert cam.class_activation_maps(model, batch, "covid", size=(40, 50)).maps.shape == (2, 40, 50)


def test_batches_do_not_change_the_maps(batch):
    model = _network("proposed")
    a = cam.raw_class_maps(model, batch, "covid", batch_size=1)[0]
    b = cam.raw_class_maps(model, batch, "covid", batch_size=32)[0]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_resolve_classes():
    logits = np.array([[1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(cam.resolve_classes("predicted", logits), [0, 1])
    np.testing.assert_array_equal(cam.resolve_classes("COVID", logits), [1, 1])
    np.testing.assert_array_equal(cam.resolve_classes(0, logits), [0, 0])
    for bad in ("lungs", 2, -1, True, 0.5):
        with pytest.raises(ValueError):
            cam.resolve_classes(bad, logits)


def test_normalise_and_upsample():
    maps = np.stack([np.full((3, 3), 2.0), np.arange(9.0).reshape(3, 3)])
    n = cam.normalise(maps)
    np.testing.assert_array_equal(n[0], 0.0)                  # constant: no evidence anywhere
    assert n[1].min() == 0 and n[1].max() == 1
    up = cam.upsample(maps, 12)
    assert up.shape == (2, 12, 12)
    np.testing.assert_allclose(up[0], 2.0, rtol=1e-6)


# --- localisation ----------------------------------------------------------------------------------------------
def _masks():
    masks = np.zeros((3, 20, 20), dtype=bool)
    masks[0, 2:6, 3:9] = True
    masks[1, 10:18, 10:14] = True                             # masks[2] empty: a NonCOVID image, left out
    return masks


def test_localisation_of_a_map_equal_to_the_mask():
    masks = _masks()
    loc = cam.localisation_scores(masks.astype(float), masks)
    assert loc["n"] == 2
    assert loc["cam_mass_in_mask"] == pytest.approx(1.0)
    assert loc["peak_in_mask"] == pytest.approx(1.0)
    area = np.mean([24 / 400, 32 / 400])
    assert loc["mask_area"] == pytest.approx(area)
    assert loc["ratio"] == pytest.approx(1.0 / area)


def test_localisation_of_a_uniform_map_is_chance():
    masks = _masks()
    loc = cam.localisation_scores(np.ones(masks.shape), masks)
    assert loc["cam_mass_in_mask"] == pytest.approx(loc["mask_area"])
    assert loc["ratio"] == pytest.approx(1.0)


def test_localisation_edge_cases():
    empty = np.zeros((2, 5, 5), dtype=bool)
    loc = cam.localisation_scores(np.ones((2, 5, 5)), empty)
    assert loc["n"] == 0 and np.isnan(loc["ratio"])
    masks = _masks()
    loc = cam.localisation_scores(np.zeros(masks.shape), masks)       # all-zero maps: no mass anywhere
    assert loc["cam_mass_in_mask"] == 0.0
    with pytest.raises(ValueError):
        cam.localisation_scores(np.zeros((2, 5, 5)), np.zeros((2, 5, 4), dtype=bool))


class _MaskModel:
    """A fake network-4-like model whose COVID map is channel 0 of its input (and NonCOVID's its negative)."""
    cam_is_linear = True
    name = "fake"
    config = {"in_channels": 1, "name": "fake"}

    def forward(self, x, training=None):
        self.cam_features = x[:, :1].astype(np.float64)
        return np.stack([-self.cam_features.mean(axis=(1, 2, 3)), self.cam_features.mean(axis=(1, 2, 3))], 1)

    def cam_weights(self):
        return np.array([[-1.0], [1.0]])

    def cam_bias(self):
        return np.zeros(2)


def test_cam_localisation_with_a_model_whose_map_is_the_mask():
    masks = _masks()
    x = masks[:, None].astype(np.float32)
    loc = cam.cam_localisation(_MaskModel(), x, masks)
    assert loc["cam_mass_in_mask"] == pytest.approx(1.0) and loc["peak_in_mask"] == 1.0
    loc = cam.cam_localisation(_MaskModel(), x, masks, target="noncovid")   # map = 1 - mask after min-max
    assert loc["cam_mass_in_mask"] == pytest.approx(0.0)


# --- files and the command line ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantoms")
    write_phantom_folder(root, 5, 48, seed=3)
    return root


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    save_model(create("proposed", input_size=48, seed=2), path)
    return path


def test_demo_cam_report(phantoms, tmp_path):
    model = create("proposed", input_size=48, seed=2)
    lines = []
    loc = cam.write_demo_cam_report(model, tmp_path, phantoms, 48, n_grid=2, log=lines.append)
    assert loc["n"] == len(cam.phantom_covid_files(phantoms)) > 0
    assert 0 <= loc["cam_mass_in_mask"] <= 1 and 0 < loc["mask_area"] < 1
    assert json.loads((tmp_path / "cam_localisation.json").read_text())["n"] == loc["n"]
    with Image.open(tmp_path / "cam_grid.png") as im:
        assert im.format == "PNG" and im.mode == "RGB"
    assert len(lines) == 1 and "CAM localisation" in lines[0]


def test_cam_command_writes_overlays_and_grid(phantoms, tiny_model, tmp_path, capsys):
    imgs = [str(phantoms / "val" / "COVID" / "COVID_00003.png"),
            str(phantoms / "val" / "NonCOVID" / "NonCOVID_00003.png")]
    out = tmp_path / "cams"
    assert main(["cam", str(tiny_model), *imgs, "--out", str(out), "--class", "covid", "--size", "96"]) == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["COVID_00003_cam.png", "NonCOVID_00003_cam.png", "cam_grid.png"]
    for p in out.glob("*.png"):
        with Image.open(p) as im:
            im.verify()
    summary = json.loads((out / "cam_summary.json").read_text())
    assert [m["class"] for m in summary["maps"]] == ["COVID", "COVID"]
    # two models (a comma list and --model): one column each in the grid
    out2 = tmp_path / "cams2"
    assert main(["cam", f"{tiny_model},{tiny_model}", imgs[0], "--model", str(tiny_model), "--out", str(out2),
                 "--masks", str(phantoms), "--grid-cell", "64"]) == 0
    assert len(list(out2.glob("*_cam.png"))) == 3
    with Image.open(out2 / "cam_grid.png") as g2, Image.open(out / "cam_grid.png") as g1:
        assert g1.size[0] - 2 * (160 + 8) == g2.size[0] - 4 * (64 + 8)      # 2 columns of 160 px, 4 of 64 px
        red = (np.asarray(g2.convert("RGB")) == (255, 60, 60)).all(axis=2)
        assert red.sum() > 5                                               # the lesion outline (--masks)


def test_cam_command_missing_image_is_a_one_line_error(tiny_model, phantoms, tmp_path, capsys):
    good = str(phantoms / "val" / "COVID" / "COVID_00003.png")
    missing = str(tmp_path / "no_such_slice.png")
    assert main(["cam", str(tiny_model), good, missing, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no_such_slice.png" in err
    assert main(["cam", str(tmp_path / "nomodel.npz"), good, "--out", str(tmp_path / "o")]) == 1
    assert "nomodel.npz" in capsys.readouterr().err
