"""A saved model's decision: preprocessing and TTA from its config, calibrated probability, stored threshold;
model files without these keys decide as before (raw P(COVID) >= 0.5)."""
import csv

import numpy as np
import pytest

from squeezenp import models
from squeezenp.app.cli import main
from squeezenp.data import load_grayscale, to_network_input, write_phantom_folder
from squeezenp.data.preprocess import preprocess
from squeezenp.evaluation.calibration import apply_platt, sigmoid
from squeezenp.evaluation.decision import (decide, load_inputs, model_inputs, operating_point, raw_probability,
                                           set_operating_point)
from squeezenp.models import predict_proba


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("dec") / "phantoms"
    write_phantom_folder(root, 6, 40, seed=1)
    return root


def _model(**config):
    m = models.create("proposed", input_size=32, seed=0)
    m.config.update(config)
    return m


def test_a_model_without_decision_keys_decides_raw_at_one_half():
    m = _model()
    raw = np.array([0.1, 0.5, 0.7])
    prob, pred = decide(m, raw)
    assert operating_point(m) == (None, 0.5)
    assert np.array_equal(prob, raw) and pred.tolist() == [False, True, True]


def test_default_operating_point_calibrates_without_changing_any_decision():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    raw = np.clip(0.5 + 0.35 * (2 * labels - 1) + 0.3 * rng.standard_normal(200), 0.001, 0.999)
    m = _model()
    point = set_operating_point(m, labels, raw)
    assert m.config["calibration"] == point["calibration"]
    assert point["threshold"] == pytest.approx(sigmoid(point["calibration"]["b"]))
    new = rng.random(1000)
    prob, pred = decide(m, new)
    assert np.array_equal(pred, new >= 0.5)
    np.testing.assert_allclose(prob, apply_platt(new, point["calibration"]))


def test_sensitivity_target_sets_a_threshold_reaching_it_on_the_fitted_split():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    raw = np.clip(0.5 + 0.2 * (2 * labels - 1) + 0.3 * rng.standard_normal(300), 0.001, 0.999)
    m = _model()
    set_operating_point(m, labels, raw, sensitivity_target=0.95)
    _, pred = decide(m, raw)
    assert pred[labels == 1].mean() >= 0.95 and pred.mean() > (raw >= 0.5).mean()
    assert "sensitivity-first" in m.config["operating_point"]


@pytest.mark.parametrize("config, match", [({"threshold": 1.5}, "threshold"), ({"threshold": True}, "threshold"),
                                           ({"calibration": {"a": 0}}, "calibration"),
                                           ({"ct_preprocessing": "blur"}, "ct_preprocessing")])
def test_a_bad_decision_config_is_named(config, match):
    m = _model(**config)
    with pytest.raises(ValueError, match=match):
        decide(m, np.array([0.5])) if match != "ct_preprocessing" else model_inputs(m, [])


def test_inputs_are_preprocessed_as_the_model_says_and_bad_files_skipped(folder, tmp_path):
    paths = sorted((folder / "train" / "COVID").glob("*.png"))[:2]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    x, kept, errors = load_inputs([paths[0], bad, paths[1]], 32, 3, "crop+standardise", on_error="skip")
    assert kept == paths and len(errors) == 1 and errors[0][0] == bad and x.shape == (2, 3, 32, 32)
    want = to_network_input(preprocess(load_grayscale(paths[1]), "crop+standardise"), (32, 32), 3)
    np.testing.assert_array_equal(x[1], want)
    x_plain, _, _ = model_inputs(_model(), paths)
    assert not np.allclose(x_plain[1], want)


def test_tta_averages_the_image_and_its_mirror():
    x = np.random.default_rng(2).standard_normal((3, 3, 32, 32)).astype(np.float32)
    plain, tta = _model(), _model(tta=True)
    p0, p1 = predict_proba(plain, x)[:, 1], predict_proba(plain, np.ascontiguousarray(x[..., ::-1]))[:, 1]
    np.testing.assert_allclose(raw_probability(tta, x), 0.5 * (p0 + p1), rtol=1e-6)
    np.testing.assert_allclose(raw_probability(plain, x), p0, rtol=1e-6)


def test_predict_of_an_old_model_file_and_of_a_calibrated_one(folder, tmp_path):
    old = tmp_path / "old.npz"
    models.save_model(_model(), old)                       # no recipe, calibration or threshold keys
    calibrated = tmp_path / "cal.npz"
    models.save_model(_model(calibration={"a": 0.5, "b": -1.0}, threshold=0.3, tta=True,
                             ct_preprocessing="crop+standardise"), calibrated)
    rows = {}
    for name, path in (("old", old), ("cal", calibrated)):
        out = tmp_path / f"{name}.csv"
        assert main(["predict", str(path), str(folder / "val"), "--out", str(out)]) == 0
        rows[name] = list(csv.DictReader(open(out)))
    for r in rows["old"]:
        assert r["probability_covid"] == r["probability_covid_raw"]
        assert r["prediction"] == ("COVID" if float(r["probability_covid"]) >= 0.5 else "NonCOVID")
    for r in rows["cal"]:
        raw, p = float(r["probability_covid_raw"]), float(r["probability_covid"])
        assert p == pytest.approx(float(apply_platt(raw, {"a": 0.5, "b": -1.0})), abs=2e-6)
        assert r["prediction"] == ("COVID" if p >= 0.3 else "NonCOVID")
