"""Identities of runs and searches: relocatable fingerprints, and changes named key by key."""
import shutil

import pytest

from squeezenp.core.identity import (data_identity, fingerprint, is_legacy_data, option_changes, refuse_changes,
                                upgrade_legacy_data)
from squeezenp.app.pipeline import DataOptions


def test_option_changes_names_each_changed_key_with_old_and_new_value():
    old = {"model": "proposed", "data": {"input_size": 64, "seed": 0}, "train": {"epochs": 10, "lr": 0.01}}
    new = {"model": "proposed", "data": {"input_size": 96, "seed": 0}, "train": {"epochs": 20, "lr": 0.01},
           "recipe": "paper"}
    assert option_changes(old, new) == ["data.input_size: 64 -> 96", "train.epochs: 10 -> 20",
                                        "recipe: (not recorded) -> 'paper'"]
    assert option_changes(old, old) == []
    with pytest.raises(ValueError, match=r"^run folder x was made with other options, refusing to mix them: "
                                         r"data.input_size: 64 -> 96; train.epochs: 10 -> 20; .*\. Hint\.$"):
        refuse_changes(old, new, "run folder x", "Hint.")


def test_fingerprints_follow_content_not_place(tmp_path):
    a = tmp_path / "a"
    (a / "val" / "COVID").mkdir(parents=True)
    (a / "val" / "COVID" / "x.png").write_bytes(b"12345")
    b = tmp_path / "somewhere" / "b"
    shutil.copytree(a, b)
    assert fingerprint(a) == fingerprint(b) and fingerprint(a).startswith("1 files, sha256 ")
    (b / "val" / "COVID" / "y.png").write_bytes(b"1")
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(tmp_path / "none") == "missing"
    assert data_identity(DataOptions(data=a, phantom_dir="p")) == data_identity(DataOptions(data=str(a / ".")))
    assert "phantom_dir" not in data_identity(DataOptions(phantom_dir=tmp_path / "p"))


def test_a_legacy_record_is_read_in_todays_form(tmp_path):
    legacy = {"data": str(tmp_path), "layout": "folder", "input_size": 32, "phantom_dir": "/abs/old/place"}
    assert is_legacy_data(legacy) and not is_legacy_data(data_identity(DataOptions(data=tmp_path)))
    assert upgrade_legacy_data(legacy) == {"data": fingerprint(tmp_path), "layout": "folder", "input_size": 32}
