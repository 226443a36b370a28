"""Presets of ``squeezenp reproduce``: the paper's protocol, a 2-hour reduction of it, and a test-sized one.

``paper`` is the protocol of Polsinelli et al. (2020): 30 Bayesian-optimisation calls of 20 epochs per network,
then 20 more epochs for each winner from the best trial's weights, at 227x227, learning rate x0.8 every 5 epochs.

``quick`` keeps every stage and every network but reduces, and says so in the report:

    input 227 -> 128 px, calls 30 -> 12 (6 random first), search epochs 20 -> 6, retrain epochs 20 -> 10

Estimate (2 cores, ``--jobs 2``, one thread per trial): ``benchmarks/bench_trial.py --size 128 --steps 1
--threads 1`` measured one training step (batch 32) at 0.38 s (squeezenet, squeezenet_bypass), 0.48 s
(transfer), 0.66 s (proposed), i.e. one epoch of 48 steps + 4 validation batches costs 19 + 19 + 24 + 33 = 95 s
for the four networks together (at 227 px the same steps cost about (227/128)^2 = 3.1x more). So

    search   ceil(12 / 2) rounds x 6 epochs x 95 s  = 57 min    (two trials at a time)
    retrain  10 epochs x 95 s                       = 16 min    (one network at a time, one thread)
    data, evaluation, timing, CAM                   ~ 3 min
                                                    = 76 min, x1.5 for a busy machine ~ 1 h 55 min

``tiny`` runs the whole pipeline on 32-px phantoms in well under a minute per stage (tests only).

Every preset trains with a recipe (``squeezenp/train/recipes.py``): ``paper`` and ``tiny`` with ``matlab``, the
paper's loop with Matlab 2020a's defaults where the paper is silent (mini-batch 128, one shuffle, Glorot
initialisation, zerocenter input, the last epoch's network); ``quick`` with ``matlab_alive``, the same plus the
three changes that keep networks 1 and 2 from collapsing (conv10's start, stratified batches, gradient clipping). ``squeezenp reproduce --recipe paper`` runs squeezenp's earlier loop instead
(batch 32, reshuffled every epoch, He initialisation, the best validation epoch). ``batch_size`` None means the
recipe's.
Tests: ``tests/reproduce/``. Protocol and commands: ``docs/reproduction.md``.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Preset:
    """How much of the protocol to run. ``limit``: at most that many images per class per split (None = all)."""
    name: str
    calls: int
    n_initial_points: int
    search_epochs: int
    retrain_epochs: int
    input_size: int
    recipe: str = "matlab"              # the training recipe (train.recipes.RECIPES)
    batch_size: int | None = None       # None: the recipe's (matlab: 128)
    lr_drop_factor: float = 0.8
    lr_drop_period: int = 5
    limit: int | None = None
    augment: bool = True
    cam_images: int = 4                 # validation COVID images in the CAM grid (Figures 4/5)
    timing_repeats: int = 5             # classifications per network for the timing (after one warm-up)
    phantoms_per_class: int = 150       # used only without --data
    phantom_size: int = 96
    description: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS = {
    "paper": Preset("paper", calls=30, n_initial_points=10, search_epochs=20, retrain_epochs=20, input_size=227,
                    description="the paper's protocol: 30 calls x 20 epochs per network, 20 more epochs for "
                                "the winners, 227x227"),
    "quick": Preset("quick", calls=12, n_initial_points=6, search_epochs=6, retrain_epochs=10, input_size=128,
                    recipe="matlab_alive",
                    description="reduced to about 2 h on 2 cores: 128x128 input (not 227), 12 calls (not 30, "
                                "6 random first), 6 search epochs (not 20), 10 retraining epochs (not 20); recipe "
                                "matlab_alive (Matlab's defaults plus conv10's start, stratified batches and "
                                "gradient clipping, which keep networks 1 and 2 from collapsing)"),
    "tiny": Preset("tiny", calls=2, n_initial_points=2, search_epochs=1, retrain_epochs=1, input_size=32,
                   batch_size=8, limit=4, cam_images=2, timing_repeats=2, phantoms_per_class=12, phantom_size=40,
                   description="test preset: 32-px phantoms, 4 images per class per split, 2 calls, 1 + 1 "
                               "epochs; numbers mean nothing"),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {list(PRESETS)}")
    return PRESETS[name]
