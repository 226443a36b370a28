"""The rule for run folders: ``--resume`` refuses any change of data, model or training options and names each
changed option with its old and new value, leaving the folder untouched; a run folder can be moved."""
import shutil

import pytest
from cli_testutils import TINY, snapshot

from squeezenp.app.cli import main


def with_option(args, name, value):
    args = list(args)
    if name in args:
        args[args.index(name) + 1] = value
    else:
        args += [name, value]
    return args


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(tiny_run, dst)
    return dst


@pytest.mark.parametrize("option,value,named", [
    ("--input-size", "48", "data.input_size: 40 -> 48"),
    ("--phantoms", "16", "data.phantoms_per_class: 12 -> 16"),
    ("--epochs", "2", "train.epochs: 1 -> 2"),
    ("--lr", "0.02", "train.lr: 0.01 -> 0.02"),
    ("--model", "squeezenet", "model: 'proposed' -> 'squeezenet'"),
    ("--recipe", "default", "recipe.name: 'paper' -> 'default'"),
])
def test_resume_with_a_changed_option_is_refused_naming_it(run_copy, capsys, option, value, named):
    before = snapshot(run_copy)
    args = with_option(["train", "--model", "proposed", "--out", str(run_copy), "--resume", *TINY], option, value)
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0], err
    changes = err[0].split("refusing to mix them: ")[1].split(". Resume with")[0].split("; ")
    stem = option.lstrip("-").replace("-", "_").replace("phantoms", "phantoms_per_class")
    if option != "--recipe":                             # only what changed, not two whole configurations
        assert all(c.split(":")[0].endswith(stem) for c in changes), changes
    assert snapshot(run_copy) == before                  # nothing rewritten: not the model, not the report


def test_a_changed_data_folder_is_named_too(tmp_path, capsys):
    from squeezenp.data import write_phantom_folder
    data = tmp_path / "data"
    write_phantom_folder(data, 8, 40)
    args = ["train", "--recipe", "paper", "--data", str(data), "--out", str(tmp_path / "r"), "--input-size", "40",
            "--epochs", "1",
            "--batch-size", "8", "--no-augment"]
    assert main(args) == 0
    (data / "val" / "COVID" / "COVID_00005.png").unlink()
    assert main(args + ["--resume"]) == 1
    err = capsys.readouterr().err
    assert "data.data: 32 files, sha256" in err and "-> 31 files, sha256" in err


def test_a_moved_run_folder_resumes(run_copy, tmp_path, capsys):
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    shutil.move(run_copy, moved)
    assert main(["train", "--model", "proposed", "--out", str(moved), "--resume", *TINY]) == 0
    out = capsys.readouterr().out
    assert "resuming from" in out and "writing" not in out   # the phantoms inside were reused, not redrawn
