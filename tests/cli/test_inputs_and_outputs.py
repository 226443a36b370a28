"""predict, evaluate and cam against hostile inputs and outputs: every case is made inside the test.

Each test names the finding it guards: a training run's files overwritten by evaluate, an input overwritten by
predict, a bad --batch-size, a 3-class or diverged model scored as P(COVID), invalid JSON, inputs the model
cannot judge scored silently, skipped files on stdout, and data layouts that train and evaluate misread."""
import csv
import io
import json

import numpy as np
import pytest
from cli_testutils import snapshot, write_png

from squeezenp.app.cli import main
from squeezenp.data import write_phantom_folder
from squeezenp.models import create, save_model


def run(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as e:            # argparse: bad usage
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Two phantom slices plus a 1x1, a blank and a fully transparent image."""
    d = tmp_path_factory.mktemp("images")
    write_phantom_folder(d / "ph", 4, 48, seed=3)
    imgs = {"slice": d / "ph" / "val" / "COVID" / "COVID_00002.png",
            "tiny": write_png(d / "one_pixel.png", np.array([[200]], np.uint8)),
            "blank": write_png(d / "blank.png", np.full((64, 64), 90, np.uint8)),
            "transparent": write_png(d / "transparent.png", np.dstack([np.random.default_rng(0).integers(
                0, 255, (64, 64, 3), dtype=np.uint8), np.zeros((64, 64), np.uint8)]), "RGBA")}
    return imgs


def test_evaluate_without_out_leaves_the_training_run_untouched(tiny_run, capsys):
    before = snapshot(tiny_run)
    before = {k: v for k, v in before.items() if not k.startswith("evaluation/")}
    code, out, err = run(capsys, ["evaluate", str(tiny_run / "model.npz"), "--data", str(tiny_run / "phantoms")])
    assert code == 0, err
    after = snapshot(tiny_run)
    assert {k: v for k, v in after.items() if k in before} == before        # config, history, counts kept
    m = json.loads((tiny_run / "evaluation" / "metrics.json").read_text())
    assert set(m["metrics"]) == {"val", "test1"} and "history" in json.loads((tiny_run / "metrics.json").read_text())


def test_evaluate_refuses_to_write_over_a_training_runs_files(tiny_run, capsys):
    before = snapshot(tiny_run)
    code, out, err = run(capsys, ["evaluate", str(tiny_run / "model.npz"), "--data", str(tiny_run / "phantoms"),
                                  "--out", str(tiny_run)])
    assert code == 1 and len(err.strip().splitlines()) == 1 and "training run" in err
    assert snapshot(tiny_run) == before


def test_predict_refuses_to_overwrite_the_model_or_an_input_image(tiny_run, tmp_path, capsys):
    model = tmp_path / "m.npz"
    model.write_bytes((tiny_run / "model.npz").read_bytes())
    image = tmp_path / "a.png"
    image.write_bytes((tiny_run / "phantoms" / "val" / "COVID" / "COVID_00009.png").read_bytes())
    before = snapshot(tmp_path)
    for target in (model, image, tmp_path / "." / "a.png"):
        code, out, err = run(capsys, ["predict", str(model), str(image), "--out", str(target)])
        assert code == 1 and "would overwrite the input" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, ["predict", str(model), str(tmp_path), "--out", str(image)])   # via a folder
    assert code == 1 and "would overwrite the input" in err
    code, out, err = run(capsys, ["cam", str(model), str(image), "--out", str(tmp_path)])  # a_cam.png is new: ok
    assert code == 0, err
    before = snapshot(tmp_path)
    for inputs in ([image, tmp_path / "a_cam.png"], [tmp_path / "cam_grid.png"]):   # a.png -> a_cam.png: an input
        code, out, err = run(capsys, ["cam", str(model), *map(str, inputs), "--out", str(tmp_path)])
        assert code == 1 and "would overwrite the input" in err
    assert {k: v for k, v in snapshot(tmp_path).items() if k in before} == before


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_predict_batch_size_must_be_a_positive_integer(tiny_run, images, capsys, value):
    code, out, err = run(capsys, ["predict", str(tiny_run / "model.npz"), str(images["slice"]),
                                  "--batch-size", value])
    assert code == 2 and "--batch-size" in err and out == ""


def test_a_model_with_three_classes_is_refused(tmp_path, images, capsys):
    save_model(create("proposed", num_classes=3, input_size=40), tmp_path / "three.npz")
    for cmd in (["predict"], ["cam", "--out", str(tmp_path / "c")]):
        code, out, err = run(capsys, [*cmd, str(tmp_path / "three.npz"), str(images["slice"])])
        assert code == 1 and "3 classes" in err and out == ""


@pytest.fixture(scope="module")
def overflowing_model(tmp_path_factory):
    """Finite weights whose output overflows: every probability is NaN."""
    m = create("proposed", input_size=40)
    m.state_dict()["conv10.weight"][...] = 3e38
    return save_model(m, tmp_path_factory.mktemp("overflow") / "overflow.npz")


def test_non_finite_outputs_get_no_prediction_and_json_stays_valid(overflowing_model, images, tmp_path, capsys):
    code, out, err = run(capsys, ["predict", str(overflowing_model), str(images["slice"])])
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["probability_covid"] == "" and row["prediction"] == "" and "non-finite" in row["warning"]
    assert "cannot be judged" in err
    code, out, err = run(capsys, ["cam", str(overflowing_model), str(images["slice"]), "--out", str(tmp_path)])
    assert code == 0, err

    def refuse(name):
        raise AssertionError(f"bare {name} in JSON")
    summary = json.loads((tmp_path / "cam_summary.json").read_text(), parse_constant=refuse)
    assert summary["maps"][0]["probability_covid"] is None and "non-finite" in summary["maps"][0]["warning"]


def test_inputs_the_model_cannot_judge_are_flagged(tiny_run, images, tmp_path, capsys):
    paths = [str(images[k]) for k in ("slice", "tiny", "blank", "transparent")]
    code, out, err = run(capsys, ["predict", str(tiny_run / "model.npz"), *paths])
    assert code == 0
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows[paths[0]]["warning"] == ""
    assert "tiny" in rows[paths[1]]["warning"] and "blank" in rows[paths[1]]["warning"]   # 1 pixel: both
    assert "blank" in rows[paths[2]]["warning"]
    assert "fully transparent" in rows[paths[3]]["warning"]
    assert all(rows[p]["probability_covid"] != "" for p in paths)                 # still scored, but flagged
    warned = [ln for ln in err.splitlines() if "warning:" in ln]
    assert len(warned) == 1 and "3 of 4 image(s) cannot be judged" in warned[0]
    code, out, err = run(capsys, ["cam", str(tiny_run / "model.npz"), *paths, "--out", str(tmp_path)])
    warnings = [m["warning"] for m in json.loads((tmp_path / "cam_summary.json").read_text())["maps"]]
    assert warnings[0] == "" and all(warnings[1:])


def test_evaluate_flags_and_lists_skipped_files_on_stderr(tiny_run, tmp_path, capsys):
    data = tmp_path / "data"
    write_phantom_folder(data, 4, 40, seed=1)
    (data / "val" / "COVID" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    write_png(data / "val" / "NonCOVID" / "dot.png", np.array([[7]], np.uint8))
    code, out, err = run(capsys, ["evaluate", str(tiny_run / "model.npz"), "--data", str(data), "--skip-bad",
                                  "--out", str(tmp_path / "ev")])
    assert code == 0, err
    assert "broken.png" in err and "broken.png" not in out
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert [s["path"] for s in m["skipped_files"]] == [str(data / "val" / "COVID" / "broken.png")]
    rows = list(csv.DictReader(open(tmp_path / "ev" / "predictions.csv")))
    assert [r["path"].endswith("dot.png") for r in rows if r["warning"]] == [True]


def test_evaluate_needs_no_train_folder_and_takes_a_bare_class_folder(tiny_run, tmp_path, capsys):
    data = tmp_path / "data"
    write_phantom_folder(data, 6, 40, seed=2, splits={"val": 0.5, "test": 0.5})
    assert not (data / "train").exists()
    code, out, err = run(capsys, ["evaluate", str(tiny_run / "model.npz"), "--data", str(data), "--out",
                                  str(tmp_path / "a")])
    assert code == 0, err
    assert set(json.loads((tmp_path / "a" / "metrics.json").read_text())["metrics"]) == {"val", "test1"}
    code, out, err = run(capsys, ["evaluate", str(tiny_run / "model.npz"), "--data", str(data / "val"), "--out",
                                  str(tmp_path / "b")])
    assert code == 0, err
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["metrics"]["all"]["n"] == 6


def test_layout_problems_are_one_clear_line(tiny_run, tmp_path, capsys):
    data = tmp_path / "data"
    write_phantom_folder(data, 8, 40)
    nested = data / "train" / "COVID" / "patient1"
    nested.mkdir()
    for p in list((data / "train" / "COVID").glob("*.png")):
        p.rename(nested / p.name)                                # train/COVID/patient1/*.png: still found
    code, out, err = run(capsys, ["train", "--recipe", "paper", "--data", str(data), "--out", str(tmp_path / "r"),
                                  "--input-size", "40",
                                  "--epochs", "1", "--batch-size", "8", "--no-augment"])
    assert code == 0, err
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["counts"]["train"]["COVID"] == 5

    (data / "val" / "COVID").rename(data / "val" / "covid")
    code, out, err = run(capsys, ["evaluate", str(tiny_run / "model.npz"), "--data", str(data),
                                  "--out", str(tmp_path / "e")])
    assert code == 1 and "found 'covid'" in err and len(err.strip().splitlines()) == 1
    (data / "val" / "covid").rename(data / "val" / "COVID")
    for p in (data / "test" / "NonCOVID").iterdir():
        p.unlink()
    code, out, err = run(capsys, ["evaluate", str(tiny_run / "model.npz"), "--data", str(data),
                                  "--out", str(tmp_path / "e")])
    assert code == 1 and "holds no image file" in err and "NonCOVID" in err
