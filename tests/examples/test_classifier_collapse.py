"""examples/classifier_collapse.py on a few synthetic phantoms: the figures it prints are consistent."""
import re
import runpy
from pathlib import Path

from squeezenp.data.phantoms import write_phantom_folder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "classifier_collapse.py"


def test_prints_the_stability_bound_and_the_class_maps(tmp_path, capsys):
    write_phantom_folder(tmp_path / "ct", 8, 40, seed=3)
    main = runpy.run_path(str(EXAMPLE))["main"]
    assert main(["--data", str(tmp_path / "ct"), "--input-size", "32", "--probe-images", "16", "--steps", "1",
                 "--momentum", "0.8"]) == 0
    out = capsys.readouterr().out
    bounds = re.findall(r"lambda ([0-9.e+]+), sgdm stable for lr < ([0-9.e+-]+) \(momentum 0.8\)", out)
    assert len(bounds) == 4                                    # two networks, before and after the step
    for lam, lr_max in bounds:                                 # lr_max = 2 (1 + beta) / (0.5 lambda)
        assert abs(float(lr_max) - 2 * 1.8 / (0.5 * float(lam))) < 0.01 * float(lr_max)
    assert out.count("map before ReLU") == 4 and out.count("map before GAP") == 4
    assert "after 1 steps at lr 0.001: training loss" in out
