"""Which algorithm a stride-1, pad-1 3x3 convolution runs: im2col + GEMM or Winograd F(2x2, 3x3).

The fast ``conv2d_forward`` (``conv2d.py``) asks :func:`choose` at every call of such a convolution; every other
convolution runs im2col (or no im2col at all for 1x1). The textbook functions and ``ops.reference_backend()``
never consult it: they always run im2col.

Winograd (``winograd.py``) does 2.25x fewer multiply-adds but adds three transforms and more memory traffic, so
which one is faster depends on the shape. The choice is made from measurement: ``conv3x3_table.json`` beside this
file holds per-shape timings of both (forward for inference, forward + backward for training; batch 1 and a
batch), written by ``python benchmarks/bench_winograd.py --write-table``, and per shape and batch class the faster
algorithm (by the sum of both modes for batches; by inference alone at batch 1, where latency is what counts,
timed where a one-image forward runs: the whole batch-1 trunk plan, ``models/plan.py``). A shape missing from the
table falls back to :func:`fallback`. The choice does not depend on training vs
evaluation, so a training-mode forward gives exactly the evaluation-mode numbers.

Forcing one algorithm (for a benchmark, a comparison or a bug hunt):

- per layer: ``Conv2d(..., algorithm="im2col" | "winograd" | "auto")``, passed on to the fast ``conv2d_forward``
  as its speed-only keyword ``algorithm``;
- per process: the environment variable ``SQUEEZENP_CONV3X3=im2col|winograd|auto``, read at each call (a test can
  set it with ``monkeypatch``); an ``algorithm`` other than "auto" wins over it.
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

ALGORITHMS = ("auto", "im2col", "winograd")
ENV = "SQUEEZENP_CONV3X3"
TABLE = Path(__file__).with_name("conv3x3_table.json")
MIN_BATCH_PIXELS = 15 * 15   # fallback: batches of maps smaller than this ran no faster with Winograd


def check_algorithm(name, where="Conv2d") -> str:
    """``name`` if it is one of :data:`ALGORITHMS` (None means "auto"), else a ``ValueError`` naming ``where``."""
    name = "auto" if name is None else str(name)
    if name not in ALGORITHMS:
        raise ValueError(f"{where}: algorithm must be one of {ALGORITHMS}, got {name!r}")
    return name


def batch_class(N: int) -> str:
    return "1" if N == 1 else "many"


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    try:
        entries = json.loads(TABLE.read_text())["entries"]
    except (OSError, ValueError, KeyError):
        return {}
    return {(e["C"], e["K"], e["H"], e["W"], e["batch"]): e["choice"] for e in entries}


def measured_choice(C, K, H, W, N):
    """The table's winner for this shape and batch class, or None when the shape was not measured."""
    return _table().get((C, K, H, W, batch_class(N)))


def fallback(C, K, H, W, N) -> str:
    """Unmeasured shapes: Winograd, except for batches of small maps (at 7x7 the 16 GEMMs per image are too thin
    to pay for the transforms: a tie with im2col in the measured table)."""
    return "winograd" if N == 1 or H * W >= MIN_BATCH_PIXELS else "im2col"


def choose(C, K, H, W, N, algorithm="auto") -> str:
    """The algorithm for one call: ``algorithm`` if not "auto", else ``SQUEEZENP_CONV3X3`` if not "auto", else the
    measured table, else the fallback."""
    forced = check_algorithm(algorithm)
    if forced == "auto":
        forced = check_algorithm(os.environ.get(ENV) or "auto", ENV)
    if forced != "auto":
        return forced
    return measured_choice(C, K, H, W, N) or fallback(C, K, H, W, N)
