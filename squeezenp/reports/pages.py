"""The report page (``report.html``) of each kind of run, built from what the run wrote.

``experiment_page``: one training (``train``, ``demo``, a reproduction's retraining); ``evaluation_page``:
``evaluate``; ``search_page``: ``tune``; ``reproduction_page``: ``reproduce`` (its ``report.md`` with the
pictures embedded). Every page says what was run (configuration), on what (data counts with each split's role),
how well (the metrics table), shows every picture of the folder, lists the files written and ends with the
commands to run next. Tests: ``tests/reports/test_pages.py``.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from .html import Section, code, definitions, figure, files_written, paragraph, table, write_report_html
from .splits import split_label, split_role

METRIC_HEAD = ["split", "used for", "images", "accuracy", "sensitivity", "specificity", "precision", "F1",
               "ROC AUC"]
METRIC_NOTE = ("COVID is the positive class and an image counts as COVID when P(COVID) >= the threshold. Sensitivity: "
               "share of COVID images found; specificity: share of NonCOVID images recognised; precision: share "
               "of COVID predictions that are right; ROC AUC: the threshold-free ranking quality (0.5 = chance).")

FILES = {
    "model.npz": "the trained network at the selected epoch: give it to predict, evaluate, cam or export",
    "checkpoints/": "the state after the last completed epoch, read by --resume (delete it when done)",
    "history.csv": "loss, accuracy and learning rate per epoch", "history.json": "the same, as JSON",
    "metrics.json": "every number on this page, with the configuration",
    "predictions.csv": "P(COVID) and the prediction for every evaluated image",
    "skipped_files.json": "images that could not be read (with --skip-bad)",
    "training_curves.png": "loss and accuracy per epoch", "augmentations.png": "the x4 augmentation, shown",
    "cam_grid.png": "class activation maps", "cam_grid.json": "the images and probabilities of cam_grid.png",
    "cam_localisation.json": "how much of each COVID map lies on the phantom's lesions",
    "phantoms/": "the synthetic CT phantoms: train/val/test images and their lesion masks",
    "report.html": "this page", "report.md": "the report as Markdown (for docs)",
    "counts.json": "images per split and class", "summary.json": "the search results, as JSON",
    "summary.md": "the search results, as a table", "search_progress.png": "validation accuracy per trial",
}
for _split in ("val", "test", "test1", "test2"):
    FILES[f"confusion_{_split}.png"] = f"confusion matrix of {split_label(_split)}"
    FILES[f"roc_{_split}.png"] = f"ROC curve of {split_label(_split)}"


def _f(v, spec=".4f") -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return format(v, spec) if v == v and abs(v) != float("inf") else "n/a"


def _q(path) -> str:
    return shlex.quote(str(path))


def metrics_table(metrics: dict, context: str = "train") -> list:
    """The metrics table, each split's role said in words, and a note defining the metrics."""
    rows = [[split_label(s), split_role(s, context), str(m.get("n", "")), _f(m.get("accuracy")),
             _f(m.get("sensitivity")), _f(m.get("specificity")), _f(m.get("precision")), _f(m.get("f1")),
             _f(m.get("roc_auc"))] for s, m in metrics.items()]
    cuts = sorted({float(m.get("threshold", 0.5)) for m in metrics.values()})
    cut = ", ".join(f"{c:.4g}" for c in cuts) or "0.5"
    return [table(METRIC_HEAD, rows), paragraph(f"{METRIC_NOTE} Threshold: {cut}.")]


def counts_table(counts: dict, context: str = "train") -> list:
    """Images per split and class, with each split's role."""
    order = ["train_distinct", "train", "val", "test", "test1", "test2"]
    names = sorted(counts, key=lambda s: order.index(s) if s in order else len(order))
    rows = [[split_label(s), split_role(s, context), str(counts[s].get("COVID", "")),
             str(counts[s].get("NonCOVID", "")), str(counts[s].get("total", ""))] for s in names]
    return [table(["split", "used for", "COVID", "NonCOVID", "total"], rows)]


def history_table(history: list, best_epoch: int | None) -> list:
    rows = [[str(h.get("epoch")), _f(h.get("lr"), ".4g"), _f(h.get("train_loss")), _f(h.get("train_accuracy"), ".3f"),
             _f(h.get("val_loss")), _f(h.get("val_accuracy"), ".3f"), _f(h.get("seconds"), ".1f")] for h in history]
    pick = next((i for i, h in enumerate(history) if h.get("epoch") == best_epoch), None)
    return [table(["epoch", "learning rate", "train loss", "train accuracy", "val loss", "val accuracy", "seconds"],
                  rows, caption="The selected epoch is in bold.", highlight=pick)]


def data_source(data: dict) -> str:
    """The data options of a run (``DataOptions`` as a dict) in words."""
    if not data.get("data"):
        src = (f"synthetic CT phantoms, {data.get('phantoms_per_class')} per class at {data.get('phantom_size')} px"
               + (f", written to {data.get('phantom_dir')}" if data.get("phantom_dir") else ""))
    else:
        src = f"{data['data']} (layout {data.get('layout', 'folder')})"
    src += f"; arrangement {data.get('arrangement', 1)}"
    if data.get("second_source"):
        src += f", second COVID source {data['second_source']}"
    if data.get("limit"):
        src += f", at most {data['limit']} images per class and split"
    return src


def next_commands(model_path) -> str:
    """The commands that use a trained model, with its path filled in."""
    m = _q(model_path)
    return "\n".join([f"squeezenp predict {m} IMAGE_OR_FOLDER... --out predictions.csv   # P(COVID) of new CT slices",
                      f"squeezenp cam {m} IMAGE... --out cams/        # where the network finds the evidence",
                      f"squeezenp evaluate {m} --data DIR             # metrics on another data folder"])


def _pictures(folder: Path, names, captions: dict) -> list:
    return [figure(folder / n, captions.get(n, "")) for n in names if (folder / n).is_file()]


def _split_pictures(folder: Path, splits, context: str) -> list:
    blocks = []
    for s in splits:
        role = split_role(s, context)
        blocks += _pictures(folder, [f"confusion_{s}.png", f"roc_{s}.png"],
                            {f"confusion_{s}.png": f"{split_label(s)} ({role}): confusion matrix",
                             f"roc_{s}.png": f"{split_label(s)}: ROC curve; the dot is the operating threshold"})
    return blocks


def experiment_page(out_dir, summary: dict, title: str | None = None, intro: str = "", extra_figures=(),
                    context: str = "train") -> Path:
    """``report.html`` of one training run from ``summary`` (what ``pipeline.run_experiment`` returns).

    ``extra_figures``: (file name in ``out_dir``, caption) pairs shown after the training pictures (the demo's
    augmentation and CAM grids). ``context``: "train" or "search" (the roles of the validation split)."""
    out = Path(out_dir)
    cfg, data, metrics = summary["config"], summary.get("data", {}), summary.get("metrics", {})
    best, epochs = summary.get("best_epoch"), cfg["epochs"]
    select = ("the epoch with the best validation accuracy (ties: the lower validation loss)"
              if cfg.get("select", "best") == "best" else "the last epoch")
    if cfg.get("average_last"):
        select += f", its weights averaged over the last {cfg['average_last']} epochs"
    if cfg.get("schedule", "piecewise") == "piecewise":
        schedule = f"learning rate x{cfg['lr_drop_factor']:g} every {cfg['lr_drop_period']} epochs"
    else:
        schedule = f"{cfg['schedule']} learning-rate schedule"
    if cfg.get("warmup_epochs"):
        schedule += f" after {cfg['warmup_epochs']} warm-up epoch(s)"
    if cfg.get("label_smoothing"):
        schedule += f"; label smoothing {cfg['label_smoothing']:g}"
    recipe = summary.get("recipe") or {}
    if recipe:
        augmentation = {"x4": "x4: each training image plus a rotated, a scaled and a noisy copy",
                        "online": "a fresh random rotation, scaling and noise for every image in every batch",
                        "none": "none"}.get(recipe.get("augmentation"), str(recipe.get("augmentation")))
    else:
        augmentation = "x4: each training image plus a rotated, a scaled and a noisy copy" if data.get("augment") \
            else "none"
    start = (f"the weights of {summary['init']}" if summary.get("init") else
             f"ImageNet weights {summary['pretrained']}" if summary.get("pretrained") else
             f"a fresh initialisation (seed {cfg['seed']})")
    config = {
        "recipe": (f"{recipe['name']}: preprocessing {recipe.get('preprocessing')}, "
                   f"{'ImageNet trunk' if recipe.get('imagenet_trunk') else 'trained from scratch'}"
                   f"{', mirror test-time augmentation' if recipe.get('tta') else ''}") if recipe else "none",
        "network": f"{summary['model']} ({summary.get('parameters', 0):,} parameters)",
        "started from": start,
        "data": data_source(data),
        "input": f"{data.get('input_size')} x {data.get('input_size')} px",
        "augmentation": augmentation,
        "optimiser": f"sgdm: learning rate {cfg['lr']:g}, momentum {cfg['momentum']:g}, L2 {cfg['l2']:g}; {schedule}",
        "epochs, batch": f"{epochs} epochs of batches of {cfg['batch_size']} "
                         f"({'stratified' if cfg.get('stratified_batches') else 'shuffled'} every epoch)",
        "epoch kept": f"{best} of {epochs}: {select}",
        "seed": str(cfg["seed"]),
        "training time": f"{summary.get('seconds', 0):.0f} s",
    }
    model = out / "model.npz"
    held = {s: m for s, m in metrics.items() if s.startswith("test")}
    if not intro:
        intro = (f"{summary['model']} trained for {epochs} epochs; epoch {best} kept, validation accuracy "
                 f"{_f(metrics.get('val', {}).get('accuracy'), '.3f')}"
                 + "".join(f", {split_label(s)} accuracy {_f(m.get('accuracy'), '.3f')} (held out)"
                           for s, m in held.items()) + ".")
    figs = [figure(out / "training_curves.png", "Loss and accuracy per epoch: training (blue), validation "
                   "(orange), the selected epoch (green) and the learning-rate drops (dotted).")] \
        if (out / "training_curves.png").is_file() else []
    figs += _split_pictures(out, metrics, context)
    figs += [figure(out / n, c) for n, c in extra_figures if (out / n).is_file()]
    sections = [
        Section("Configuration", [definitions(config)]),
        Section("Data", counts_table(summary.get("counts") or {}, context)),
        Section("Metrics of the kept epoch", metrics_table(metrics, context)),
        Section("Training, epoch by epoch", history_table(summary.get("history") or [], best)),
        Section("Pictures", figs),
        Section("Files written", [files_written(out, FILES)]),
        Section("Next", [paragraph("Use the trained model:"), code(next_commands(model))]),
    ]
    return write_report_html(out, title or f"Training report: {summary['model']}", *sections, intro=intro)


def evaluation_page(out_dir, model_file, data: dict, counts: dict, metrics: dict, network: str = "",
                    context: str = "evaluate") -> Path:
    """``report.html`` of ``squeezenp evaluate``: a saved model's metrics on a data folder. ``context``: "train"
    when the model was trained on this data (its validation split chose the epoch), else "evaluate"."""
    out = Path(out_dir)
    config = {"model": f"{model_file}" + (f" ({network})" if network else ""), "data": data_source(data),
              "input": f"{data.get('input_size')} x {data.get('input_size')} px, no augmentation"}
    sections = [
        Section("Configuration", [definitions(config)]),
        Section("Data", counts_table(counts, context)),
        Section("Metrics", metrics_table(metrics, context)),
        Section("Pictures", _split_pictures(out, metrics, context)),
        Section("Files written", [files_written(out, FILES)]),
        Section("Next", [code(next_commands(model_file))]),
    ]
    acc = ", ".join(f"{split_label(s)} accuracy {_f(m.get('accuracy'), '.3f')}" for s, m in metrics.items())
    return write_report_html(out, f"Evaluation of {Path(model_file).name}", *sections,
                             intro=f"{model_file} on {data.get('data')}: {acc}.")


def search_page(out_dir, summaries: list, counts: dict | None = None, settings: dict | None = None) -> Path:
    """``report.html`` of ``squeezenp tune``: the best trial of each experiment, its progress picture and the
    command that trains the best setting longer."""
    out = Path(out_dir)
    rows = []
    for s in summaries:
        rows.append([str(s["experiment"]), s["network"], f"{s['trials']} ({s['failed']} failed)",
                     str(s.get("best_trial")), _f(s.get("observed_accuracy")), _f(s.get("estimated_accuracy")),
                     _f(s.get("lr"), ".4g"), _f(s.get("momentum"), ".4f"), _f(s.get("l2"), ".3g")])
    blocks = [table(["experiment", "network", "trials", "best trial", "best validation accuracy",
                     "GP estimate", "learning rate", "momentum", "L2"], rows),
              paragraph("Each trial trains the network with one (learning rate, momentum, L2) and scores it by "
                        "1 - validation accuracy; the Gaussian-process estimate is the surrogate's mean at the "
                        "best point. The validation split chooses the setting, so its accuracy is optimistic: "
                        "judge the retrained model on a held-out split.")]
    figs = [figure(out / f"experiment{s['experiment']}" / "search_progress.png",
                   f"experiment {s['experiment']} ({s['network']}): validation accuracy per trial")
            for s in summaries if (out / f"experiment{s['experiment']}" / "search_progress.png").is_file()]
    commands = [s["retrain_command"] for s in summaries if s.get("retrain_command")]
    best_models = [s["best_model"] for s in summaries if s.get("best_model")]
    nxt = [paragraph("Train each best setting longer (from the best trial's weights), then use the model:"),
           code("\n".join(commands) if commands else "(no successful trial yet)")]
    if best_models:
        nxt.append(code(next_commands(best_models[0])))
    sections = [Section("Configuration", [definitions(settings or {})]),
                Section("Data", counts_table(counts or {}, "search")),
                Section("Best trial per experiment", blocks),
                Section("Pictures", figs),
                Section("Files written", [files_written(out, FILES | {
                    f"experiment{s['experiment']}/": "trials.json/csv, best_model.npz, summary of experiment "
                    f"{s['experiment']}" for s in summaries})]),
                Section("Next", nxt)]
    n = len(summaries)
    return write_report_html(out, "Bayesian search of learning rate, momentum and L2", *sections,
                             intro=f"{n} experiment{'s' if n != 1 else ''}; every trial is saved as it finishes and "
                                   "re-running the same command resumes the search.")


def reproduction_page(run_dir, markdown: str) -> Path:
    """``report.html`` of ``squeezenp reproduce``: its Markdown report with the pictures embedded."""
    from .html import raw_html
    from .markdown import markdown_to_html
    run = Path(run_dir)
    lines = markdown.splitlines()
    title = lines[0].lstrip("#").strip().replace("`", "") if lines and lines[0].startswith("# ") else "Reproduction"
    body = "\n".join(lines[1:]) if lines and lines[0].startswith("# ") else markdown
    html_body = markdown_to_html(body, run, heading_offset=0)
    return write_report_html(run, title, Section("", [raw_html(html_body)]),
                             Section("Files written", [files_written(run, FILES | {
                                 "arrangement1/": "search, retraining, timing and CAM of arrangement 1",
                                 "arrangement2/": "the same for arrangement 2",
                                 "reproduce.json": "the preset and data of this run",
                                 "sessions.json": "wall-clock time of each invocation"})]))


__all__ = ["experiment_page", "evaluation_page", "search_page", "reproduction_page", "metrics_table",
           "counts_table", "history_table", "next_commands", "data_source", "FILES"]
