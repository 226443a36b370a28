"""Every figure Polsinelli, Cinque and Placidi (2020) report, as data, each with the table it came from.

Source: the article's Tables 1-7 and the timing text of its section 3.3, as copied into
``../shared/paper/tables.md``. ``None`` means the paper gives no value there (the report prints "–"), never a
value we could not find. Experiments are the paper's numbering (``search.space.EXPERIMENTS``): 1 SqueezeNet,
2 SqueezeNet with simple bypass, 3 network 2 from ImageNet weights, 4 the proposed CNN.

    PAPER_COUNTS[arrangement][split]                     Tables 1 and 2: images per class
    PAPER_RESULTS[arrangement][experiment]               Tables 3 and 4: the Bayesian search's best point
    PAPER_METRICS[arrangement][experiment][split]        Table 5: the proposed CNN on Test-1 (and Test-2)
    PAPER_COMPARISON                                     Table 6: the proposed CNN beside earlier work
    PAPER_EFFICIENCY                                     Table 7: sensitivity (%) per million parameters
    PAPER_TIMES, PAPER_TIMES_OTHER                       section 3.3: seconds per CT image
    PAPER_PROTOCOL                                       what the text states about the search and training
"""
from __future__ import annotations

# the paper's experiment numbers and the networks they train (search.space.EXPERIMENTS)
NETWORKS = {1: "squeezenet", 2: "squeezenet_bypass", 3: "squeezenet_bypass_transfer", 4: "proposed"}

SOURCE = "Polsinelli, Cinque and Placidi (2020), Pattern Recognition Letters 140:95-100 (../shared/paper/tables.md)"
TABLES = {"counts": {1: "Table 1", 2: "Table 2"}, "search": {1: "Table 3", 2: "Table 4"}, "metrics": "Table 5",
          "comparison": "Table 6", "efficiency": "Table 7", "times": "section 3.3"}
PAPER_TABLE = TABLES["search"]          # arrangement -> the search table (kept for the search summaries)


def _c(covid: int, non: int) -> dict:
    return {"COVID": covid, "NonCOVID": non, "total": covid + non}


# --- Tables 1 and 2: the data arrangements (train is x4 augmented; "train_distinct" before the augmentation) ---
PAPER_COUNTS: dict[int, dict[str, dict]] = {
    1: {"train_distinct": _c(191, 191), "train": _c(4 * 191, 4 * 191), "val": _c(60, 58), "test1": _c(98, 95),
        "test2": _c(100, 95)},
    2: {"train_distinct": _c(251, 191), "train": _c(4 * 251, 4 * 191), "val": _c(80, 58), "test1": _c(108, 95)},
}

# --- Tables 3 and 4: the Bayesian search (30 calls x 20 epochs; accuracy on validation) ---------------------
_ROW = ("observed_accuracy", "estimated_accuracy", "lr", "momentum", "l2")
PAPER_RESULTS: dict[int, dict[int, dict]] = {
    1: {1: dict(zip(_ROW, (0.8830, 0.8226, 0.074516, 0.58486, 1.6387e-07)), table="Table 3"),
        2: dict(zip(_ROW, (0.8576, 0.8242, 0.011358, 0.97926, 3.684e-08)), table="Table 3"),
        3: dict(zip(_ROW, (0.8576, 0.8058, 0.00070093, 0.96348, 1.0172e-12)), table="Table 3"),
        4: dict(zip(_ROW, (0.8985, 0.8727, 0.007132, 0.87589, 0.9532e-06)), table="Table 3")},
    2: {1: dict(zip(_ROW, (0.8684, 0.8211, 0.00010091, 0.70963, 2.2153e-11)), table="Table 4"),
        2: dict(zip(_ROW, (0.8536, 0.8153, 0.086175, 0.59589, 7.5468e-09)), table="Table 4"),
        3: dict(zip(_ROW, (0.8444, 0.8022, 0.0016053, 0.86453, 1.0048e-10)), table="Table 4"),
        4: dict(zip(_ROW, (0.8756, 0.8587, 0.089642, 0.84559, 0.5895e-07)), table="Table 4")},
}
_UNKNOWN = {k: None for k in _ROW}

# --- Table 5: the proposed CNN after 20 more epochs (x0.8 every 5), on each arrangement's Test-1 ------------
METRIC_NAMES = ("accuracy", "sensitivity", "specificity", "precision", "f1")
PAPER_METRICS: dict[int, dict[int, dict[str, dict]]] = {
    1: {4: {"test1": dict(zip(METRIC_NAMES, (0.8200, 0.7900, 0.8500, 0.8404, 0.8144))),
            # Test-2: the text gives three figures only (specificity and F1 are not reported)
            "test2": {"accuracy": 0.5024, "sensitivity": 0.19, "specificity": None, "precision": 0.80,
                      "f1": None}}},
    2: {4: {"test1": dict(zip(METRIC_NAMES, (0.8300, 0.8500, 0.8100, 0.8173, 0.8333)))}},
}

# --- Table 6: comparison with earlier work (percentages as printed; the proposed CNN is CNN-2) --------------
PAPER_COMPARISON = [
    {"work": "Wang et al.", "preprocessing": "no", "accuracy": 73.1, "sensitivity": 67, "specificity": 76,
     "precision": 61, "f1": 0.63},
    {"work": "Xu et al.", "preprocessing": "yes", "accuracy": None, "sensitivity": 86.7, "specificity": None,
     "precision": 81.3, "f1": 0.839},
    {"work": "Li et al.", "preprocessing": "yes", "accuracy": None, "sensitivity": 90, "specificity": 96,
     "precision": None, "f1": None},
    {"work": "proposed CNN (CNN-2)", "preprocessing": "no", "accuracy": 83.00, "sensitivity": 85.00,
     "specificity": 81.00, "precision": 81.73, "f1": 83.33},   # the paper prints its F1 as a percentage here
]

# --- Table 7: efficiency = sensitivity (%) / parameters (millions) -------------------------------------------
PAPER_EFFICIENCY = [
    {"work": "Wang et al.", "sensitivity": 67, "parameters_m": 23.9, "ratio": 2.8},
    {"work": "Xu et al.", "sensitivity": 86.7, "parameters_m": 11.7, "ratio": 7.41},
    {"work": "Li et al.", "sensitivity": 90, "parameters_m": 25.6, "ratio": 3.52},
    {"work": "proposed CNN", "sensitivity": 85, "parameters_m": 1.26, "ratio": 67.46},
]
PAPER_PARAMETERS = {4: 1.26e6}                       # Table 7; the other networks' counts are not reported

# --- Section 3.3: seconds per CT image, the proposed CNN -----------------------------------------------------
PAPER_TIMES = {4: {"workstation": 1.25, "laptop": 7.81}}
PAPER_TIMES_OTHER = {
    "workstation": "Intel Core i7, 32 GB, GTX 1080, Matlab 2020a, GPU on",
    "laptop": "Intel Core i5, 8 GB, no GPU; about 4300 images in about 9.32 h",
    "Li et al.": "4.51 s per image on a similar workstation (Xeon E5-1620, Quadro M4000)",
}

# --- What the text states about the protocol (the report compares ours with it) --------------------------------
PAPER_PROTOCOL = {"input_size": 227, "calls": 30, "search_epochs": 20, "retrain_epochs": 20,
                  "lr_drop_factor": 0.8, "lr_drop_period": 5, "batch_size": 128, "select": "last",
                  "table5_split": "test1"}
PAPER_PROTOCOL_SOURCE = {"batch_size": "Matlab default MiniBatchSize (the paper states none)",
                         "select": "Matlab R2020a returns the last iteration's network (the paper states none)"}

PAPER_NOTES = [
    "Tables 3 and 4: observed accuracy is the best search call's validation accuracy; the GP-estimated accuracy "
    "is bayesopt's model at that point.",
    "Table 5: the paper evaluates only the proposed CNN on the test splits (CNN-1 = arrangement 1, CNN-2 = "
    "arrangement 2); for networks 1-3 its only figure is Table 3's validation accuracy, shown in the val rows "
    "(marked 'T3').",
    "Table 5, CNN-1 on Test-2: the text gives accuracy 0.5024, sensitivity 0.19, precision 0.80 only; these three "
    "do not fit one confusion matrix of 100 COVID + 95 non-COVID images (0.19 and 0.80 imply about 19 TP and "
    "5 FP, hence accuracy about 0.56); both are as printed.",
    "Table 6 prints the proposed CNN's F1 as 83.33 (a percentage), Table 5 as 0.8333.",
    "Timing (section 3.3): 1.25 s per image on the GPU workstation, 7.81 s on a laptop without GPU, proposed CNN "
    "at 227 px in Matlab; 4.51 s for Li et al.; the abstract also quotes 13.41 s for more complex CNNs with "
    "pre-processing.",
    "Batch size and the returned network are not stated in the paper: Matlab 2020a's defaults (MiniBatchSize 128, "
    "the last iteration's network) are assumed.",
]


def paper_row(arrangement: int, experiment: int) -> dict:
    """The paper's search row (Table 3 or 4) for ``experiment`` on ``arrangement``; values None if unknown."""
    row = PAPER_RESULTS.get(arrangement, {}).get(experiment)
    return {k: row[k] for k in _ROW} if row else dict(_UNKNOWN)


def paper_counts(arrangement: int, split: str) -> dict | None:
    """Table 1/2 counts ``{COVID, NonCOVID, total}`` of ``split`` (None when the table has no such split)."""
    return PAPER_COUNTS.get(arrangement, {}).get(split)


def paper_metrics(arrangement: int, experiment: int, split: str) -> dict:
    """The paper's Table 5 row (``METRIC_NAMES`` -> value or None)."""
    row = PAPER_METRICS.get(arrangement, {}).get(experiment, {}).get(split, {})
    return {m: row.get(m) for m in METRIC_NAMES}


def paper_splits(arrangement: int, experiment: int) -> list[str]:
    """The splits for which the paper gives Table 5 values."""
    return list(PAPER_METRICS.get(arrangement, {}).get(experiment, {}))


def paper_sensitivity_per_million(arrangement: int, experiment: int, split: str) -> float | None:
    """Table 7's ratio, sensitivity in % per million parameters, where the paper gives it (the proposed CNN on
    the split whose sensitivity Table 7 uses: CNN-2's Test-1, 85 %); None elsewhere."""
    if experiment == 4 and (arrangement, split) == (2, "test1"):
        return PAPER_EFFICIENCY[-1]["ratio"]
    return None
