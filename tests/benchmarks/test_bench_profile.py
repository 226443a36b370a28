"""``benchmarks/bench_profile.py`` at the smallest size in a fresh process: every part it names is a layer or a
fused step that really ran, in inference and in training, and the parts add up to no more than the whole."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


# 35 px: the proposed CNN's skip path needs no crop there, so its fused head runs (as at 227)
@pytest.mark.parametrize("network,training", [("squeezenet_bypass", False), ("proposed", True)])
def test_profile_names_the_parts_that_ran(network, training):
    args = [sys.executable, str(REPO / "benchmarks" / "bench_profile.py"), "--network", network, "--batch", "2",
            "--size", "35", "--repeats", "1"] + (["--training"] if training else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO, check=True).stdout
    total = float(re.search(r"([\d.]+) ms of CPU per image", out).group(1))
    parts = dict(re.findall(r"^  (.+?)\s+(-?[\d.]+) ms", out, re.M))
    assert total > 0
    assert "fire2 forward" in parts
    if training:
        assert {"fire2 backward", "upconv_fuse_forward (fused)", "upconv_fuse_backward (fused)"} <= set(parts)
    else:
        assert "fused_conv1_pool1 (fused)" in parts and "pool1 forward" not in parts   # the fused step ran
    assert float(parts.pop("(outside the parts above)")) >= -0.01 * total
