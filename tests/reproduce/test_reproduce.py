"""squeezenp reproduce end to end on the tiny preset (32-px phantoms, 2 calls, 1 + 1 epochs): every output and
table, the paper columns, resume after interruptions without redoing finished trials or retrainings, refusal of
other options, arrangement 2 with a second source, and the generated section of docs/reproduction.md."""
import dataclasses
import json
import re
from pathlib import Path

import pytest

from squeezenp.app import cli
from squeezenp.data import write_phantom_folder
from squeezenp.models import default_pretrained_path
from squeezenp.app.pipeline import DataOptions
from squeezenp.reproduce import PRESETS, fill_markdown, reproduce, run as run_module
from squeezenp.reproduce.report import BEGIN, END
from squeezenp.search import distributed

pytestmark = pytest.mark.skipif(default_pretrained_path() is None,
                                reason="experiment 3 needs the shared ImageNet weights")
TINY = PRESETS["tiny"]
TABLES = ["Table 1", "Table 3", "Table 5", "time per image", "Table 7", "Figure 4"]
REPO = Path(__file__).resolve().parents[2]


def count_trials(monkeypatch):
    calls = []
    real = distributed.run_trial

    def wrapped(**kw):
        calls.append((kw["model_name"], kw["params"]))
        return real(**kw)
    monkeypatch.setattr(distributed, "run_trial", wrapped)
    return calls


def count_retrains(monkeypatch):
    calls = []
    real = run_module.run_experiment

    def wrapped(name, *a, **kw):
        calls.append(name)
        return real(name, *a, **kw)
    monkeypatch.setattr(run_module, "run_experiment", wrapped)
    return calls


def tables(md: str) -> dict:
    """{heading: header row of the table under it}."""
    out, heading = {}, None
    for line in md.splitlines():
        if line.startswith("#"):
            heading = line
        elif line.startswith("| ") and heading and heading not in out:
            out[heading] = line
    return out


def kill_class_maps(path):
    """Make a saved SqueezeNet's class maps dead: every conv10 pre-activation far below zero."""
    from squeezenp import models
    m = models.load_model(path)
    m.conv10.params["weight"][...] = 0.0
    m.conv10.params["bias"][...] = -1e3
    models.save_model(m, path)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny preset end to end, with network 1's class maps forced dead after its retraining."""
    out = tmp_path_factory.mktemp("run")
    real = run_module.run_experiment

    def then_kill(name, opts, config, folder, *a, **kw):
        res = real(name, opts, config, folder, *a, **kw)
        if name == "squeezenet":
            kill_class_maps(Path(folder) / "model.npz")
        return res
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_module, "run_experiment", then_kill)
        assert cli.main(["reproduce", "--preset", "tiny", "--out", str(out)]) == 0
    return out


def test_a_network_with_dead_class_maps_is_reported_as_collapsed(tiny_run):
    r = json.loads((tiny_run / "arrangement1/retrain/experiment1/retrain.json").read_text())
    assert r["collapse"]["collapsed"] and r["collapse"]["dead_maps"] == [0, 1]
    md = (tiny_run / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| 1 | squeezenet | validation (used for selection) |")]
    assert len(rows) == 2                                            # Tables 5 and 7
    assert "**collapsed**: every class map dead" in rows[0] and "(**collapsed**)" in rows[1]
    collapsed_line = next(line for line in md.splitlines() if line.startswith("**Collapsed**"))
    assert "1 (squeezenet)" in collapsed_line
    trials = json.loads((tiny_run / "arrangement1/search/experiment1/trials.json").read_text())["trials"]
    assert all("collapse" in t for t in trials)                      # every search trial says how it ended


def test_tiny_run_writes_every_stage_and_table(tiny_run):
    a1 = tiny_run / "arrangement1"
    for k in (1, 2, 3, 4):
        assert len(json.loads((a1 / "search" / f"experiment{k}" / "trials.json").read_text())["trials"]) == 2
        r = json.loads((a1 / "retrain" / f"experiment{k}" / "retrain.json").read_text())
        assert {"val", "test1"} <= set(r["metrics"]) and r["identity"]["init"].endswith("best_model.npz")
        assert (a1 / "retrain" / f"experiment{k}" / "checkpoints" / "checkpoint.npz").is_file()
        assert (a1 / "retrain" / f"experiment{k}" / "report.html").is_file()
    timing = json.loads((a1 / "timing.json").read_text())["networks"]
    assert sorted(timing) == ["1", "2", "3", "4"] and all(t["seconds_median"] > 0 for t in timing.values())
    assert (a1 / "cam_grid.png").stat().st_size > 1000
    md = (tiny_run / "report.md").read_text()
    heads = tables(md)
    for t in TABLES[:-1]:
        head = next(v for k, v in heads.items() if t in k)
        assert "(paper)" in head, t                                   # the paper's column beside ours
    assert "| source |" in next(v for k, v in heads.items() if "Table 6" in k)   # paper rows, then ours
    assert "](arrangement1/cam_grid.png)" in md and "Figure 4" in md
    for figure in ("0.8830", "0.8226", "0.074516", "1.6387e-07", "0.8985", "0.007132",   # Table 3
                   "| 191 |", "| 1528 |", "| 118 |", "| 193 |",                             # Table 1
                   "0.8200", "0.8404", "0.5024",                                            # Table 5, CNN-1
                   "7.81", "1.25", "73.1", "86.7", "67.46", "23.9"):                        # timing, Tables 6-7
        assert figure in md, figure
    assert "nan" not in md.lower().replace("noncovid", "")
    t3 = [line for line in md.split("Table 3: Bayesian search")[1].split("#")[0].splitlines()
          if re.match(r"\| [1-4] \|", line)]
    assert len(t3) == 4
    for line in t3:                                          # Table 3: no paper cell unfilled
        cells = [c.strip() for c in line.split("|")][1:-1]
        assert all(cells[i] not in ("n/a", "–") for i in (3, 5, 7, 9, 11)), line
    assert "batch 8 (Matlab 128)" in md and "recipe: `matlab`" in md
    page = (tiny_run / "report.html").read_text(encoding="utf-8")   # the same report, pictures embedded
    assert page.count('<img src="data:image/png;base64,') == md.count("![") > 0
    assert "Figure 4" in page and "</html>" in page
    sessions = json.loads((tiny_run / "sessions.json").read_text())["sessions"]
    assert len(sessions) == 1 and sessions[0]["completed"] and sessions[0]["seconds"] > 0 and sessions[0]["cores"]
    assert "Sessions and machine" in md and "logical cores" in md
    time_rows = [line for line in md.splitlines() if line.startswith("| 4 | proposed | 2 |")]
    cells = [c.strip() for c in time_rows[0].split("|")]
    seconds4 = json.loads((a1 / "retrain" / "experiment4" / "retrain.json").read_text())["seconds"]
    trials4 = json.loads((a1 / "search" / "experiment4" / "trials.json").read_text())["trials"]
    assert len(time_rows) == 1 and cells[5] == f"{seconds4 / 60:.2f}"
    assert cells[4] == f"{sum(t['seconds'] for t in trials4) / 60:.2f}"


def test_rerun_of_a_finished_run_repeats_nothing(tiny_run, monkeypatch):
    trials, retrains = count_trials(monkeypatch), count_retrains(monkeypatch)
    before = (tiny_run / "arrangement1" / "retrain" / "experiment4" / "model.npz").stat().st_mtime_ns
    reproduce(DataOptions(), TINY, tiny_run, log=None)
    assert trials == [] and retrains == []
    assert (tiny_run / "arrangement1" / "retrain" / "experiment4" / "model.npz").stat().st_mtime_ns == before


def test_interrupted_run_resumes_without_redoing_finished_work(tmp_path, monkeypatch):
    trials, retrains = count_trials(monkeypatch), count_retrains(monkeypatch)

    def stop_at(where):
        def hook(stage, a, k):
            if (stage, a, k) == where:
                raise KeyboardInterrupt
        return hook
    with pytest.raises(KeyboardInterrupt):
        reproduce(DataOptions(), TINY, tmp_path, log=None, hook=stop_at(("search", 1, 2)))
    assert len(trials) == 4 and retrains == []                         # experiments 1 and 2 searched
    first = json.loads((tmp_path / "arrangement1/search/experiment1/trials.json").read_text())
    with pytest.raises(KeyboardInterrupt):
        reproduce(DataOptions(), TINY, tmp_path, log=None, hook=stop_at(("retrain", 1, 1)))
    assert [m for m, _ in trials[4:]] == ["squeezenet_bypass_transfer"] * 2 + ["proposed"] * 2
    assert retrains == ["squeezenet"]
    report = reproduce(DataOptions(), TINY, tmp_path, log=None)
    assert len(trials) == 8                                            # no trial ran twice
    assert retrains == ["squeezenet", "squeezenet_bypass", "squeezenet_bypass_transfer", "proposed"]
    assert json.loads((tmp_path / "arrangement1/search/experiment1/trials.json").read_text()) == first
    assert "Table 7" in report.read_text()
    sessions = json.loads((tmp_path / "sessions.json").read_text())["sessions"]
    assert [x["completed"] for x in sessions] == [False, False, True]   # interrupted sessions are counted too


def test_other_options_are_refused(tmp_path):
    run_module.check_identity(tmp_path, {"preset": TINY.as_dict(), "data": {}, "arrangements": [1]})
    other = dataclasses.replace(TINY, calls=3)
    with pytest.raises(ValueError, match="preset"):
        reproduce(DataOptions(), other, tmp_path, log=None)


def test_second_source_runs_arrangement_2(tmp_path):
    extra = tmp_path / "extra"
    write_phantom_folder(extra, 10, 40, seed=5)
    out = tmp_path / "run"
    reproduce(DataOptions(), TINY, out, second_source=extra / "train" / "COVID", log=None)
    md = (out / "report.md").read_text()
    for t in ("Table 2", "Table 4", "Figure 5", "Test-2 (second source)"):
        assert t in md
    r = json.loads((out / "arrangement1/retrain/experiment4/retrain.json").read_text())
    assert "test2" in r["metrics"] and (out / "arrangement2" / "cam_grid.png").is_file()


def test_fill_markdown_replaces_only_the_generated_section(tiny_run, tmp_path):
    doc = tmp_path / "docs" / "reproduction.md"
    doc.parent.mkdir()
    doc.write_text(f"# Title\n\nkept\n\n{BEGIN}\nold placeholder\n{END}\n\ntail kept\n")
    fill_markdown(doc, tiny_run)
    text = doc.read_text()
    assert text.startswith("# Title\n\nkept\n") and text.endswith(f"{END}\n\ntail kept\n")
    assert "old placeholder" not in text and "#### Table 5" in text
    link = re.search(r"\]\(([^)]*cam_grid\.png)\)", text).group(1)
    assert link == "images/reproduction/arrangement1_cam_grid.png"      # a copy beside the doc, not the run folder
    assert (doc.parent / link).read_bytes() == (tiny_run / "arrangement1" / "cam_grid.png").read_bytes()
    for k in (1, 4):
        assert f"](images/reproduction/arrangement1_experiment{k}_training_curves.png)" in text
        assert (doc.parent / "images" / "reproduction" / f"arrangement1_experiment{k}_training_curves.png").is_file()


def test_docs_have_a_generated_section_and_the_presets():
    text = (REPO / "docs" / "reproduction.md").read_text()
    assert BEGIN in text and END in text
    q = PRESETS["quick"]
    assert f"{q.calls} calls" in text and f"{q.input_size}x{q.input_size}" in text


def test_reports_show_no_absolute_paths(tmp_path, monkeypatch):
    from squeezenp.reproduce.report import shown_path
    monkeypatch.setenv("SQUEEZENP_SHARED", str(tmp_path / "shared"))
    (tmp_path / "shared" / "data" / "covid-ct").mkdir(parents=True)
    assert shown_path(tmp_path / "shared" / "data" / "covid-ct") == "../shared/data/covid-ct"
    assert shown_path(tmp_path / "elsewhere" / "scans" / "ct") == ".../scans/ct"
    assert shown_path("runs/data") == "runs/data"
