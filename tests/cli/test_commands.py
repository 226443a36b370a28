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
    for name in ("model.npz", "checkpoint.npz", "history.csv", "history.json", "metrics.json", "predictions.csv"):
        assert (trained / name).is_file(), name
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
    assert "Sensitivity" in capsys.readouterr().out
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
