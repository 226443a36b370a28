"""The paper's pipeline as plain functions, shared by the command line, the search and the reproduction.

    DataOptions --prepare_datasets--> {split: ArrayDataset} --train_model--> model, TrainResult
                                                           --evaluate_model--> metrics, predictions

Data sources: an image folder ``ROOT/{train,val,test}/{COVID,NonCOVID}``, the upstream COVID-CT layout
(class folders plus ``Data-split`` name lists), or, with no data given, synthetic CT phantoms written to an
image folder first so that they go through the very same loading code as real files.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .. import data as D
from ..core.atomic import atomic_write_json, atomic_write_text
from ..train import TrainConfig, binary_metrics, fit, format_table5
from ..train.metrics import split_labels

Log = Callable[[str], None]


def to_stderr(message: str) -> None:
    """Where warnings go (skipped files, inputs the model cannot judge): standard error, as in every command."""
    print(message, file=sys.stderr)


@dataclasses.dataclass
class DataOptions:
    """Where the images come from and how they become tensors.

    ``data=None`` means synthetic phantoms (``phantoms_per_class`` per class, ``phantom_size`` pixels,
    written under ``phantom_dir``). ``limit`` keeps at most that many images per class in each split
    (for quick runs and tests).
    """
    data: str | Path | None = None
    layout: str = "folder"                 # "folder" or "upstream"
    splits_dir: str | Path | None = None   # the Data-split lists, for layout="upstream"
    arrangement: int = 1
    second_source: str | Path | None = None
    input_size: int = 227
    augment: bool = True
    on_error: str = "raise"                # or "skip"
    seed: int = 0
    limit: int | None = None
    phantoms_per_class: int = 150
    phantom_size: int = 96
    phantom_dir: str | Path | None = None

    def __post_init__(self):
        if self.layout not in ("folder", "upstream"):
            raise ValueError(f"layout must be 'folder' or 'upstream', got {self.layout!r}")
        if self.arrangement not in (1, 2):
            raise ValueError(f"arrangement must be 1 or 2, got {self.arrangement!r}")
        if self.arrangement == 2 and self.second_source is None:
            raise ValueError("arrangement 2 mixes in a second COVID source: give second_source (--second-source)")
        if self.input_size < 16:
            raise ValueError(f"input_size must be at least 16 pixels, got {self.input_size}")


def scan_splits(opts: DataOptions, log: Log | None = None) -> tuple[dict, dict]:
    """Resolve the data source and the arrangement into ``({split: Split}, counts)``."""
    if opts.data is None:
        root = Path(opts.phantom_dir or "squeezenp-phantoms")
        counts = D.phantoms.phantom_manifest(opts.phantoms_per_class, opts.phantom_size, opts.seed)["counts"]
        empty = [s for s in ("train", "val") if not counts[s]["COVID"]]
        if empty:
            raise ValueError(f"--phantoms {opts.phantoms_per_class} leaves the {' and '.join(empty)} split "
                             f"empty (60/20/20 per class); 4 or more fill every split")
        D.build_phantom_folder(root, opts.phantoms_per_class, opts.phantom_size, opts.seed, log=log)
        splits = D.scan_image_folder(root)
    elif opts.layout == "upstream":
        if opts.splits_dir is None:
            raise ValueError("layout 'upstream' needs the Data-split folder (--splits)")
        splits = D.scan_upstream_layout(opts.data, opts.splits_dir)
    else:
        splits = D.scan_image_folder(opts.data)
    if opts.arrangement == 1:
        arr = D.arrangement1(splits, opts.seed, opts.second_source)
    else:
        arr = D.arrangement2(splits, opts.second_source, opts.seed)
    chosen = dict(arr.splits)
    if opts.limit is not None:
        rng = np.random.default_rng([opts.seed, 7])
        for name, s in chosen.items():
            keep = np.concatenate([rng.permutation(np.flatnonzero(s.labels == c))[:opts.limit] for c in (0, 1)])
            chosen[name] = s.subset(np.sort(keep))
    return chosen, {k: s.counts() for k, s in chosen.items()}


def scan_evaluation_splits(data, layout: str = "folder", splits_dir=None) -> dict:
    """The labelled splits a saved model is evaluated on, found without requiring or reading training images.

    ``ROOT/{val,test}/{COVID,NonCOVID}`` (either or both; named "val" and "test1" as in a training run's report),
    the upstream layout's val and test lists, or a bare ``ROOT/{COVID,NonCOVID}`` (named "all").
    """
    root = Path(data)
    if layout == "upstream":
        if splits_dir is None:
            raise ValueError("layout 'upstream' needs the Data-split folder (--splits)")
        found = D.scan_upstream_layout(root, splits_dir, required=(), split_names=("val", "test"))
    elif any((root / c).is_dir() for c in D.CLASS_NAMES):
        found = {"all": D.scan_class_folders(root, "image folder")}
    else:
        found = D.scan_image_folder(root, required=(), split_names=("val", "test"))
    if not found:
        raise D.DatasetLayoutError(f"nothing to evaluate in {str(root)!r}: expected ROOT/val/ or ROOT/test/ (each "
                                   f"with {'/ and '.join(D.CLASS_NAMES)}/), or ROOT/{{{','.join(D.CLASS_NAMES)}}}/")
    return {{"test": "test1"}.get(k, k): v for k, v in found.items()}


def prepare_datasets(opts: DataOptions, channels: int = 3, log: Log | None = print, preprocessing: str = "none",
                     warn: Log | None = to_stderr, splits: dict | None = None):
    """Decode every split; augment the training split x4 when ``opts.augment``.

    ``preprocessing``: a ``data.preprocess`` mode applied to every image between decoding and resizing (a
    recipe's, e.g. "crop+standardise").
    Returns ``(datasets, counts, errors)``: ``{split: ArrayDataset}``, the class counts per split as used
    (after augmentation for "train"; key "train_distinct" holds the count before it), and the files skipped
    (listed through ``warn``). ``splits``: the ``{name: Split}`` to load instead of ``scan_splits(opts)``.
    """
    if splits is None:
        splits, _ = scan_splits(opts, log)
    datasets, errors = {}, []
    t0 = time.monotonic()
    for name, split in splits.items():
        ds, errs = load_split(split, opts.input_size, channels, opts.on_error, preprocessing)
        errors += errs
        datasets[name] = ds
        if not len(ds):
            raise ValueError(f"split {name!r}: none of its {len(split)} image(s) could be read")
    if errors and warn:
        warn(f"skipped {len(errors)} unreadable file(s):")
        for p, msg in errors:
            warn(f"  {msg}")
    counts = {k: _counts(d.labels) for k, d in datasets.items()}
    if opts.augment and "train" in datasets:
        counts["train_distinct"] = counts["train"]
        datasets["train"] = D.augment_dataset(datasets["train"], channels, opts.seed)
        counts["train"] = _counts(datasets["train"].labels)
    if log:
        log(f"loaded {sum(len(d) for d in datasets.values())} images at {opts.input_size}x{opts.input_size} "
            f"in {time.monotonic() - t0:.1f}s: " + describe_counts(counts))
    return datasets, counts, errors


def describe_counts(counts: dict) -> str:
    """"train 1440 (360 distinct x4 augmentation), val 120, test1 120" from ``prepare_datasets``' counts."""
    parts = []
    for k, c in counts.items():
        if k == "train_distinct":
            continue
        extra = f" ({counts['train_distinct']['total']} distinct x4 augmentation)" \
            if k == "train" and "train_distinct" in counts else ""
        parts.append(f"{k} {c['total']}{extra}")
    return ", ".join(parts)


def load_split(split: D.Split, size: int, channels: int, on_error: str, preprocessing: str = "none"):
    """``data.load_split`` with the images preprocessed first (``evaluation.decision.load_inputs``)."""
    if preprocessing == "none":
        return D.load_split(split, (size, size), channels, on_error)
    from ..evaluation.decision import load_inputs
    notes: list = []
    x, kept, errors = load_inputs(split.paths, size, channels, preprocessing, on_error, input_warnings=notes)
    label_of = {Path(p): int(y) for p, y in zip(split.paths, split.labels)}
    return D.ArrayDataset(x, [label_of[p] for p in kept], kept, notes), errors


def write_augmentation_grid(opts: DataOptions, path, n: int = 4, seed: int | None = None) -> Path:
    """A labelled PNG grid of ``n`` random training images (resized to the input size) and their x4
    augmentations; each row is labelled with the file name and class."""
    train = scan_splits(opts)[0]["train"]
    seed = opts.seed if seed is None else seed
    pick = np.random.default_rng(seed).permutation(len(train))[:n]
    gray = np.stack([D.to_network_input(D.load_grayscale(train.paths[i]), opts.input_size, 1)[0] for i in pick])
    gray = np.clip(gray * D.NORMALISATION["std"] + D.NORMALISATION["mean"], 0.0, 1.0)   # back to [0, 1]
    labels = [f"{train.paths[i].name}\n{D.CLASS_NAMES[int(train.labels[i])]}" for i in pick]
    from ..reports.figures import augmentation_image, save_png
    cells, params = D.augmentation_examples(gray, np.random.default_rng(seed), n=len(pick))
    return save_png(augmentation_image(cells, params, labels), path)


def _counts(labels) -> dict:
    labels = np.asarray(labels)
    return {"COVID": int((labels == 1).sum()), "NonCOVID": int((labels == 0).sum()), "total": int(len(labels))}


def checkpoint_path(out_dir) -> Path:
    """Where training keeps its state for ``--resume``: ``OUT/checkpoints/checkpoint.npz``, a subfolder out of
    the report's way. A run folder holding ``OUT/checkpoint.npz`` (the earlier layout) keeps using that file, so
    an interrupted run of that layout still resumes."""
    old = Path(out_dir) / "checkpoint.npz"
    return old if old.is_file() else Path(out_dir) / "checkpoints" / "checkpoint.npz"


def train_model(model, datasets: dict, config: TrainConfig, out_dir: str | Path | None = None,
                resume: bool = False, log: Log | None = print, recipe=None):
    """Fit ``model`` on ``datasets['train']``, validating on ``datasets['val']``; checkpoint in ``out_dir``.

    With a ``recipe`` (``train.recipes``) the training goes through ``train_recipe``, which adds the recipe's
    x4 augmentation when it has one (the datasets then hold the distinct images).
    """
    tr, va = datasets["train"], datasets.get("val")
    ck = checkpoint_path(out_dir) if out_dir else None
    if recipe is not None:
        from ..train.recipes import train_recipe
        return train_recipe(recipe, tr.images, tr.labels, va.images if va is not None else None,
                            va.labels if va is not None else None, seed=config.seed, checkpoint=ck, resume=resume,
                            log=log, model=model, config=config)[1]
    return fit(model, (tr.images, tr.labels), (va.images, va.labels) if va is not None else None,
               config, checkpoint=ck, resume=resume, log=log)


NON_FINITE_OUTPUT = "non-finite model output (NaN or infinite): no prediction"


def output_warnings(prob: np.ndarray, input_warnings=None) -> list[str]:
    """Per image: its input's warning and, when P(COVID) is not a finite number, ``NON_FINITE_OUTPUT``."""
    notes = list(input_warnings) if input_warnings is not None else [""] * len(prob)
    return ["; ".join(w for w in (note, "" if np.isfinite(p) else NON_FINITE_OUTPUT) if w)
            for note, p in zip(notes, prob)]


def evaluate_model(model, datasets: dict, splits=None, batch_size: int = 32) -> tuple[dict, list[dict]]:
    """Metrics per split and one prediction row per image (COVID = positive class).

    A row's ``warning`` says why the model cannot judge that image ("" when it can). An image whose output is
    not finite gets no probability or prediction (None) and is left out of the metrics, which count it as
    ``unjudged``.
    """
    from ..evaluation.decision import decide, operating_point, raw_probability
    metrics, rows = {}, []
    threshold = operating_point(model)[1]
    for name in splits or [k for k in datasets if k != "train"]:
        ds = datasets[name]
        raw = raw_probability(model, ds.images, batch_size)
        prob, pred = decide(model, raw)
        finite = np.isfinite(prob)
        metrics[name] = {**binary_metrics(ds.labels[finite], prob[finite], threshold),
                         "unjudged": int((~finite).sum())}
        notes = output_warnings(prob, ds.warnings)
        for i in range(len(ds)):
            p = float(prob[i]) if finite[i] else None
            rows.append({"split": name, "path": str(ds.paths[i]) if ds.paths else "", "label": int(ds.labels[i]),
                         "probability_covid": p, "probability_covid_raw": None if p is None else float(raw[i]),
                         "prediction": None if p is None else int(pred[i]), "warning": notes[i]})
    return metrics, rows


def write_predictions_csv(path, rows: list[dict]) -> Path:
    buf = io.StringIO()
    fields = ["split", "path", "label", "probability_covid", "probability_covid_raw", "prediction", "warning"]
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def write_history_csv(path, history: list[dict]) -> Path:
    buf = io.StringIO()
    keys = list(dict.fromkeys(k for h in history for k in h))
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(history)
    return atomic_write_text(path, buf.getvalue())


def write_evaluation(out_dir, metrics: dict, rows: list[dict], extra: dict | None = None,
                     selection: str | None = "val") -> str:
    """``metrics.json``, ``predictions.csv``; returns the Table 5 style text.

    ``selection``: the split that chose the epoch; it is labelled "validation (used for selection)" in the
    table and in ``metrics.json``'s ``split_labels``.
    """
    out = Path(out_dir)
    labels = split_labels(metrics, selection)
    atomic_write_json(out / "metrics.json", {**(extra or {}), "split_labels": labels, "metrics": metrics})
    write_predictions_csv(out / "predictions.csv", rows)
    return format_table5({labels[k]: m for k, m in metrics.items()})


RUN_RECORD = "run.json"


def run_identity(model_name: str, data_opts: DataOptions, config: TrainConfig, pretrained=None, init=None,
                 **options) -> dict:
    """Every option that defines a training run (``squeezenp.core.identity``): model, weights files, data, training,
    and any further ``options`` (JSON-able: the recipe, the calibration settings, ...)."""
    from ..core.identity import data_identity, fingerprint, jsonable
    return {"model": model_name, "pretrained": None if pretrained is None else fingerprint(pretrained),
            "init": None if init is None else fingerprint(init), "data": data_identity(data_opts),
            "train": jsonable(dataclasses.asdict(config)), **jsonable(options)}


def check_run_record(out: Path, identity: dict, resume: bool) -> None:
    """On ``resume``, refuse a run folder whose ``run.json`` holds other options (each one named, old -> new);
    otherwise (a new run, or nothing recorded yet) write ``run.json``."""
    import json

    from ..core.identity import refuse_changes
    path = out / RUN_RECORD
    if resume and path.is_file():
        try:
            stored = json.loads(path.read_text())["identity"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path} cannot be read ({type(e).__name__}: {e}); start a new run without --resume "
                             f"or in another --out") from None
        refuse_changes(stored, identity, f"run folder {out}",
                       "Resume with the same options, or start a new run (another --out, or no --resume).")
        return
    atomic_write_json(path, {"identity": identity})


def run_experiment(model_name: str, data_opts: DataOptions, config: TrainConfig, out_dir: str | Path,
                   resume: bool = False, pretrained: str | Path | None = None, log: Log | None = print,
                   datasets: dict | None = None, counts: dict | None = None, init: str | Path | None = None,
                   recipe=None, calibrate: bool = False, sensitivity_target: float | None = None,
                   model=None, context: str = "train") -> dict:
    """Prepare data, train, evaluate and write the report folder; returns the summary that is saved.

    The network trained is ``model`` when given (built by the caller, e.g. with a recipe), else the saved
    weights ``init``, else a fresh ``models.create(model_name, pretrained=pretrained)``.

    Writes into ``out_dir``: ``run.json`` (the options, compared on ``resume``), ``checkpoints/checkpoint.npz``
    (every epoch, for ``resume``), ``model.npz`` (the selected epoch), ``history.csv`` / ``history.json``,
    ``metrics.json``, ``predictions.csv``, ``counts.json``, the pictures of :mod:`squeezenp.reports.figures` and
    ``report.html`` (:func:`squeezenp.reports.pages.experiment_page`).
    ``context``: "train", or "search" when the validation split also chose the hyperparameters (it is said
    so in the report).

    ``recipe`` (``train.recipes.Recipe``, ``squeezenp train --recipe``): its preprocessing, augmentation,
    initialisation and test-time augmentation; ``config`` is then its ``TrainConfig`` (with any explicit
    changes) and ``data_opts.augment`` must be False (the recipe's x4 is applied by ``train_recipe``).
    ``calibrate``: fit the Platt calibration and the threshold on the validation split and store them in the
    model file (``evaluation.decision``); ``sensitivity_target`` chooses a sensitivity-first threshold.
    """
    from .. import models
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if recipe is not None and data_opts.augment:
        raise ValueError("run_experiment: a recipe brings its own augmentation; pass data_opts.augment=False")
    check_run_record(out, run_identity(model_name, data_opts, config, pretrained, init,
                                       recipe=None if recipe is None else recipe.as_dict(), calibrate=calibrate,
                                       sensitivity_target=sensitivity_target), resume)
    if datasets is None:
        datasets, counts, errors = prepare_datasets(data_opts, channels=3, log=log,
                                                    preprocessing=recipe.preprocessing if recipe else "none")
        if errors:
            atomic_write_json(out / "skipped_files.json", [{"path": str(p), "error": m} for p, m in errors])
    if model is not None:
        if model.config["name"] != model_name or model.config["input_size"] != data_opts.input_size:
            raise ValueError(f"run_experiment: the network given is {model.config['name']} at "
                             f"{model.config['input_size']} px, not {model_name} at {data_opts.input_size} px")
    elif init is not None:   # start from saved weights, e.g. the best model of a search (squeezenp tune)
        model = models.load_model(init)
        if model.config["name"] != model_name or model.config["input_size"] != data_opts.input_size:
            raise ValueError(f"--init {init} holds {model.config['name']} at {model.config['input_size']} px, "
                             f"not {model_name} at {data_opts.input_size} px")
    elif recipe is not None:   # the recipe's initialisation, input normalisation, ImageNet trunk
        from ..train.recipes import start_model
        tr = datasets["train"]
        model = start_model(recipe, tr.images, tr.labels, config.seed, weights=pretrained, model=model_name)
    else:
        model = models.create(model_name, num_classes=2, input_size=data_opts.input_size, seed=config.seed,
                              pretrained=pretrained)
    n_train = len(datasets["train"])
    if recipe is not None:   # prediction needs the recipe's preprocessing and test-time augmentation too
        model.config.update(recipe=recipe.name, ct_preprocessing=recipe.preprocessing, tta=recipe.tta)
        if recipe.augmentation == "x4" and counts is not None:
            counts = {**counts, "train_distinct": counts["train"],
                      "train": {k: 4 * v for k, v in counts["train"].items()}}
            n_train *= 4
    if log:
        log(f"training {model_name} ({model.num_parameters():,} parameters) for {config.epochs} epochs on "
            f"{n_train} images")
    result = train_model(model, datasets, config, out, resume, log, recipe=recipe)
    point = None
    if calibrate and "val" in datasets:
        from ..evaluation.decision import raw_probability, set_operating_point
        va = datasets["val"]
        point = set_operating_point(model, va.labels, raw_probability(model, va.images), sensitivity_target)
        if log:
            log(f"calibration fitted on the validation split: a={point['calibration']['a']:.3f}, "
                f"b={point['calibration']['b']:.3f}; threshold {point['threshold']:.4f} "
                f"({point['operating_point']})")
    source = data_opts.data if data_opts.data is not None else data_opts.phantom_dir
    if source is not None:   # so that evaluate knows whether this data's validation split chose the model
        model.config["trained_on"] = str(Path(source).resolve())
    models.save_model(model, out / "model.npz")
    write_history_csv(out / "history.csv", result.history)
    metrics, rows = evaluate_model(model, datasets)
    summary = {"model": model_name, "init": str(init) if init else None,
               "pretrained": str(pretrained) if pretrained else None, "parameters": model.num_parameters(),
               "recipe": recipe.as_dict() if recipe is not None else None, "config": dataclasses.asdict(config),
               "data": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(data_opts).items()},
               "counts": counts, "best_epoch": result.best_epoch, "seconds": result.seconds,
               "operating_point": point, "history": result.history}
    table = write_evaluation(out, metrics, rows, summary)
    atomic_write_json(out / "history.json", result.history)
    from ..reports import figures, pages, splits
    kept = "best validation accuracy" if config.select == "best" else "the last epoch"
    figures.write_training_figures(out, result.history, metrics, rows, result.best_epoch,
                                   f"{model_name}: loss and accuracy per epoch (kept: epoch {result.best_epoch}, "
                                   f"{kept})", splits.roles(metrics, context))
    summary["metrics"] = metrics
    pages.experiment_page(out, summary, context=context)
    if log:
        log(f"selected epoch {result.best_epoch} of {config.epochs} ({result.seconds:.0f}s)\n{table}")
        for split in metrics:
            log(f"  {split}: {splits.split_role(split, context)}")
    return summary
