"""``squeezenp cv`` end to end on tiny phantoms: the files it writes, the printed table, resuming, refusals."""
import json

import numpy as np
import pytest
from PIL import Image

from squeezenp.app.cli import main
from squeezenp.evaluation.plots import AFTER, BEFORE, SEED_COLOURS
from squeezenp.evaluation.report import HEADLINE

QUICK = ["--phantoms", "10", "--phantom-size", "40", "--input-size", "32", "--epochs", "1", "--folds", "2",
         "--recipe", "paper"]


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cvcmd") / "cv"
    assert main(["cv", "--out", str(out), *QUICK, "--seeds", "0", "1"]) == 0
    return out


def _has_colour(path, colour):
    a = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    return bool((np.abs(a.astype(int) - colour).sum(axis=1) == 0).any())


def test_cv_writes_every_output_and_prints_the_held_out_table(cv_run, capsys):
    for name in ("folds.json", "recipe.json", "summary.json", "summary.md", "roc.png", "reliability.png",
                 "runs/seed0_fold0.json", "runs/seed1_fold1.json"):
        assert (cv_run / name).is_file(), name
    s = json.loads((cv_run / "summary.json").read_text())
    assert s["runs"] == 4 and s["k"] == 2 and s["seeds"] == [0, 1]
    assert set(s["mean_sd"]) == {"0.5", "selected_threshold", "calibrated", "plain"}
    assert not s["test_time_augmentation"]                                       # paper: no mirror averaging
    assert json.loads((cv_run / "recipe.json").read_text())["recipe"]["train"]["epochs"] == 1
    md = (cv_run / "summary.md").read_text()
    assert HEADLINE in md and "| cut-off 0.5 |" in md and "squeezenp cv --phantoms 10" in md
    assert "no test-time augmentation" not in md                                 # it would repeat the 0.5 row
    assert "![Out-of-fold ROC curve per seed](roc.png)" in md
    assert _has_colour(cv_run / "roc.png", SEED_COLOURS[0]) and _has_colour(cv_run / "roc.png", SEED_COLOURS[1])
    assert _has_colour(cv_run / "reliability.png", BEFORE) and _has_colour(cv_run / "reliability.png", AFTER)


def test_rerunning_resumes_and_a_changed_recipe_is_one_clear_line(cv_run, capsys):
    capsys.readouterr()
    assert main(["cv", "--out", str(cv_run), *QUICK, "--seeds", "0", "1"]) == 0
    out = capsys.readouterr().out
    assert "fold 1/2" not in out and out.count(HEADLINE) == 1                # nothing trained again
    assert main(["cv", "--out", str(cv_run), *QUICK[:-4], "--epochs", "2", "--folds", "2", "--recipe", "paper",
                 "--seeds", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.epochs: 1 -> 2" in err[0]


def test_report_page_is_written_when_the_page_writer_exists(cv_run):
    pytest.importorskip("squeezenp.reports.html")
    page = (cv_run / "report.html").read_text()
    assert HEADLINE in page and "data:image/png;base64" in page


def test_cv_options_are_checked(tmp_path):
    for bad in (["--inner-fraction", "1.5"], ["--sensitivity-target", "0"], ["--folds", "0"]):
        with pytest.raises(SystemExit) as e:
            main(["cv", "--out", str(tmp_path), *bad])
        assert e.value.code == 2


def test_plan_only_writes_the_folds_and_describes_them_without_training(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["cv", "--out", str(out), "--phantoms", "10", "--phantom-size", "40", "--plan-only"]) == 0
    printed = capsys.readouterr().out
    plan = json.loads((out / "folds.json").read_text())
    assert f"{len(plan['labels'])} images" in printed and "near-duplicate pairs" in printed
    assert printed.count("\nfold ") == 5 and not (out / "runs").exists() and not (out / "recipe.json").exists()
