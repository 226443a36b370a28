"""The Matlab 2020a switches of the training loop and the ``matlab`` recipe, on tiny data: one shuffle for every
epoch, whole batches of 128 only, the last epoch's network, Table 3's values per network."""
import dataclasses

import numpy as np
import pytest

from squeezenp.core import Layer
from squeezenp.data import write_phantom_folder
from squeezenp.train import TrainConfig, fit
from squeezenp.train.recipes import RECIPES, build_model, get_recipe, train_recipe
from squeezenp.train.trainer import batches_per_epoch


class Recorder(Layer):
    """A 2-class linear model on the mean of each image that records which images every training batch held
    (image i carries the value i in its first pixel)."""

    def __init__(self):
        super().__init__()
        self.add_param("weight", np.zeros((2, 1), np.float32))
        self.add_param("bias", np.zeros(2, np.float32))
        self.batches = []

    def forward(self, x, training=None):
        if self._is_training(training):
            self.batches.append(x[:, 0, 0, 0].astype(int).tolist())
        m = x.mean(axis=(1, 2, 3))[:, None]
        self._cache = m
        return m @ self.params["weight"].T + self.params["bias"]

    def backward(self, dout):
        self.grads["weight"][...] = dout.T @ self._cache
        self.grads["bias"][...] = dout.sum(0)
        return None


def indexed(n):
    x = np.zeros((n, 1, 2, 2), np.float32)
    x[:, 0, 0, 0] = np.arange(n)
    return x, (np.arange(n) % 2).astype(np.int64)


def epochs_of(model, nb):
    return [sum(model.batches[i:i + nb], []) for i in range(0, len(model.batches), nb)]


def test_shuffle_once_visits_the_images_in_the_same_order_every_epoch():
    x, y = indexed(40)
    once, every = Recorder(), Recorder()
    base = TrainConfig(epochs=3, batch_size=8, lr=0.01, seed=4, select="last")
    fit(once, (x, y), None, dataclasses.replace(base, shuffle="once"), log=None)
    fit(every, (x, y), None, base, log=None)
    e_once, e_every = epochs_of(once, 5), epochs_of(every, 5)
    assert e_once[0] == e_once[1] == e_once[2] and sorted(e_once[0]) == list(range(40))
    assert e_once[0] != list(range(40))                               # shuffled, once
    assert e_every[0] != e_every[1]                                   # reshuffled every epoch


def test_drop_last_trains_on_whole_batches_only():
    x, y = indexed(300)
    m = Recorder()
    fit(m, (x, y), None, TrainConfig(epochs=2, batch_size=128, drop_last=True, shuffle="once", lr=0.01,
                                     select="last"), log=None)
    assert [len(b) for b in m.batches] == [128, 128] * 2              # 44 images left out, the same ones twice
    assert set(sum(m.batches[:2], [])) == set(sum(m.batches[2:], []))
    assert batches_per_epoch(300, 128, False) == 3 and batches_per_epoch(100, 128, True) == 1


def test_select_last_returns_the_last_epoch_whatever_the_validation_says():
    x, y = indexed(16)
    cfg = TrainConfig(epochs=3, batch_size=8, lr=0.5, momentum=0.0, l2=0.0, seed=2)
    last, unvalidated, best = Recorder(), Recorder(), Recorder()
    res = fit(last, (x, y), (x[::-1], 1 - y[::-1]), dataclasses.replace(cfg, select="last"), log=None)
    fit(unvalidated, (x, y), None, dataclasses.replace(cfg, select="last"), log=None)
    res_best = fit(best, (x, y), (x[::-1], 1 - y[::-1]), cfg, log=None)
    assert res.best_epoch == 3
    np.testing.assert_array_equal(last.params["weight"], unvalidated.params["weight"])
    keys = [(h["val_accuracy"], -h["val_loss"]) for h in res_best.history]
    assert res_best.best_epoch == 1 + keys.index(max(keys))           # "best" follows the validation split


def test_bad_shuffle_is_refused():
    with pytest.raises(ValueError, match="shuffle"):
        TrainConfig(shuffle="never")


def test_matlab_recipe_has_matlabs_defaults_and_table_3s_values_per_network():
    r = RECIPES["matlab"]
    assert (r.init, r.input_normalization, r.augmentation, r.input_size) == ("glorot", "zerocenter", "x4", 227)
    c1 = r.config(0, "squeezenet")
    assert (c1.batch_size, c1.drop_last, c1.shuffle, c1.select, c1.epochs) == (128, True, "once", "last", 20)
    assert (c1.lr, c1.momentum, c1.l2) == (0.074516, 0.58486, 1.6387e-07)                     # Table 3, exp. 1
    assert (r.config(0, "squeezenet_bypass").lr, r.config(0, "proposed").lr) == (0.011358, 0.007132)
    assert get_recipe("matlab", train={"lr": 0.001}).config(0).lr == 0.001                   # overrides win
    assert r.input_mode("squeezenet") == "zerocenter"
    assert r.input_mode("squeezenet_bypass_transfer") == "imagenet"                           # ImageNet's mean
    paper = RECIPES["paper"].config(0)
    assert (paper.batch_size, paper.shuffle, paper.drop_last, paper.select) == (32, "every-epoch", False, "best")


def test_matlab_alive_is_matlab_plus_exactly_three_changes_and_the_quick_preset_uses_it():
    from squeezenp.reproduce import get_preset
    m, a = RECIPES["matlab"], RECIPES["matlab_alive"]
    changed = {k for k in m.as_dict() if k not in ("name", "train") and m.as_dict()[k] != a.as_dict()[k]}
    assert changed == {"init"} and a.init == "glorot_zero_conv10"
    extra = {k: v for k, v in a.train.items() if m.train.get(k) != v}
    assert extra == {"stratified_batches": True, "gradient_threshold": 1.0}
    assert set(m.train) <= set(a.train)
    assert (get_preset("quick").recipe, get_preset("paper").recipe, get_preset("tiny").recipe) == \
        ("matlab_alive", "matlab", "matlab")


def test_recipes_stored_before_the_matlab_fields_still_match():
    assert set(RECIPES["paper"].as_dict()) == {"name", "model", "input_size", "preprocessing", "augmentation",
                                               "imagenet_trunk", "tta", "train"}
    assert RECIPES["matlab"].as_dict()["init"] == "glorot"


def test_train_recipe_matlab_on_phantoms_stores_the_mean_image(tmp_path):
    from squeezenp import models
    from squeezenp.train.recipes import load_tensors
    from squeezenp.models.input_normalization import mean_image
    write_phantom_folder(tmp_path, 6, 40, seed=0)
    paths = sorted((tmp_path / "train").glob("*/*.png"))
    y = np.array([p.parent.name == "COVID" for p in paths], np.int64)
    recipe = get_recipe("matlab", model="squeezenet", input_size=32, train={"epochs": 1})
    x = load_tensors(recipe, paths)
    model, result = train_recipe(recipe, x, y, x[:4], y[:4], seed=1)
    assert result.best_epoch == 1 and model.config["init"] == "glorot"
    x4 = np.concatenate([x] * 4)                       # the x4 copies keep each image's mean intensity roughly
    assert np.abs(model.input_norm.buffers["mean"] - mean_image(x4)).mean() < 10
    models.save_model(model, tmp_path / "m.npz")
    np.testing.assert_allclose(models.load_model(tmp_path / "m.npz").predict_proba(x), model.predict_proba(x),
                               rtol=1e-6)


def test_build_model_sets_the_exact_mean_image_of_the_images_given():
    from squeezenp.models.input_normalization import mean_image
    x = np.random.default_rng(0).standard_normal((10, 3, 32, 32)).astype(np.float32)
    m = build_model(get_recipe("matlab", model="squeezenet", input_size=32), x, seed=0)
    np.testing.assert_array_equal(m.input_norm.buffers["mean"], mean_image(x))


def test_gradient_threshold_clips_each_parameter_arrays_l2_norm():
    from squeezenp.train.trainer import clip_gradients
    m = Recorder()
    m.grads["weight"][...] = [[3.0], [4.0]]                          # norm 5
    m.grads["bias"][...] = [0.3, 0.4]                                 # norm 0.5, under the threshold
    assert clip_gradients(m, 1.0) == 1
    np.testing.assert_allclose(m.grads["weight"], [[0.6], [0.8]], rtol=1e-6)
    np.testing.assert_allclose(m.grads["bias"], [0.3, 0.4], rtol=1e-6)
    with pytest.raises(ValueError, match="gradient_threshold"):
        TrainConfig(gradient_threshold=0)


def test_a_checkpoint_written_before_a_field_existed_still_resumes(tmp_path):
    from squeezenp.train.trainer import _config_json, same_config
    stored = _config_json(TrainConfig(epochs=3))
    for k in ("shuffle", "drop_last", "gradient_threshold"):
        del stored[k]
    assert same_config(stored, TrainConfig(epochs=3))
    assert not same_config(stored, TrainConfig(epochs=3, shuffle="once"))
    assert not same_config({**stored, "unknown": 1}, TrainConfig(epochs=3))


def test_train_command_with_the_matlab_recipe_saves_its_network(tmp_path):
    from squeezenp import models
    from squeezenp.app import cli
    out = tmp_path / "run"
    assert cli.main(["train", "--recipe", "matlab", "--model", "squeezenet", "--phantoms", "6", "--phantom-size",
                     "40", "--input-size", "32", "--epochs", "1", "--out", str(out)]) == 0
    m = models.load_model(out / "model.npz")
    assert (m.config["init"], m.config["input_normalization"]) == ("glorot", "zerocenter")
    assert m.input_norm.buffers["mean"].mean() > 10                  # a mean image in 0-255 pixels, not zeros
    import json
    cfg = json.loads((out / "metrics.json").read_text())["config"]
    assert (cfg["batch_size"], cfg["shuffle"], cfg["select"], cfg["lr"]) == (128, "once", "last", 0.074516)
    # predict applies the stored mean image: its raw P(COVID) is the model's on the pipeline's tensor
    import csv
    from squeezenp.data import load_image
    image = sorted((out / "phantoms" / "val" / "COVID").glob("*.png"))[0]
    assert cli.main(["predict", str(out / "model.npz"), str(image), "--out", str(tmp_path / "p.csv")]) == 0
    row = next(csv.DictReader((tmp_path / "p.csv").open()))
    expected = m.predict_proba(load_image(image, (32, 32), 3)[None])[0, 1]
    assert abs(float(row["probability_covid_raw"]) - expected) < 1e-5
    m.set_input_normalization("none")
    assert abs(m.predict_proba(load_image(image, (32, 32), 3)[None])[0, 1] - expected) > 1e-6
