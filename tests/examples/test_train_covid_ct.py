"""The real-data example's code path, for one epoch on a handful of the real COVID-CT images."""
import json
import runpy
from pathlib import Path

import pytest

from squeezenp.data import covid_ct_dir

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_covid_ct.py"


def test_one_epoch_on_a_few_real_images(tmp_path):
    data = covid_ct_dir()
    if data is None:
        pytest.skip("shared/data/covid-ct not found: set SQUEEZENP_SHARED or put shared/ beside the repo")
    main = runpy.run_path(str(EXAMPLE))["main"]
    out = tmp_path / "run"
    assert main(["--data", str(data), "--out", str(out), "--epochs", "1", "--input-size", "64", "--limit", "6"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["counts"]["train_distinct"] == {"COVID": 6, "NonCOVID": 6, "total": 12}
    assert report["counts"]["train"]["total"] == 48
    assert report["metrics"]["val"]["n"] == 12
    assert report["config"]["lr"] == 0.007132 and report["config"]["momentum"] == 0.87589
