"""What a cross-validation folder shows a reader: tables, pictures and one page, all from ``summarise``.

``write_cv_outputs(out_dir, summary)`` writes beside ``folds.json``, ``recipe.json`` and ``runs/``:

- ``summary.json``     the summary (per-run rows, mean +- sd per scoring, pooled out-of-fold, calibration);
- ``summary.md``       the same as Markdown tables;
- ``roc.png``          out-of-fold ROC, one curve per seed;
- ``reliability.png``  reliability diagram before and after the Platt calibration, with the ECE;
- ``report.html``      the Markdown with the pictures embedded, when ``squeezenp.reports`` (the HTML page
                       writer) is part of the package; otherwise nothing, and ``write_report_page`` returns None.

``format_cv_table(summary)`` is the table ``squeezenp cv`` prints at the end.
Tests: ``tests/evaluation/test_cv_command.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_write_json, atomic_write_text
from ..reports.figures import save_png
from .plots import reliability_image, roc_by_seed_image

HEADLINE = "cross-validated (held-out folds)"
COLUMNS = (("accuracy", "Accuracy"), ("sensitivity", "Sensitivity"), ("specificity", "Specificity"),
           ("precision", "Precision"), ("f1", "F1"), ("roc_auc", "AUC"))


def _pm(d: dict, runs: int | None = None) -> str:
    """``0.812 +- 0.041`` (``0.812`` with one run, ``-`` with none); ``*`` when the metric was undefined in some
    of the ``runs`` and left out of the mean."""
    if d["mean"] is None:
        return "-"
    text = f"{d['mean']:.3f}" + (f" +- {d['sd']:.3f}" if d["sd"] is not None else "")
    return text + ("*" if runs is not None and d.get("n", runs) < runs else "")


UNDEFINED_NOTE = "* undefined (0/0) in some runs (e.g. precision when no image is called COVID), left out of the mean"


def _f(v, spec=".3f") -> str:
    return "-" if v is None or not np.isfinite(v) else format(v, spec)


def describe(summary: dict) -> str:
    """One paragraph: what was cross-validated and how every choice was kept off the reported fold."""
    seeds = ", ".join(str(s) for s in summary["seeds"]) or "none yet"
    expected = summary["k"] * max(len(summary["seeds"]), 1)
    return (f"{summary['k']}-fold grouped, stratified cross-validation, seeds {seeds} ({summary['runs']} runs"
            f"{'' if summary['runs'] >= expected else ', unfinished'}); {summary['images']} images in "
            f"{summary['groups']} groups ({summary['near_duplicate_pairs']} near-duplicate pairs kept together). "
            f"Every run chose its epoch, its sensitivity-first cut-off (target {summary['sensitivity_target']:.2f}) "
            f"and its Platt calibration on a selection set carved out of its own training part; the fold it "
            f"reports took no part in any choice.")


def mean_sd_rows(summary: dict) -> list[tuple[str, list[str]]]:
    """``(scoring, ["0.812 +- 0.041", ...])`` per scoring with finished runs, cells in ``COLUMNS`` order; the
    "no test-time augmentation" row only when the recipe has some (else it repeats the 0.5 row)."""
    return [(text, [_pm(summary["mean_sd"][key][c], summary["runs"]) for c, _ in COLUMNS])
            for key, text in summary["scorings"].items() if summary["mean_sd"].get(key)
            and (key != "plain" or summary["test_time_augmentation"])]


def format_cv_table(summary: dict) -> str:
    """The printed table: mean +- sd over folds and seeds for every scoring, headed "cross-validated"."""
    name_w = max([8] + [len(t) + 2 for t in summary["scorings"].values()])
    head = f"{'':<{name_w}}" + "".join(f"{title:>16}" for _, title in COLUMNS)
    lines = [f"{HEADLINE}: mean +- sd over {summary['runs']} runs ({summary['k']} folds x seeds "
             f"{', '.join(map(str, summary['seeds']))})", head, "-" * len(head)]
    rows = mean_sd_rows(summary)
    lines += [f"{text:<{name_w}}" + "".join(f"{c:>16}" for c in cells) for text, cells in rows]
    if any(c.endswith("*") for _, cells in rows for c in cells):
        lines.append(UNDEFINED_NOTE)
    cal = summary["calibration"]
    if cal["before"]["ece"] is not None:
        lines.append(f"calibration error (ECE, out-of-fold): raw {cal['before']['ece']:.3f}, "
                     f"Platt-calibrated {cal['after']['ece']:.3f}")
    return "\n".join(lines)


def summary_markdown(summary: dict, recipe: dict | None = None, command: str | None = None) -> str:
    """``summary.md``: the recipe, the mean +- sd table, pooled out-of-fold figures, calibration, per-run rows."""
    name = (recipe or {}).get("recipe", {}).get("name", "?")
    out = [f"# Cross-validation of the recipe `{name}`", "", f"Figures {HEADLINE}. " + describe(summary), ""]
    if command:
        out += ["Command:", "", "```", command, "```", ""]
    out += [f"## Mean +- sd over folds and seeds ({summary['runs']} runs)", "",
            "| scoring | " + " | ".join(t for _, t in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    rows = mean_sd_rows(summary)
    out += [f"| {text} | " + " | ".join(cells) + " |" for text, cells in rows]
    if any(c.endswith("*") for _, cells in rows for c in cells):
        out += ["", UNDEFINED_NOTE.replace("*", "\\*", 1)]
    out += ["", "## Pooled out-of-fold, per seed", "",
            "Every image scored once, by the model of the run whose fold held it out (P(COVID) >= 0.5).", "",
            "| seed | images | " + " | ".join(t for _, t in COLUMNS) + " |", "|---" * (len(COLUMNS) + 2) + "|"]
    for seed, m in summary["pooled_out_of_fold"].items():
        out.append(f"| {seed} | {m['images']} | " + " | ".join(_f(m[c]) for c, _ in COLUMNS) + " |")
    cal = summary["calibration"]
    out += ["", "## Calibration", ""]
    if cal["before"]["ece"] is not None:
        out.append(f"Expected calibration error over the out-of-fold predictions ({sum(cal['before']['count'])}, "
                   f"{cal['n_bins']} equal bins): raw {cal['before']['ece']:.3f}, after the Platt scaling fitted "
                   f"on each run's selection set {cal['after']['ece']:.3f}.")
    out += ["", "![Out-of-fold ROC curve per seed](roc.png)", "",
            "![Reliability diagram before and after calibration](reliability.png)", "",
            "## Per run", "",
            "Held-out fold at P(COVID) >= 0.5; the cut-off column is the sensitivity-first one chosen on the "
            "run's selection set, and the last two columns score the fold at that cut-off.", "",
            "| seed | fold | images | epoch | accuracy | sensitivity | specificity | F1 | AUC | cut-off | "
            "sensitivity at cut-off | specificity at cut-off | train s |", "|---" * 13 + "|"]
    for r, t in zip(summary["per_run"]["0.5"], summary["per_run"]["selected_threshold"]):
        out.append(f"| {r['seed']} | {r['fold']} | {r['n']} | {r['best_epoch']} | {_f(r['accuracy'])} | "
                   f"{_f(r['sensitivity'])} | {_f(r['specificity'])} | {_f(r['f1'])} | {_f(r['roc_auc'])} | "
                   f"{_f(t['threshold'])} | {_f(t['sensitivity'])} | {_f(t['specificity'])} | "
                   f"{r['train_seconds']:.0f} |")
    if recipe:
        out += ["", "## Recipe", "", "```json", json.dumps(recipe, indent=1, sort_keys=True), "```"]
    return "\n".join(out) + "\n"


def write_report_page(out_dir, markdown: str) -> Path | None:
    """``report.html``: the Markdown summary with its pictures embedded, written by ``squeezenp.reports``.

    Returns None when that package is not part of this installation (the page is then simply not written).
    """
    try:
        from ..reports.html import Section, raw_html, write_report_html
        from ..reports.markdown import markdown_to_html
    except ImportError:
        return None
    lines = markdown.splitlines()
    title = lines[0].lstrip("#").strip()
    body = markdown_to_html("\n".join(lines[1:]), out_dir)
    return write_report_html(out_dir, title, Section("", [raw_html(body)]))


def write_cv_outputs(out_dir, summary: dict, command: str | None = None) -> list[Path]:
    """Write ``summary.json``, ``summary.md``, ``roc.png``, ``reliability.png`` (and ``report.html``)."""
    out = Path(out_dir)
    recipe_path = out / "recipe.json"
    recipe = json.loads(recipe_path.read_text()) if recipe_path.exists() else None
    labels = json.loads((out / "folds.json").read_text())["labels"]
    by_seed = {int(s): np.array([np.nan if v is None else v for v in p], dtype=np.float64)
               for s, p in summary["out_of_fold_prob"].items()}
    paths = [atomic_write_json(out / "summary.json", summary),
             save_png(roc_by_seed_image(labels, by_seed), out / "roc.png"),
             save_png(reliability_image(summary["calibration"]), out / "reliability.png")]
    md = summary_markdown(summary, recipe, command)
    paths.append(atomic_write_text(out / "summary.md", md))
    page = write_report_page(out, md)
    if page is not None:
        paths.append(page)
    return [Path(p) for p in paths]


__all__ = ["HEADLINE", "describe", "format_cv_table", "summary_markdown", "write_cv_outputs", "write_report_page"]
