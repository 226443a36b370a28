"""The search end to end on a tiny preset: output files, failed trials, resume after an interruption
(a hook raising KeyboardInterrupt, and a killed subprocess), refusal of other settings, the process pool
with one thread per worker, and a loopback Dask cluster."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from squeezenp import models
from squeezenp.search import distributed, tune
from squeezenp.search import SearchSpace
from squeezenp.search.tune import surrogate_accuracy

FIELDS = {"trial", "lr", "momentum", "l2", "val_accuracy", "val_loss", "score", "best_epoch", "seconds", "status"}


def count_calls(monkeypatch, diverge_on=()):
    """Wrap the trial function the runners call; trials numbered in ``diverge_on`` get an absurd lr."""
    calls = []
    real = distributed.run_trial

    def wrapped(**kw):
        calls.append(kw["params"])
        if len(calls) in diverge_on:
            kw = {**kw, "params": {**kw["params"], "lr": 1e12}}
        return real(**kw)
    monkeypatch.setattr(distributed, "run_trial", wrapped)
    return calls


def read_trials(folder):
    return json.loads((folder / "trials.json").read_text())["trials"]


def test_tiny_search_writes_every_output(tmp_path, tiny_data, monkeypatch, capsys, tiny_settings):
    count_calls(monkeypatch, diverge_on=(2,))
    out = tune([4], tiny_data, tiny_settings(), tmp_path)
    s, folder = out[4], tmp_path / "experiment4"
    trials = read_trials(folder)
    assert [t["trial"] for t in trials] == [1, 2, 3, 4]
    assert trials[1]["status"] == "failed" and trials[1]["score"] == 1.0           # the search went on
    assert all(t["status"] == "ok" for t in trials if t["trial"] != 2)
    with open(folder / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and FIELDS <= set(rows[0])
    best = min((t for t in trials if t["status"] == "ok"), key=lambda t: (t["score"], t["val_loss"], t["trial"]))
    assert s["best_trial"] == best["trial"] and s["observed_accuracy"] == best["val_accuracy"]
    assert (s["lr"], s["momentum"], s["l2"]) == (best["lr"], best["momentum"], best["l2"])
    assert s["failed"] == 1 and s["trials"] == 4 and 0 <= s["estimated_accuracy"] <= 1.5
    assert s["paper"]["lr"] == 0.007132
    assert json.loads((folder / "summary.json").read_text())["best_trial"] == best["trial"]
    md = (folder / "summary.md").read_text()
    assert "observed best accuracy" in md and "estimated accuracy" in md and "paper Table 3" in md
    assert "--init" in md and "squeezenp train --recipe paper --model proposed" in md
    assert (folder / "search_progress.png").is_file()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Best trial per experiment" in page and page.count('<img src="data:image/png;base64,') == 1
    assert "squeezenp train --recipe paper --model proposed" in page
    m = models.load_model(folder / "best_model.npz")
    assert m.config["name"] == "proposed" and m.config["search_trial"] == best["trial"]
    printed = capsys.readouterr().out
    assert "trial 4/4" in printed and "ETA" in printed and "best " in printed and "FAILED" in printed


def test_interrupted_search_resumes_without_repeating_trials(tmp_path, tiny_data, monkeypatch, tiny_settings):
    calls = count_calls(monkeypatch)

    def stop_after_two(k, trial):
        if trial["trial"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        tune([4], tiny_data, tiny_settings(), tmp_path, log=None, on_trial=stop_after_two)
    first = read_trials(tmp_path / "experiment4")
    assert len(first) == 2 and len(calls) == 2

    out = tune([4], tiny_data, tiny_settings(), tmp_path, log=None)
    trials = read_trials(tmp_path / "experiment4")
    assert len(calls) == 4 and [t["trial"] for t in trials] == [1, 2, 3, 4]
    assert trials[:2] == first                                   # trials 1..2 kept, not re-run
    assert [c for c in calls[2:] if c in [calls[0], calls[1]]] == []
    assert out[4]["trials"] == 4

    # a finished search re-run does no trial, and growing --calls continues it
    tune([4], tiny_data, tiny_settings(), tmp_path, log=None)
    assert len(calls) == 4
    tune([4], tiny_data, tiny_settings(calls=5), tmp_path, log=None)
    assert len(calls) == 5 and len(read_trials(tmp_path / "experiment4")) == 5


def test_resume_with_other_settings_is_refused(tmp_path, tiny_data, tiny_settings):
    tune([4], tiny_data, tiny_settings(calls=1), tmp_path, log=None)
    with pytest.raises(ValueError, match="other options.*epochs: 2 -> 3"):
        tune([4], tiny_data, tiny_settings(calls=2, epochs=3), tmp_path, log=None)


def test_killed_cli_run_resumes(tmp_path, phantom_dir):
    cmd = [sys.executable, "-m", "squeezenp", "tune", "--experiment", "2", "--calls", "3", "--initial-points", "2",
           "--epochs", "1", "--batch-size", "8", "--input-size", "32", "--limit", "6", "--phantoms", "12",
           "--phantom-size", "48", "--no-augment", "--out", str(tmp_path)]
    trials_json = tmp_path / "experiment2" / "trials.json"
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not trials_json.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
    finally:
        os.kill(p.pid, signal.SIGKILL)                       # like a power loss: no cleanup at all
        p.wait()
    first = read_trials(tmp_path / "experiment2")
    assert 1 <= len(first) <= 3
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    trials = read_trials(tmp_path / "experiment2")
    assert len(trials) == 3 and trials[:len(first)] == first
    if len(first) < 3:
        assert f"resuming after {len(first)} completed trial(s)" in r.stdout
        assert f"trial {len(first)}/3:" not in r.stdout


def test_process_pool_runs_two_single_threaded_trials_at_once(tmp_path, tiny_data, tiny_settings):
    data = {"train": ([0.0], [0]), "val": ([0.0], [0])}
    import numpy as np
    data = {k: (np.zeros((2, 3, 4, 4), np.float32), np.zeros(2, np.int64)) for k in data}
    runner = distributed.PoolRunner(data, workers=2, threads=1, folder=tmp_path / "prep")
    try:
        info = runner.worker_threads()
    finally:
        runner.close()
    assert info["numba"] == 1 and all(n == 1 for n in info["blas"])
    assert not (tmp_path / "prep").exists()

    out = tune([1], tiny_data, tiny_settings(jobs=2, threads_per_trial=1), tmp_path / "search", log=None)
    assert out[1]["trials"] == 4 and len(read_trials(tmp_path / "search" / "experiment1")) == 4


def test_dask_local_cluster_runs_the_search(tmp_path, tiny_data, tiny_settings):
    distributed_ = pytest.importorskip("distributed")
    with distributed_.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        out = tune([4], tiny_data, tiny_settings(calls=3, scheduler=cluster.scheduler_address, threads_per_trial=1),
                   tmp_path, log=None)
    trials = read_trials(tmp_path / "experiment4")
    assert len(trials) == 3 and out[4]["best_trial"] is not None
    assert (tmp_path / "experiment4" / "best_model.npz").exists()


def test_surrogate_accuracy_is_one_minus_the_last_gp_mean(tiny_settings):
    from squeezenp.search import make_optimizer
    opt = make_optimizer(tiny_settings(calls=3), 4)
    pts = [[1e-3, 0.9, 1e-6], [1e-2, 0.6, 1e-4], [5e-2, 0.8, 1e-8]]
    opt.tell(pts, [0.2, 0.4, 0.3])
    p = {"lr": 1e-3, "momentum": 0.9, "l2": 1e-6}
    est = surrogate_accuracy(opt, p)
    assert est == pytest.approx(1 - opt.models[-1].predict(opt.space.transform([pts[0]]))[0])
    assert 0.6 < est < 0.85                                  # near the observed 0.8, the GP smooths (noise term)


def test_cli_options_and_defaults():
    from squeezenp.app.cli import build_parser
    a = build_parser().parse_args(["tune"])
    assert (a.calls, a.epochs, a.experiment, a.arrangement, a.jobs, a.threads_per_trial, a.scheduler) == \
        (30, 20, "4", 1, 1, None, None)
    assert a.lr_bounds is None and a.momentum_bounds is None and a.l2_bounds is None   # per-experiment defaults
    a = build_parser().parse_args(["tune", "--experiment", "all", "--jobs", "2", "--threads-per-trial", "1",
                                   "--scheduler", "tcp://127.0.0.1:8786", "--lr-bounds", "1e-3,1e-2",
                                   "--arrangement", "2", "--out", "x"])
    assert a.experiment == "all" and a.jobs == 2 and a.lr_bounds == (1e-3, 1e-2) and a.arrangement == 2


def test_each_experiment_searches_its_own_default_space_and_given_bounds_replace_it(tiny_settings):
    from squeezenp.search.space import LR_BOUNDS, default_space
    s = tiny_settings(calls=3)
    s.space = None
    for k in (1, 2, 3, 4):
        assert s.space_for(k) == default_space(k) and s.space_for(k).lr == LR_BOUNDS[k]
        assert s.identity(k)["space"]["lr"] == list(LR_BOUNDS[k])
    s.space = {"momentum": (0.6, 0.9)}
    assert s.space_for(2).lr == LR_BOUNDS[2] and s.space_for(2).momentum == (0.6, 0.9)
    s.space = SearchSpace(lr=(1e-3, 1e-2))
    assert s.space_for(1).lr == s.space_for(4).lr == (1e-3, 1e-2)
