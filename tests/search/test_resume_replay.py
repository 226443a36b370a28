"""Search resumption replays the record into the optimiser: interrupted after k trials (several k, serial and
batched) and resumed, a search asks the very points of an uninterrupted one. A search folder can be moved.

The objective is a smooth function of (lr, momentum, L2) instead of training (the optimiser is under test):
the real trial is exercised by test_tune.py."""
import importlib
import json
import math
import shutil

import pytest

from squeezenp import models
from squeezenp.search import distributed, tune

tune_module = importlib.import_module("squeezenp.search.tune")

_STATE = {}


def fake_trial(model_name, data, params, epochs, input_size=None, **kw):
    """A deterministic score in [0, 1] with its minimum near lr 6e-3, momentum 0.85, L2 1e-6."""
    lr, m, l2 = params["lr"], params["momentum"], params["l2"]
    score = min(1.0, 0.05 + (math.log10(lr) + 2.2) ** 2 / 8 + (m - 0.85) ** 2 + (math.log10(l2) + 6) ** 2 / 200)
    if model_name not in _STATE:
        _STATE[model_name] = models.create(model_name, input_size=input_size).state_dict()
    return {"status": "ok", "score": score, "val_accuracy": 1 - score, "val_loss": score, "best_epoch": 1,
            "seconds": 0.0, "error": "", "state": _STATE[model_name]}


class BatchRunner:
    """Two trials per ask, finishing in reverse order (as parallel trials may)."""
    parallel = 2

    def run(self, jobs):
        for job in reversed(jobs):
            yield job, fake_trial(data=None, **job)

    def close(self):
        pass


def trials_of(folder):
    return [{k: v for k, v in t.items() if k != "seconds"}
            for t in json.loads((folder / "experiment4" / "trials.json").read_text())["trials"]]


def search(out, data, settings, stop_after=None):
    def stop(k, trial):
        if trial["trial"] == stop_after:
            raise KeyboardInterrupt
    tune([4], data, settings, out, log=None, on_trial=stop if stop_after else None)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(distributed, "run_trial", fake_trial)


@pytest.mark.parametrize("batched,stops", [(False, (1, 2, 4)), (True, (3,))])
def test_resumed_searches_ask_the_points_of_an_uninterrupted_one(tmp_path, tiny_data, tiny_settings, fake,
                                                                monkeypatch, batched, stops):
    """Stopped inside the random start (1), at its end (2), in the GP phase (4), mid-batch (3 of 2 + 2 + 1)."""
    if batched:
        monkeypatch.setattr(tune_module, "make_runner", lambda *a, **kw: BatchRunner())
    settings = tiny_settings(calls=5, n_initial_points=2)     # every GP fit costs about a second: few trials
    search(tmp_path / "whole", tiny_data, settings)
    whole = trials_of(tmp_path / "whole")
    assert len(whole) == 5 and len({(t["lr"], t["momentum"], t["l2"]) for t in whole}) == 5
    assert [t["ask"] for t in whole] == ([1, 1, 2, 2, 3] if batched else [1, 2, 3, 4, 5])
    for k in stops:
        out = tmp_path / f"stop{k}"
        with pytest.raises(KeyboardInterrupt):
            search(out, tiny_data, settings, stop_after=k)
        assert len(trials_of(out)) == k
        search(out, tiny_data, settings)
        assert trials_of(out) == whole, k


def test_a_moved_search_folder_resumes(tmp_path, tiny_data, tiny_settings, fake):
    import dataclasses
    settings = tiny_settings(calls=3, n_initial_points=3)
    first = tmp_path / "a" / "search"
    data = dataclasses.replace(tiny_data, phantom_dir=first / "phantoms")     # as the command line: OUT/phantoms
    with pytest.raises(KeyboardInterrupt):
        search(first, data, settings, stop_after=2)
    moved = tmp_path / "b" / "copied"
    shutil.copytree(first, moved)
    shutil.rmtree(first)
    search(moved, dataclasses.replace(data, phantom_dir=moved / "phantoms"), settings)
    search(tmp_path / "whole", data, settings)
    assert trials_of(moved) == trials_of(tmp_path / "whole")


def test_a_record_the_optimiser_does_not_reproduce_is_told_with_a_warning(tmp_path, tiny_data, tiny_settings,
                                                                          fake):
    settings = tiny_settings(calls=3, n_initial_points=2)
    out = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        search(out, tiny_data, settings, stop_after=2)
    path = out / "experiment4" / "trials.json"
    record = json.loads(path.read_text())
    for t in record["trials"]:          # as written before asks were recorded, by a search that repeated trial 1
        del t["ask"], t["ask_size"]
    record["trials"][1].update({k: record["trials"][0][k] for k in ("lr", "momentum", "l2")})
    path.write_text(json.dumps(record))
    said = []
    tune([4], tiny_data, settings, out, log=said.append)
    assert any("trial 2 of the record is not the point this optimiser asks for" in s for s in said)
    assert len(trials_of(out)) == 3
