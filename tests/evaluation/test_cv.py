"""The resumable cross-validation on tiny phantoms: an interrupted run resumes to the uninterrupted result, a
folder of another recipe or other data is refused with the change named, and the summary holds every scoring."""
import json

import numpy as np
import pytest

from squeezenp.data import write_phantom_folder
from squeezenp.evaluation.cv import SCORINGS, run_cv, summarise
from squeezenp.evaluation.dataset import pooled_images
from squeezenp.train.recipes import get_recipe

RECIPE = dict(input_size=32, imagenet_trunk=False, train={"epochs": 2, "batch_size": 8})


class Stop(KeyboardInterrupt):
    pass


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv") / "phantoms"
    write_phantom_folder(root, 12, 40, seed=0)
    paths, labels = pooled_images(root)
    return root, paths, labels


@pytest.fixture(scope="module")
def uninterrupted(phantoms, tmp_path_factory):
    root, paths, labels = phantoms
    out = tmp_path_factory.mktemp("cv_full")
    return out, run_cv(get_recipe("default", **RECIPE), paths, labels, out, k=3, seeds=[0, 1], root=root, log=None)


def test_interrupted_cv_resumes_to_the_uninterrupted_result(phantoms, uninterrupted, tmp_path):
    root, paths, labels = phantoms
    recipe = get_recipe("default", **RECIPE)

    def kill_after_first_run(msg):           # called just after a run file is written
        if msg.startswith("  accuracy"):
            raise Stop
    with pytest.raises(Stop):
        run_cv(recipe, paths, labels, tmp_path, k=3, seeds=[0, 1], root=root, log=kill_after_first_run)
    assert [p.name for p in (tmp_path / "runs").glob("*.json")] == ["seed0_fold0.json"]
    resumed_log = []
    resumed = run_cv(recipe, paths, labels, tmp_path, k=3, seeds=[0, 1], root=root, log=resumed_log.append)
    assert sum(m.startswith("default: seed") for m in resumed_log) == 5        # the finished run is not redone
    full_dir, full = uninterrupted
    assert resumed["runs"] == full["runs"] == 6
    for name in ("seed0_fold0", "seed1_fold2"):
        a = json.loads((tmp_path / "runs" / f"{name}.json").read_text())
        b = json.loads((full_dir / "runs" / f"{name}.json").read_text())
        assert a["test_index"] == b["test_index"] and a["select_index"] == b["select_index"]
        np.testing.assert_allclose(a["test_prob"], b["test_prob"], rtol=0, atol=1e-9)
    for key in resumed["mean_sd"]:
        for m, v in resumed["mean_sd"][key].items():
            assert v == pytest.approx(full["mean_sd"][key][m], nan_ok=True), (key, m)


def test_a_finished_cv_reruns_nothing_and_refuses_another_recipe_or_data(phantoms, uninterrupted):
    root, paths, labels = phantoms
    out, _ = uninterrupted
    log = []
    run_cv(get_recipe("default", **RECIPE), paths, labels, out, k=3, seeds=[0, 1], root=root, log=log.append)
    assert not any(m.startswith("default: seed") for m in log)
    other = get_recipe("default", **{**RECIPE, "train": {"epochs": 3, "batch_size": 8}})
    with pytest.raises(ValueError, match=r"another recipe .*train\.epochs: 2 -> 3"):
        run_cv(other, paths, labels, out, k=3, seeds=[0], root=root, log=None)
    with pytest.raises(ValueError, match=r"inner_fraction: 0\.2 -> 0\.25"):
        run_cv(get_recipe("default", **RECIPE), paths, labels, out, k=3, seeds=[0], root=root, log=None,
               inner_fraction=0.25)
    n = len(paths)
    with pytest.raises(ValueError, match=rf"other data \(images: {n} -> {n - 1} \(0 added, 1 removed\)\)"):
        run_cv(get_recipe("default", **RECIPE), paths[:-1], labels[:-1], out, k=3, seeds=[0], root=root, log=None)
    with pytest.raises(ValueError, match=r"folds: 3 -> 4; fold seed: 0 -> 1"):
        run_cv(get_recipe("default", **RECIPE), paths, labels, out, k=4, fold_seed=1, seeds=[0], root=root, log=None)


def test_summary_scores_every_run_four_ways_and_pools_out_of_fold(phantoms, uninterrupted):
    _, _, labels = phantoms
    out, s = uninterrupted
    plan = json.loads((out / "folds.json").read_text())
    assert plan["paths"][0].startswith(("train/", "val/"))                 # relative to the data root
    assert set(s["per_run"]) == set(SCORINGS) and s["seeds"] == [0, 1] and s["test_time_augmentation"]
    for seed, p in s["out_of_fold_prob"].items():
        assert all(v is not None for v in p)                              # every image scored once per seed
        assert s["pooled_out_of_fold"][seed]["images"] == len(labels)
    for r in s["per_run"]["0.5"]:
        assert r["threshold"] == 0.5 and r["n"] == len(json.loads(
            (out / "runs" / f"seed{r['seed']}_fold{r['fold']}.json").read_text())["test_index"])
    for r, c in zip(s["per_run"]["0.5"], s["per_run"]["calibrated"]):
        assert c["roc_auc"] == pytest.approx(r["roc_auc"], nan_ok=True) and c["calibration"]["a"] > 0
    cal = s["calibration"]
    assert sum(cal["before"]["count"]) == sum(cal["after"]["count"]) == 2 * len(labels)
    again = summarise(out, sensitivity_target=0.5)
    assert again["sensitivity_target"] == 0.5
    for r, t in zip(again["per_run"]["selected_threshold"], s["per_run"]["selected_threshold"]):
        assert r["threshold"] >= t["threshold"]                           # a lower target, a higher cut-off


def test_no_run_trains_on_or_selects_with_its_test_fold(uninterrupted):
    out, _ = uninterrupted
    plan = json.loads((out / "folds.json").read_text())
    groups = np.asarray(plan["groups"])
    for path in (out / "runs").glob("*.json"):
        r = json.loads(path.read_text())
        test, train, sel = set(r["test_index"]), set(r["train_index"]), set(r["select_index"])
        assert not (test & train) and not (test & sel) and not (train & sel)
        assert len(test | train | sel) == len(groups)
        assert not set(groups[list(test)]) & set(groups[list(train | sel)])   # no group crosses the fold
        assert not set(groups[list(sel)]) & set(groups[list(train)])
