"""The README's sample output of ``squeezenp demo`` is what a fresh demo prints (run times aside).

A full demo at the README's seed (about 1 min on 2 idle cores). If this fails after a change that moves the
numbers (a kernel's summation order, the phantoms, the trainer), regenerate the sample with
``python examples/readme_demo.py`` and read the new numbers before committing them.
"""
import runpy
from pathlib import Path

EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "readme_demo.py"))


def test_readme_sample_output_matches_a_fresh_demo_run():
    readme = EXAMPLE["README"].read_text(encoding="utf-8")
    expected = EXAMPLE["readme_block"](readme)
    assert "test1" in expected and "report.html" in expected            # the block is the demo's output
    diff = EXAMPLE["same_run"](expected, EXAMPLE["run_demo"]())
    assert not diff, "README.md's demo output is stale; regenerate: python examples/readme_demo.py\n" + \
        "\n".join(diff)


def test_the_comparison_masks_only_run_times():
    same_run = EXAMPLE["same_run"]
    a = "epoch 1/10 lr 0.01 train loss 0.6838 acc 0.547 | 5.6s\nselected epoch 7 of 10 (54s)\n"
    assert same_run(a, a.replace("5.6s", "13.8s").replace("54s", "120s")) == []
    assert same_run(a, a.replace("0.6838", "0.6839")) != []                # any other number must be equal
    assert same_run(a, a.replace("epoch 7", "epoch 8")) != []
