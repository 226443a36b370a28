"""The report's tables, each with the paper's figure in a column beside ours and our protocol's differences said
beside our numbers.

The paper's figures come from ``squeezenp.train.paper`` (Tables 1-7, section 3.3); "–" marks a cell where the
paper reports nothing, "n/a" one of ours that this run has no value for. A row of a network that collapsed
(``squeezenp.train.collapse``: dead class maps or one prediction for every image) says so in its status column:
its accuracy is that of a constant answer, not a measurement of the architecture.
Tests: ``tests/reproduce/test_reproduce.py``, ``tests/reproduce/test_tables.py``.
"""
from __future__ import annotations

import math

from ..search import EXPERIMENTS
from ..train.metrics import SELECTION_LABEL
from ..train.paper import (METRIC_NAMES, PAPER_COMPARISON, PAPER_EFFICIENCY, PAPER_PARAMETERS, PAPER_PROTOCOL,
                            PAPER_TIMES, paper_counts, paper_metrics, paper_row, paper_sensitivity_per_million,
                            paper_splits)

NA = "n/a"          # ours: no value in this run
NOT_REPORTED = "–"  # the paper's: it reports no value here
SPLIT_NAMES = {"train_distinct": "train (distinct, before x4 augmentation)", "train": "train (after x4 augmentation)",
               "val": SELECTION_LABEL, "test1": "Test-1", "test2": "Test-2 (second source)", "test": "test"}


def fmt(v, spec: str = ".4f", missing: str = NA) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return missing
    return format(v, spec)


def paper_fmt(v, spec: str = ".4f") -> str:
    return fmt(v, spec, NOT_REPORTED)


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


# --- how our protocol differs from the paper's --------------------------------------------------------------
def search_differences(preset: dict, recipe: dict | None) -> str:
    """What differs in our search from the paper's (30 calls x 20 epochs, 227 px, batch 128, last epoch)."""
    d = []
    if preset["calls"] != PAPER_PROTOCOL["calls"]:
        d.append(f"{preset['calls']} calls (paper {PAPER_PROTOCOL['calls']})")
    if preset["search_epochs"] != PAPER_PROTOCOL["search_epochs"]:
        d.append(f"{preset['search_epochs']} epochs (paper {PAPER_PROTOCOL['search_epochs']})")
    return "; ".join(d + _loop_differences(preset, recipe)) or "none"


def retrain_differences(preset: dict, recipe: dict | None, split: str, arrangement: int) -> str:
    """What differs in our Table 5 figure from the paper's (Test-1 after 20 more epochs)."""
    d = []
    if split == "val":
        d.append("validation split, which also chose the trial" + (" and the epoch" if _select(preset, recipe)
                                                                     == "best" else "") + " (paper: Test-1)")
    if preset["retrain_epochs"] != PAPER_PROTOCOL["retrain_epochs"]:
        d.append(f"{preset['retrain_epochs']} retraining epochs (paper {PAPER_PROTOCOL['retrain_epochs']})")
    return "; ".join(d + _loop_differences(preset, recipe)) or "none"


def _batch(preset: dict, recipe: dict | None) -> int:
    if preset.get("batch_size"):
        return preset["batch_size"]
    return (recipe or {}).get("train", {}).get("batch_size", 32)


def _select(preset: dict, recipe: dict | None) -> str:
    return (recipe or {}).get("train", {}).get("select", "best")


def _loop_differences(preset: dict, recipe: dict | None) -> list[str]:
    d = []
    if preset["input_size"] != PAPER_PROTOCOL["input_size"]:
        d.append(f"{preset['input_size']} px (paper {PAPER_PROTOCOL['input_size']})")
    if _batch(preset, recipe) != PAPER_PROTOCOL["batch_size"]:
        d.append(f"batch {_batch(preset, recipe)} (Matlab {PAPER_PROTOCOL['batch_size']})")
    if _select(preset, recipe) != PAPER_PROTOCOL["select"]:
        d.append("best validation epoch kept (Matlab: the last)")
    return d


# --- Tables 1 and 2 -------------------------------------------------------------------------------------------
def counts_table(a: int, counts: dict) -> list[str]:
    splits = list(counts) + [s for s in ("train_distinct", "train", "val", "test1", "test2")
                             if s not in counts and paper_counts(a, s)]
    rows = []
    for split in sorted(splits, key=lambda s: list(SPLIT_NAMES).index(s) if s in SPLIT_NAMES else 99):
        c, p = counts.get(split), paper_counts(a, split) or {}
        name = SPLIT_NAMES.get(split, split) + ("" if c else " (not in this run)")
        rows.append([name] + [x for key in ("COVID", "NonCOVID", "total")
                              for x in (fmt(c and c[key], "d"), paper_fmt(p.get(key), "d"))])
    return table(["split", "COVID (ours)", "COVID (paper)", "NonCOVID (ours)", "NonCOVID (paper)",
                  "total (ours)", "total (paper)"], rows)


# --- Tables 3 and 4 -------------------------------------------------------------------------------------------
def search_table(a: int, summaries: dict, differences: str) -> list[str]:
    rows = []
    for k, s in summaries.items():
        p = paper_row(a, k)
        status = s.get("best_collapse") or NA
        if s.get("collapsed") is not None:
            status += f"; {s['collapsed']} of {s['trials']} trials collapsed"
        rows.append([str(k), EXPERIMENTS[k], fmt(s["observed_accuracy"]), paper_fmt(p["observed_accuracy"]),
                     fmt(s["estimated_accuracy"]), paper_fmt(p["estimated_accuracy"]), fmt(s["lr"], ".4g"),
                     paper_fmt(p["lr"], ".5g"), fmt(s["momentum"], ".5g"), paper_fmt(p["momentum"], ".5g"),
                     fmt(s["l2"], ".4g"), paper_fmt(p["l2"], ".5g"),
                     f"{s['trials']} ({s['failed']} failed), best trial {s['best_trial']}",
                     str(PAPER_PROTOCOL["calls"]), status])
    return table(["exp.", "network", "observed best val. accuracy (ours)", "(paper)", "estimated accuracy (ours)",
                  "(paper)", "learning rate (ours)", "(paper)", "momentum (ours)", "(paper)", "L2 (ours)",
                  "(paper)", "trials (ours)", "(paper)", "best trial's network at the end"], rows) + [
        "", f"Our search differs from the paper's in: {differences}."]


# --- Table 5 ----------------------------------------------------------------------------------------------------
def _splits(a: int, k: int, metrics: dict) -> list[str]:
    return list(metrics) + [s for s in paper_splits(a, k) if s not in metrics]


def _paper_table5(a: int, k: int, split: str) -> dict[str, str]:
    """The paper's Table 5 cells; for the validation split, Table 3/4's observed accuracy (marked T3/T4)."""
    p = {m: paper_fmt(v) for m, v in paper_metrics(a, k, split).items()}
    if split == "val":
        acc = paper_row(a, k)["observed_accuracy"]
        if acc is not None:
            p["accuracy"] = f"{acc:.4f} (T{2 + a}, search)"
    return p


def metrics_table(a: int, retrained: dict, preset: dict, recipe: dict | None) -> list[str]:
    rows, notes = [], {}
    for k, r in retrained.items():
        metrics = r["metrics"]
        collapse = (r.get("collapse") or {}).get("status", NA)
        for split in _splits(a, k, metrics):
            ours, paper = metrics.get(split) or {}, _paper_table5(a, k, split)
            here = split in metrics
            row = [str(k), EXPERIMENTS[k], SPLIT_NAMES.get(split, split) + ("" if here else " (not in this run)")]
            for m in METRIC_NAMES:
                row += [fmt(ours.get(m)), paper[m]]
            if here:
                diff = retrain_differences(preset, recipe, split, a)
                notes.setdefault(diff, len(notes) + 1)
                row += [status_cell(collapse), f"[{notes[diff]}]"]
            else:
                row += ["", ""]
            rows.append(row)
    head = ["exp.", "network", "split"]
    for m in ("accuracy", "sensitivity", "specificity", "precision", "F1"):
        head += [f"{m} (ours)", "(paper)"]
    head += ["network at the end (ours)", "differences"]
    return table(head, rows) + [""] + [f"[{i}] {d}." for d, i in notes.items()]


def status_cell(status: str) -> str:
    """A collapse status for a table cell, a collapse in bold: "**collapsed**: every class map dead"."""
    return "**collapsed**" + status[len("collapsed"):] if status.startswith("collapsed") else status


# --- timing (section 3.3) ---------------------------------------------------------------------------------------
def timing_table(timing: dict) -> list[str]:
    rows = []
    for key, t in timing["networks"].items():
        k = int(key)
        p = PAPER_TIMES.get(k, {})
        rows.append([str(k), EXPERIMENTS[k], f"{t['input_size']}x{t['input_size']}", fmt(t["seconds_median"], ".4f"),
                     fmt(t["seconds_min"], ".4f"), str(t["threads"]), paper_fmt(p.get("laptop"), ".2f"),
                     paper_fmt(p.get("workstation"), ".2f")])
    return table(["exp.", "network", "input", "s per image, median (ours)", "min (ours)", "threads (ours)",
                  "laptop, 227 px (paper)", "GPU workstation, 227 px (paper)"], rows)


# --- Table 6 ----------------------------------------------------------------------------------------------------
def comparison_table(retrained: dict) -> list[str]:
    """The paper's Table 6 (earlier work and the proposed CNN, in %) with our proposed CNN on each split."""
    rows = [[p["work"], "paper", p["preprocessing"]] + [paper_fmt(p[m], ".4g") for m in METRIC_NAMES]
            for p in PAPER_COMPARISON]
    ours = retrained.get(4)
    for split, m in ((ours or {}).get("metrics") or {}).items():
        rows.append([f"proposed CNN, {SPLIT_NAMES.get(split, split)}", "ours", "no"]
                    + [fmt(None if m.get(x) is None else 100 * m[x], ".2f") for x in METRIC_NAMES[:4]]
                    + [fmt(m.get("f1"), ".4f")])
    return table(["work", "source", "image preprocessing", "accuracy %", "sensitivity %", "specificity %",
                  "precision %", "F1"], rows)


# --- Table 7 ----------------------------------------------------------------------------------------------------
def sensitivity_table(a: int, retrained: dict) -> list[str]:
    """Sensitivity (%) per million parameters for each of our networks and splits, with the paper's Table 7."""
    rows = []
    for k, r in retrained.items():
        params = r["parameters"]
        collapsed = " (**collapsed**)" if (r.get("collapse") or {}).get("collapsed") else ""
        for split in _splits(a, k, r["metrics"]):
            sens = (r["metrics"].get(split) or {}).get("sensitivity")
            sens_pct = None if sens is None or not math.isfinite(sens) else 100 * sens
            per_m = None if sens_pct is None else sens_pct / (params / 1e6)
            pp = PAPER_PARAMETERS.get(k)
            mark = collapsed if split in r["metrics"] else ""
            rows.append([str(k), EXPERIMENTS[k], SPLIT_NAMES.get(split, split), fmt(params / 1e6, ".3f"),
                         paper_fmt(None if pp is None else pp / 1e6, ".2f"), fmt(sens_pct, ".2f") + mark,
                         fmt(per_m, ".2f") + mark, paper_fmt(paper_sensitivity_per_million(a, k, split), ".2f")])
    rows += [[NOT_REPORTED, p["work"], "paper", NOT_REPORTED, f"{p['parameters_m']:g}", NOT_REPORTED,
              NOT_REPORTED, f"{p['ratio']:g} (sensitivity {p['sensitivity']:g} %)"] for p in PAPER_EFFICIENCY]
    return table(["exp.", "network", "split", "parameters, M (ours)", "(paper)", "sensitivity % (ours)",
                  "sensitivity % per M parameters (ours)", "(paper)"], rows)
