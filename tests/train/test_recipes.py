"""Training recipes: "paper" is exactly the old defaults, explicit options override a recipe, quick runs shorten
its schedule to fit, and ``squeezenp train --recipe`` stores what prediction needs in the model file."""
import dataclasses
import json

import numpy as np
import pytest

from squeezenp import models
from squeezenp.app.cli import build_parser, main
from squeezenp.commands.train import recipe_from_args
from squeezenp.models.pretrained import default_pretrained_path
from squeezenp.app.pipeline import DataOptions, run_experiment
from squeezenp.train import TrainConfig
from squeezenp.train.metrics import SELECTION_LABEL
from squeezenp.train.recipes import RECIPES, get_recipe

TINY_DATA = ["--phantoms", "12", "--phantom-size", "40", "--input-size", "32", "--epochs", "1",
             "--batch-size", "8"]


def test_paper_recipe_is_the_old_default_training():
    r = RECIPES["paper"]
    assert r.config(seed=3) == TrainConfig(seed=3)
    assert (r.model, r.input_size, r.preprocessing, r.augmentation, r.imagenet_trunk, r.tta) == \
        ("proposed", 227, "none", "x4", False, False)
    args = build_parser().parse_args(["train", "--recipe", "paper"])     # no other option: nothing overridden
    assert recipe_from_args(args) == r


def test_explicit_options_override_the_recipe():
    args = build_parser().parse_args(["train", "--recipe", "paper", "--lr", "0.01", "--epochs", "3",
                                      "--input-size", "64", "--no-augment", "--stratified-batches"])
    r = recipe_from_args(args)
    assert (r.input_size, r.augmentation) == (64, "none")
    c = r.config(0)
    assert (c.lr, c.epochs, c.stratified_batches, c.momentum) == (0.01, 3, True, TrainConfig().momentum)
    assert build_parser().parse_args(["train"]).recipe == "default"


def test_fewer_epochs_shrink_the_averaging_window_and_warm_up_unless_given():
    d = RECIPES["default"].train
    r = get_recipe("default", train={"epochs": 2})
    assert r.train["average_last"] == 2 and r.train["warmup_epochs"] == min(d["warmup_epochs"], 1)
    r = get_recipe("default", train={"epochs": 1})
    assert (r.train["average_last"], r.train["warmup_epochs"]) == (1, 0)
    with pytest.raises(ValueError, match="average_last <= epochs"):
        get_recipe("default", train={"epochs": 2, "average_last": 4})
    assert get_recipe("default", train={"epochs": 50}).train["average_last"] == d["average_last"]
    with pytest.raises(ValueError, match="unknown recipe 'nope'"):
        get_recipe("nope")


def test_training_with_the_paper_recipe_equals_the_old_pipeline(tmp_path):
    """Same weights from the old call (x4 in the data pipeline, TrainConfig) and the recipe call (train_recipe)."""
    base = DataOptions(data=None, input_size=32, phantoms_per_class=12, phantom_size=40,
                       phantom_dir=tmp_path / "phantoms")
    config = TrainConfig(epochs=1, batch_size=8, seed=0)
    run_experiment("proposed", base, config, tmp_path / "old", log=None)
    recipe = get_recipe("paper", input_size=32, train={"epochs": 1, "batch_size": 8})
    assert recipe.config(0) == config
    run_experiment("proposed", dataclasses.replace(base, augment=False), recipe.config(0), tmp_path / "new",
                   log=None, recipe=recipe)
    old, new = (models.load_model(tmp_path / d / "model.npz").state_dict() for d in ("old", "new"))
    for k in old:
        np.testing.assert_array_equal(old[k], new[k], err_msg=k)
    m_old, m_new = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("old", "new"))
    assert m_old["counts"] == m_new["counts"]                          # train counted after x4 in both


def test_train_stores_the_calibration_and_labels_the_selection_split(tmp_path, capsys):
    recipe = ["--recipe", "default"] if default_pretrained_path() else ["--recipe", "paper"]
    out = tmp_path / "run"
    assert main(["train", *recipe, "--out", str(out), *TINY_DATA, "--sensitivity-target", "0.8"]) == 0
    printed = capsys.readouterr().out
    assert SELECTION_LABEL in printed and "calibration fitted on the validation split" in printed
    cfg = models.load_model(out / "model.npz").config
    assert set(cfg["calibration"]) == {"a", "b"} and 0 <= cfg["threshold"] <= 1
    assert cfg["recipe"] == recipe[1] and "sensitivity-first" in cfg["operating_point"]
    assert cfg["ct_preprocessing"] == RECIPES[recipe[1]].preprocessing and cfg["tta"] == RECIPES[recipe[1]].tta
    m = json.loads((out / "metrics.json").read_text())
    assert m["split_labels"]["val"] == SELECTION_LABEL and m["recipe"]["name"] == recipe[1]
    assert main(["evaluate", str(out / "model.npz"), "--data", str(out / "phantoms"), "--out",
                 str(tmp_path / "ev")]) == 0
    assert SELECTION_LABEL in capsys.readouterr().out                   # the data it was trained on
    other = tmp_path / "other"
    import shutil
    shutil.copytree(out / "phantoms", other)
    assert main(["evaluate", str(out / "model.npz"), "--data", str(other), "--out", str(tmp_path / "ev2")]) == 0
    table = capsys.readouterr().out
    assert SELECTION_LABEL not in table and "\nval " in table


def test_online_augmentation_draws_fresh_inputs_instead_of_x4_copies(monkeypatch):
    """The ``online`` recipe trains on the original images, augmented per batch; ``x4`` on the four copies."""
    import squeezenp.train.recipes as R
    seen = []
    real_fit = R.fit

    def recording_fit(model, data, *args, **kwargs):
        seen.append(len(data[0]))
        return real_fit(model, data, *args, **kwargs)
    monkeypatch.setattr(R, "fit", recording_fit)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3, 32, 32)).astype(np.float32), np.arange(16) % 2
    small = dict(imagenet_trunk=False, input_size=32, train={"epochs": 1, "batch_size": 8})
    weights = {}
    for augmentation in ("none", "online", "x4"):
        recipe = get_recipe("default", augmentation=augmentation, **small)
        assert recipe.config(0).online_augment == (augmentation == "online")
        model, _ = R.train_recipe(recipe, x, y, None, None, seed=0)
        weights[augmentation] = model.state_dict()
    assert seen == [16, 16, 64]
    assert any(not np.array_equal(weights["none"][k], weights["online"][k]) for k in weights["none"])
