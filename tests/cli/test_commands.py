"""The command line end to end on tiny phantom data: exit statuses, one-line errors, written files."""
import csv
import json
import subprocess
import sys

import pytest

from squeezenp.app.cli import main

TINY = ["--phantoms", "12", "--phantom-size", "40", "--input-size", "40", "--epochs", "1", "--batch-size", "8",
        "--lr", "0.01", "--momentum", "0.9"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--recipe", "paper", "--model", "proposed", "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_the_report_folder(trained):
    for name in ("model.npz", "checkpoints/checkpoint.npz", "history.csv", "history.json", "metrics.json",
                 "predictions.csv", "report.html", "training_curves.png", "confusion_val.png", "roc_test1.png"):
        assert (trained / name).is_file(), name
    assert not (trained / "checkpoint.npz").exists()            # the checkpoint is kept out of the report's way
    m = json.loads((trained / "metrics.json").read_text())
    assert set(m["metrics"]) == {"val", "test1"}
    assert m["counts"]["train"]["total"] == 4 * m["counts"]["train_distinct"]["total"]   # x4 augmentation
    rows = list(csv.DictReader(open(trained / "predictions.csv")))
    assert len(rows) == m["metrics"]["val"]["n"] + m["metrics"]["test1"]["n"]


def test_resume_of_a_finished_run_trains_nothing_more(trained, capsys):
    assert main(["train", "--recipe", "paper", "--model", "proposed", "--out", str(trained), "--resume",
                 *TINY]) == 0
    assert "resuming from" in capsys.readouterr().out


def test_evaluate_and_predict(trained, tmp_path, capsys):
    phantoms = trained / "phantoms"
    assert main(["evaluate", str(trained / "model.npz"), "--data", str(phantoms), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Sensitivity" in out and "test1: held out" in out                 # the model's own data: roles known
    for name in ("report.html", "metrics.json", "confusion_val.png", "roc_test1.png"):
        assert (tmp_path / name).is_file(), name
    out_csv = tmp_path / "p.csv"
    assert main(["predict", str(trained / "model.npz"), str(phantoms / "val"), "--out", str(out_csv)]) == 0
    rows = list(csv.DictReader(open(out_csv)))
    assert len(rows) > 0 and all(0.0 <= float(r["probability_covid"]) <= 1.0 for r in rows)


def test_predict_reports_a_bad_image_with_its_path(trained, tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["predict", str(trained / "model.npz"), str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.png" in err[0]
    assert main(["predict", str(trained / "model.npz"), str(bad), "--skip-bad"]) == 1   # nothing left to predict


def test_summary_prints_totals(capsys):
    assert main(["summary", "proposed"]) == 0
    out = capsys.readouterr().out
    assert "1,272,450" in out or "1272450" in out
    assert out.endswith("\n") and not out.endswith("\n\n")


def test_augment_preview_leaves_no_phantom_folder_behind(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["augment-preview", "--out", "aug.png", "-n", "2", "--phantoms", "4", "--phantom-size", "32",
                 "--input-size", "32"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aug.png"]
    assert "written aug.png" in capsys.readouterr().out


def test_missing_data_folder_is_one_clear_line(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]


def test_divergence_has_its_own_exit_status(tmp_path):
    args = ["train", "--recipe", "paper", "--out", str(tmp_path / "o"), *TINY[:-4], "--lr", "1e12",
            "--momentum", "0.0"]
    assert main(args) == 3


def test_usage_errors_exit_2_and_help_works():
    with pytest.raises(SystemExit) as e:
        main(["train", "--epochs", "zero"])
    assert e.value.code == 2
    for cmd in ("demo", "train", "cv", "evaluate", "predict", "summary", "augment-preview"):
        r = subprocess.run([sys.executable, "-m", "squeezenp", cmd, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "usage" in r.stdout, cmd


def _options():
    """(command, action) for every shown option of every subcommand (not the hidden ones, e.g. ``--debug``
    after the command name, which the top-level help documents)."""
    import argparse

    from squeezenp.app.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for action in p._actions:
            if not isinstance(action, argparse._HelpAction) and action.help != argparse.SUPPRESS:
                yield name, p, action


def test_every_option_has_help_that_shows_its_default():
    from squeezenp.app.cli import HelpFormatter
    missing, no_default = [], []
    for name, p, action in _options():
        if not action.help:
            missing.append(f"{name} {action.option_strings or action.dest}")
            continue
        if not action.option_strings or action.required:
            continue                                        # positional or required: no default to show
        shown = HelpFormatter(name)._get_help_string(action) % {"default": action.default}
        if "default" not in shown.lower():
            no_default.append(f"{name} {action.option_strings}")
        elif action.default not in (None, [], False) and "default" not in action.help.lower():
            assert f"(default: {action.default})" in shown, (name, action.option_strings, shown)
    assert not missing, f"options without help: {missing}"
    assert not no_default, f"options whose help shows no default: {no_default}"
    for name, p, _ in _options():                           # and the help of every command renders
        assert p.format_help().startswith("usage:"), name
        assert p.description, f"{name} has no description"


def test_cam_usage_says_models_then_images():
    from squeezenp.app.cli import build_parser
    import argparse
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    usage = sub.choices["cam"].format_usage()
    assert "MODEL.npz [MODEL.npz ...] IMAGE_OR_FOLDER" in usage and "MODEL.npz IMAGE [MODEL.npz IMAGE" not in usage
