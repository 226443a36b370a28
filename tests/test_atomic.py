"""Atomic files and folders: a reader sees the old or the new content, never half; JSON is always valid."""
import json

import numpy as np
import pytest

from squeezenp.core.atomic import atomic_folder, atomic_write_json, remove_stale_partials


def test_json_has_no_bare_nan_or_infinity(tmp_path):
    obj = {"a": float("nan"), "b": [1.0, float("inf"), np.float32("-inf")], "c": np.array([0.5, np.nan]),
           "d": {"e": np.float64(2.0)}, "f": "nan"}
    p = atomic_write_json(tmp_path / "x.json", obj)

    def refuse(name):
        raise AssertionError(f"bare {name}")
    assert json.loads(p.read_text(), parse_constant=refuse) == {"a": None, "b": [1.0, None, None],
                                                                "c": [0.5, None], "d": {"e": 2.0}, "f": "nan"}


def test_atomic_folder_replaces_only_when_the_block_completes(tmp_path):
    dest = tmp_path / "out"
    with atomic_folder(dest) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(dest) as tmp:
            (tmp / "a.txt").write_text("new, half")
            raise KeyboardInterrupt
    assert (dest / "a.txt").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out"]
    with atomic_folder(dest) as tmp:
        (tmp / "b.txt").write_text("new")
    assert sorted(p.name for p in dest.iterdir()) == ["b.txt"] and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_only_the_leftovers_of_dead_processes_are_removed(tmp_path):
    import os
    dead, live = tmp_path / ".out.old-999999999-x", tmp_path / f".out.partial-{os.getpid()}-x"
    dead.mkdir()
    live.mkdir()
    assert remove_stale_partials(tmp_path / "out") == [dead] and live.exists()
