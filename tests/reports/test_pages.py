"""The report page of a real (tiny) training run and of an evaluation: every section a person needs."""
from __future__ import annotations

import pytest

from page_check import check_page, chromium, screenshot
from squeezenp.app.cli import main

TINY = ["--recipe", "paper", "--phantoms", "12", "--phantom-size", "40", "--input-size", "40", "--epochs", "2",
        "--batch-size", "8", "--lr", "0.01", "--momentum", "0.9", "--lr-drop-period", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--out", str(out), *TINY]) == 0
    return out


def test_training_page_has_every_section(run, capsys):
    page = check_page(run / "report.html")
    pictures = {f for f, _ in page["images"]}
    assert pictures == {"training_curves.png", "confusion_val.png", "roc_val.png", "confusion_test1.png",
                        "roc_test1.png"} == {p.name for p in run.glob("*.png")}
    text = page["text"]
    for words in ("Configuration", "sgdm: learning rate 0.01, momentum 0.9",
                  "synthetic CT phantoms, 12 per class at 40 px",
                  "validation, used to choose the epoch",                              # the split's role, plainly
                  "held out: never used for training or for choosing the epoch",
                  "train, distinct images", "ROC AUC", "Training, epoch by epoch", "Files written",
                  "model.npz", "checkpoints/", "report.html", f"squeezenp predict {run / 'model.npz'}"):
        assert words in text, words


def test_evaluation_page(run, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["evaluate", str(run / "model.npz"), "--data", str(run / "phantoms"), "--out", str(out)]) == 0
    page = check_page(out / "report.html")
    assert {f for f, _ in page["images"]} == {"confusion_val.png", "roc_val.png", "confusion_test1.png",
                                              "roc_test1.png"}
    assert "Evaluation of model.npz" in page["text"] and "validation, used to choose the epoch" in page["text"]
    import shutil
    other = shutil.copytree(run / "phantoms", tmp_path / "other")  # data the model was not trained on: roles unknown
    assert main(["evaluate", str(run / "model.npz"), "--data", str(other), "--out", str(tmp_path / "ev2")]) == 0
    assert "if the model was trained on this data" in check_page(tmp_path / "ev2" / "report.html")["text"]
    default = run / "evaluation"                    # by default beside the model, not over its training report
    assert main(["evaluate", str(run / "model.npz"), "--data", str(run / "phantoms")]) == 0
    assert (default / "report.html").is_file() and "Training report" in (run / "report.html").read_text()


def test_screenshot_of_the_training_page_is_not_blank(run, tmp_path):
    if chromium() is None:
        pytest.skip("no headless Chromium installed (chromium, chromium-browser or google-chrome)")
    shot = screenshot(run / "report.html", tmp_path / "page.png")
    dark = (shot < 100).any(axis=2)
    assert dark.mean() > 0.002                                     # text on the page
    assert (shot.std(axis=(0, 1)) > 5).all()                       # not one flat colour


def test_redraw_rewrites_the_pictures_and_the_page_from_the_folder(run, tmp_path):
    import shutil

    from squeezenp.reports.redraw import main as redraw
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("*.png", "report.html", "phantoms", "checkpoints"))
    assert redraw([str(copy)]) == 0
    assert {p.name for p in copy.glob("*.png")} == {p.name for p in run.glob("*.png")}
    for name in ("training_curves.png", "roc_val.png"):                 # drawn from the same numbers
        assert (copy / name).read_bytes() == (run / name).read_bytes(), name
    assert len(check_page(copy / "report.html")["images"]) == 5
    (copy / "predictions.csv").unlink()
    with pytest.raises(ValueError, match="predictions.csv"):
        redraw([str(copy)])
