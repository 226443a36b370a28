"""The values Polsinelli, Cinque and Placidi (2020) report for their Bayesian optimisation (Tables 3 and 4).

Table 3 is the search on data arrangement 1, Table 4 on arrangement 2; each row gives, per network, the best
observed validation accuracy, the accuracy the surrogate estimates at that point, and the chosen learning
rate, momentum and L2. Only the experiment-4 hyperparameters of Table 3 are filled in here (they are also the
defaults of ``TrainConfig``); every other value is ``None`` and prints as "n/a". The article's tables are
transcribed in ``../shared/paper/tables.md``.
"""
from __future__ import annotations

_UNKNOWN = {"observed_accuracy": None, "estimated_accuracy": None, "lr": None, "momentum": None, "l2": None}

# {arrangement: {experiment: row}}
PAPER_RESULTS: dict[int, dict[int, dict]] = {
    1: {1: dict(_UNKNOWN), 2: dict(_UNKNOWN), 3: dict(_UNKNOWN),
        4: {**_UNKNOWN, "lr": 0.007132, "momentum": 0.87589, "l2": 9.532e-07}},
    2: {1: dict(_UNKNOWN), 2: dict(_UNKNOWN), 3: dict(_UNKNOWN), 4: dict(_UNKNOWN)},
}
PAPER_TABLE = {1: "Table 3", 2: "Table 4"}


def paper_row(arrangement: int, experiment: int) -> dict:
    """The paper's row for ``experiment`` on ``arrangement`` (values may be None: unknown)."""
    return dict(PAPER_RESULTS.get(arrangement, {}).get(experiment, _UNKNOWN))


# --- Tables 5-7: what the article's abstract states, nothing else ------------------------------------------------
# Looked up (PMC7532353 abstract, also on its Papers with Code page); the article's Tables 1-7 were not
# retrievable, so every other value is None ("n/a"). Never fill these in without the source at hand.
METRIC_NAMES = ("accuracy", "sensitivity", "specificity", "precision", "f1")

# {arrangement: {experiment: {split: {metric: value}}}}. The abstract gives the proposed CNN's figures without
# naming the split or the arrangement; they are placed under arrangement 1 / test1 by assumption (PAPER_NOTES).
PAPER_METRICS: dict[int, dict[int, dict[str, dict]]] = {
    1: {4: {"test1": {"accuracy": 0.83, "sensitivity": 0.85, "specificity": 0.81, "precision": 0.8173,
                      "f1": 0.8333}}},
    2: {},
}
PAPER_PARAMETERS = {4: 1.26e6}                        # the proposed CNN: 1.26 M parameters (the article's Table 7)
PAPER_TIMES = {4: {"laptop": 7.81, "workstation": 1.25}}   # s per image (abstract), proposed CNN only
PAPER_NOTES = [
    "Table 5 paper values: the abstract reports the proposed CNN at accuracy 83.00%, sensitivity 85.00%, "
    "specificity 81.00%, precision 81.73%, F1 0.8333 without naming the split; shown under arrangement 1, "
    "test1 (an assumption).",
    "The abstract also states 'an accuracy of 85.03% with an improvement of about 3.2% in the first dataset "
    "arrangement and of about 2.1% in the second' (split and baseline not stated).",
    "Table 6 paper values: 7.81 s per image on a medium-end laptop without GPU, 1.25 s on a high-end "
    "workstation (proposed CNN; abstract); 13.41 s for more complex CNNs with pre-processing.",
    "Table 3, experiment 4 (lr 0.007132, momentum 0.87589, L2 9.532e-07) and the proposed CNN's 1.26 M "
    "parameters are taken from the article's Tables 3 and 7; Table 7's paper value is derived (0.85 / 1.26). "
    "Still unknown: "
    "the other rows of Tables 3 and 4, Tables 1 and 2, and the other networks' rows of Tables 5-7 "
    "(not found; shown as n/a).",
]


def paper_metrics(arrangement: int, experiment: int, split: str) -> dict:
    """The paper's Table 5 row (``METRIC_NAMES`` -> value or None)."""
    row = PAPER_METRICS.get(arrangement, {}).get(experiment, {}).get(split, {})
    return {m: row.get(m) for m in METRIC_NAMES}


def paper_splits(arrangement: int, experiment: int) -> list[str]:
    """The splits for which the paper gives Table 5 values."""
    return list(PAPER_METRICS.get(arrangement, {}).get(experiment, {}))


def paper_sensitivity_per_million(arrangement: int, experiment: int, split: str) -> float | None:
    """Table 7, *derived* from the sourced sensitivity and parameter count (None when either is unknown)."""
    sens, params = paper_metrics(arrangement, experiment, split)["sensitivity"], PAPER_PARAMETERS.get(experiment)
    return None if sens is None or params is None else sens / (params / 1e6)
