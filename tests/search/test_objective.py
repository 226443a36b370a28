"""One trial: score = 1 - validation accuracy of the selected epoch; divergence is a failed trial scoring 1.0."""
import numpy as np
import pytest

from squeezenp.search import run_trial


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3, 32, 32)).astype(np.float32)
    y = np.arange(24) % 2
    x[y == 1, :, :16] += 1.0
    return {"train": (x[:16], y[:16]), "val": (x[16:], y[16:])}


def test_ok_trial_scores_one_minus_val_accuracy(data):
    r = run_trial("proposed", data, {"lr": 0.01, "momentum": 0.9, "l2": 1e-6}, epochs=2, batch_size=8)
    assert r["status"] == "ok" and r["error"] == ""
    assert r["score"] == pytest.approx(1 - r["val_accuracy"]) and 0 <= r["val_accuracy"] <= 1
    assert r["best_epoch"] in (1, 2) and np.isfinite(r["val_loss"]) and r["seconds"] > 0
    assert set(r["state"]) and all(isinstance(v, np.ndarray) for v in r["state"].values())


def test_diverging_trial_is_failed_with_the_worst_score(data):
    r = run_trial("proposed", data, {"lr": 1e12, "momentum": 0.99, "l2": 1e-2}, epochs=2, batch_size=8)
    assert r["status"] == "failed" and r["score"] == 1.0 and r["val_accuracy"] is None
    assert "diverged" in r["error"] or "non-finite" in r["error"]
    assert "state" not in r


def test_trial_with_a_recipe_follows_its_loop_init_and_input_normalisation(data):
    from squeezenp.models.input_normalization import mean_image
    from squeezenp.train.recipes import get_recipe
    recipe = get_recipe("matlab", input_size=32)
    r = run_trial("squeezenet", data, {"lr": 0.01, "momentum": 0.9, "l2": 1e-6}, epochs=2, batch_size=None,
                  recipe=recipe)
    assert r["status"] == "ok" and r["best_epoch"] == 2                    # the last epoch's network
    np.testing.assert_array_equal(r["state"]["input_norm.mean"], mean_image(data["train"][0]))
    assert r["collapse"] == "ok" or r["collapse"].startswith(("collapsed", "one class map dead"))


def test_search_space_of_a_recipe_contains_the_papers_values():
    from squeezenp.search import TuneSettings
    from squeezenp.train.paper import PAPER_RESULTS
    from squeezenp.train.recipes import get_recipe
    settings = TuneSettings(recipe=get_recipe("matlab"))
    for a in (1, 2):
        for k, row in PAPER_RESULTS[a].items():
            assert settings.space_for(k).contains(row), (a, k)
    assert not TuneSettings().space_for(1).contains(PAPER_RESULTS[1][1])   # the earlier per-network range
    assert "recipe" in settings.identity(1) and "recipe" not in TuneSettings().identity(1)
