"""``train`` interrupted at a write step (a KeyboardInterrupt injected where one file would be renamed into
place, after its content was written), then ``--resume``: the run folder ends as an uninterrupted run's, with
bit-identical weights and the same report."""
import csv
import json
import os

import numpy as np
import pytest

from squeezenp.app.cli import main

ARGS = ["train", "--recipe", "paper", "--model", "proposed", "--phantoms", "8", "--phantom-size", "40", "--input-size", "40",
        "--epochs", "2", "--batch-size", "8", "--lr", "0.01", "--momentum", "0.9", "--no-augment"]


def outcome(run):
    """What must not depend on the interruption: weights, probabilities, metrics, history (not timings)."""
    with np.load(run / "model.npz") as z:
        weights = {k: z[k] for k in z.files if k != "__config__"}
    probs = [r["probability_covid"] for r in csv.DictReader(open(run / "predictions.csv"))]
    m = json.loads((run / "metrics.json").read_text())
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in m["history"]]
    return weights, probs, m["metrics"], history, m["best_epoch"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    return outcome(out)


@pytest.mark.parametrize("target", ["checkpoint.npz", "model.npz", "predictions.csv", "training_curves.png"])
def test_interrupted_at_a_write_then_resumed_equals_an_uninterrupted_run(tmp_path, monkeypatch, reference, target):
    out = tmp_path / "run"
    real = os.replace

    def failing(src, dst, *a, **kw):
        if str(dst).endswith(target):
            raise KeyboardInterrupt
        return real(src, dst, *a, **kw)
    with monkeypatch.context() as m:
        m.setattr(os, "replace", failing)
        assert main([*ARGS, "--out", str(out)]) == 130
    assert not list(out.glob(".*.tmp")) and not list(out.glob(f"{target}*"))   # no half file
    assert main([*ARGS, "--out", str(out), "--resume"]) == 0
    weights, probs, metrics, history, best = outcome(out)
    rw, rp, rm, rh, rb = reference
    assert all(np.array_equal(weights[k], rw[k]) for k in rw) and set(weights) == set(rw)
    assert (probs, metrics, history, best) == (rp, rm, rh, rb)
