"""examples/matlab_defaults.py on a few synthetic phantoms: runs are saved, resumed, and tabled."""
import json
import runpy
from pathlib import Path

import pytest

from squeezenp.data.phantoms import write_phantom_folder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "matlab_defaults.py"


def test_runs_are_saved_and_the_table_lists_each_variant(tmp_path, capsys):
    write_phantom_folder(tmp_path / "ct", 6, 40, seed=3)
    ns = runpy.run_path(str(EXAMPLE))
    args = ["--data", str(tmp_path / "ct"), "--out", str(tmp_path / "runs"), "--networks", "squeezenet",
            "--variants", "paper,glorot,matlab+conv10+stratified", "--seeds", "0", "--size", "32", "--epochs", "1"]
    assert ns["main"](args) == 0
    runs = sorted((tmp_path / "runs").glob("*.json"))
    assert len(runs) == 3
    r = json.loads((tmp_path / "runs" / "squeezenet_matlab+conv10+stratified_s32_e1_seed0.json").read_text())
    assert r["config"]["stratified_batches"] and r["config"]["batch_size"] == 128 and r["config"]["lr"] == 0.074516
    assert set(r["collapse"]) >= {"status", "alive_fraction", "collapsed"}
    table = capsys.readouterr().out
    for v in ("| paper |", "| glorot |", "| matlab+conv10+stratified |"):
        assert v in table
    mtime = runs[0].stat().st_mtime_ns
    assert ns["main"](args) == 0 and runs[0].stat().st_mtime_ns == mtime        # saved runs are not repeated
    with pytest.raises(ValueError, match="unknown variant"):
        ns["variant"]("glorot+warmup", "squeezenet", 32, 1)
