"""seed_ensemble: per fold, P(COVID) averaged over the seeds that finished it, then scored."""
import json

import numpy as np

from squeezenp.evaluation.cv import seed_ensemble
from squeezenp.train.metrics import binary_metrics


def _write(out, labels, folds, probs):
    (out / "runs").mkdir(parents=True)
    (out / "folds.json").write_text(json.dumps({"labels": labels, "folds": folds}))
    for (seed, fold), p in probs.items():
        idx = [i for i, f in enumerate(folds) if f == fold]
        (out / "runs" / f"seed{seed}_fold{fold}.json").write_text(
            json.dumps({"seed": seed, "fold": fold, "test_index": idx, "test_prob": p}))


def test_averages_the_seeds_of_each_fold(tmp_path):
    labels, folds = [1, 0, 1, 0], [0, 0, 1, 1]
    probs = {(0, 0): [0.9, 0.6], (1, 0): [0.3, 0.2], (0, 1): [0.4, 0.1], (1, 1): [0.8, 0.7]}
    _write(tmp_path, labels, folds, probs)
    e = seed_ensemble(tmp_path)
    assert e["seeds"] == 2 and e["folds"] == 2
    want0 = binary_metrics(np.array([1, 0]), np.array([0.6, 0.4]))      # (0.9+0.3)/2, (0.6+0.2)/2
    want1 = binary_metrics(np.array([1, 0]), np.array([0.6, 0.4]))      # (0.4+0.8)/2, (0.1+0.7)/2
    assert e["per_fold"][0]["accuracy"] == want0["accuracy"] == 1.0
    assert e["per_fold"][1]["accuracy"] == want1["accuracy"] == 1.0


def test_skips_folds_not_finished_by_every_seed(tmp_path):
    labels, folds = [1, 0, 1, 0], [0, 0, 1, 1]
    probs = {(0, 0): [0.9, 0.1], (1, 0): [0.8, 0.2], (0, 1): [0.1, 0.9]}
    _write(tmp_path, labels, folds, probs)
    e = seed_ensemble(tmp_path)
    assert e["seeds"] == 2 and e["folds"] == 1 and e["per_fold"][0]["fold"] == 0
