"""The rule for derived data, on the phantom folder: built in a temporary folder and renamed into place when
complete, reused only when its manifest (options, file counts) matches, rebuilt or refused with the reason.

Interruptions are injected at every file the build writes (a KeyboardInterrupt from the n-th PNG save, then
from the manifest write), and the re-run must give the very folder an uninterrupted build gives."""
import hashlib
import json
import os

import pytest
from PIL import Image

from squeezenp.core import atomic
from squeezenp.app.cli import main
from squeezenp.data import phantoms
from squeezenp.data.phantoms import MANIFEST, build_phantom_folder
from squeezenp.app.pipeline import DataOptions, scan_splits

N, SIZE = 5, 24                       # 5 per class: 3/1/1 per split; 20 PNG files (images and masks)


def snapshot(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("ref") / "phantoms"
    build_phantom_folder(root, N, SIZE, seed=4)
    return snapshot(root)


class Interrupt:
    """Raise KeyboardInterrupt on the n-th call of the wrapped function (1-based)."""

    def __init__(self, monkeypatch, owner, name, n):
        self.calls, self.n, real = 0, n, getattr(owner, name)

        def wrapped(*a, **kw):
            self.calls += 1
            if self.calls == self.n:
                raise KeyboardInterrupt
            return real(*a, **kw)
        monkeypatch.setattr(owner, name, wrapped)


@pytest.mark.parametrize("n", [1, 7, 11, 15, 20])   # image or mask n of 20: train, val/, test/COVID...
def test_an_interrupted_build_leaves_nothing_and_the_rerun_is_complete(tmp_path, monkeypatch, reference, n):
    root = tmp_path / "phantoms"
    with monkeypatch.context() as m:
        Interrupt(m, Image.Image, "save", n)
        with pytest.raises(KeyboardInterrupt):
            build_phantom_folder(root, N, SIZE, seed=4)
    assert not root.exists() and os.listdir(tmp_path) == []       # no half folder, no temporary one
    build_phantom_folder(root, N, SIZE, seed=4)
    assert snapshot(root) == reference


def test_an_interrupt_while_writing_the_manifest_or_renaming_leaves_the_old_folder(tmp_path, monkeypatch):
    root = tmp_path / "phantoms"
    build_phantom_folder(root, 4, SIZE, seed=4)
    old = snapshot(root)
    for owner, name in ((phantoms, "write_phantom_folder"), (atomic, "atomic_write"), (os, "replace")):
        with monkeypatch.context() as m:
            Interrupt(m, owner, name, 1)
            with pytest.raises(KeyboardInterrupt):
                build_phantom_folder(root, N, SIZE, seed=4)          # other options: a rebuild, interrupted
        assert snapshot(root) == old
        assert [p.name for p in tmp_path.iterdir()] == ["phantoms"]


def test_other_options_rebuild_and_a_damaged_folder_is_rebuilt_with_the_reason(tmp_path, reference):
    root, said = tmp_path / "phantoms", []
    build_phantom_folder(root, 2, SIZE, seed=4)
    build_phantom_folder(root, N, SIZE, seed=4, log=said.append)
    assert snapshot(root) == reference and "n_per_class 2 -> 5" in said[0]
    (root / "test" / "COVID" / "COVID_00004.png").unlink()
    said.clear()
    build_phantom_folder(root, N, SIZE, seed=4, log=said.append)
    assert snapshot(root) == reference and "holds 0 PNG file(s), its manifest says 1" in said[0]
    said.clear()
    build_phantom_folder(root, N, SIZE, seed=4, log=said.append)                  # complete: reused, silently
    assert said == []


def test_a_folder_without_manifest_is_refused_not_deleted(tmp_path):
    root = tmp_path / "phantoms"
    (root / "train" / "COVID").mkdir(parents=True)
    (root / "train" / "COVID" / "mine.png").write_bytes(b"someone's file")
    with pytest.raises(ValueError, match=f"no {MANIFEST}.*delete it or choose another folder"):
        build_phantom_folder(root, N, SIZE)
    assert (root / "train" / "COVID" / "mine.png").read_bytes() == b"someone's file"


def test_partial_folders_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / ".phantoms.partial-999999999-abc"     # no such process
    live = tmp_path / f".phantoms.partial-{os.getppid()}-abc"
    dead.mkdir()
    live.mkdir()
    build_phantom_folder(tmp_path / "phantoms", 2, SIZE)
    assert not dead.exists() and live.exists()


def test_too_few_phantoms_is_an_error_before_writing(tmp_path):
    with pytest.raises(ValueError, match="--phantoms 3 leaves the val split empty"):
        scan_splits(DataOptions(phantoms_per_class=3, phantom_size=SIZE, phantom_dir=tmp_path / "p"))
    assert not (tmp_path / "p").exists()


def test_train_interrupted_in_test_covid_resumes_on_complete_data(tmp_path, monkeypatch, capsys):
    """The issue's case: Ctrl-C at file 7 of test/COVID, then --resume; and --phantoms changed on a plain re-run."""
    out = tmp_path / "run"
    args = ["train", "--recipe", "paper", "--out", str(out), "--phantoms", "12", "--phantom-size", "40", "--input-size", "40",
            "--epochs", "1", "--batch-size", "8", "--no-augment"]
    with monkeypatch.context() as m:     # per class: 7 train, 3 val, 2 test, an image and a mask each
        Interrupt(m, Image.Image, "save", 2 * (7 + 3) + 2 * 12 + 3)      # inside test/COVID
        assert main(args) == 130
    assert main(args + ["--resume"]) == 0
    counts = json.loads((out / "metrics.json").read_text())["counts"]
    assert counts["test1"]["total"] == 4 and counts["val"]["total"] == 6
    args[args.index("--phantoms") + 1] = "20"
    assert main(args) == 0                                                 # a plain re-run with more phantoms
    assert json.loads((out / "phantoms" / MANIFEST).read_text())["n_per_class"] == 20
    counts = json.loads((out / "metrics.json").read_text())["counts"]
    assert counts["val"]["total"] == 8
