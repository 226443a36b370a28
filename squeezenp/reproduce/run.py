"""The paper's experiment end to end, resumable stage by stage.

    for each arrangement (1; 2 when a second COVID source is given), in OUT/arrangement{a}/:
      search/          Bayesian search of the four experiments (squeezenp.search.tune; resumes per trial)
      counts.json      Tables 1/2: the images actually used per split (train after the x4 augmentation)
      retrain/experiment{k}/   the winner trained further from the best trial's weights, checkpointed every
                       epoch and resumed by the trainer; metrics.json holds every evaluated split (val, test1...)
      timing.json      section 3.3: file -> probability, batch 1, per network
      cam_grid.png     Figures 4/5: validation COVID images x the four trained networks
    OUT/report.md      every table with the paper's values beside ours (squeezenp.reproduce.report)

Resuming: re-run the same command. Finished trials are not re-run, a finished retraining (``retrain.json``
matching its configuration) is skipped and an interrupted one continues after its last saved epoch;
evaluation, timing, CAM and the report are cheap and recomputed. A run folder holds one preset and one data
source (``reproduce.json``); other options are refused.
Tests: ``tests/reproduce/test_reproduce.py``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.atomic import atomic_write_json
from ..core.errors import CommandError
from ..app.pipeline import DataOptions, prepare_datasets, run_experiment
from ..search import EXPERIMENTS, TuneSettings, tune
from ..train import TrainConfig
from ..train.recipes import Recipe, get_recipe
from .presets import Preset

Log = Callable[[str], None]
Hook = Callable[[str, int, int | None], None]   # (stage, arrangement, experiment); stages: search, retrain, arrangement


def _jsonable(d: dict) -> dict:
    return json.loads(json.dumps(d, default=str))


def data_options(base: DataOptions, preset: Preset, arrangement: int, out: Path) -> DataOptions:
    """The preset's size/limit applied to the user's data options, for ``arrangement``."""
    return dataclasses.replace(
        base, arrangement=arrangement, input_size=preset.input_size, limit=preset.limit, augment=preset.augment,
        phantoms_per_class=preset.phantoms_per_class, phantom_size=preset.phantom_size,
        phantom_dir=(base.phantom_dir or out / "phantoms") if base.data is None else base.phantom_dir)


def machine() -> dict:
    """What the run ran on, for the report: host, CPU model, logical cores, Python."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def record_session(out: Path, started: float, completed: bool) -> None:
    """Append this invocation's wall-clock time to ``sessions.json`` (a resumed run has several)."""
    path = out / "sessions.json"
    sessions = json.loads(path.read_text())["sessions"] if path.is_file() else []
    sessions.append({"started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                     "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.time() - started, 1),
                     "completed": completed, **machine()})
    atomic_write_json(path, {"sessions": sessions})


def check_identity(out: Path, identity: dict) -> None:
    """Write ``reproduce.json`` on a new run; refuse to resume a run made with another preset or data, naming
    each changed option (old -> new). The data are fingerprinted, so the folder can be moved (``core.identity``)."""
    from ..core.identity import check_resumed
    path = out / "reproduce.json"
    identity = _jsonable(identity)
    if path.exists():
        stored = json.loads(path.read_text())
        if check_resumed(stored.get("identity") or {}, identity, f"{out} holds a reproduction that",
                         "Use the same options to resume it, or another --out."):
            atomic_write_json(path, {**stored, "identity": identity})
    else:
        atomic_write_json(path, {"identity": identity, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                 "host": platform.node(), "python": platform.python_version()})


def reproducible_recipes() -> list[str]:
    """The recipes a reproduction can train with: those that take the paper's data as the run prepares them
    (no preprocessing, the fixed x4 augmentation, no ImageNet trunk for the from-scratch networks)."""
    from ..train.recipes import RECIPES
    return sorted(n for n, r in RECIPES.items()
                  if r.preprocessing == "none" and r.augmentation == "x4" and not r.imagenet_trunk)


def preset_recipe(preset: Preset, recipe: str | None = None) -> Recipe:
    """The recipe the run trains with: ``recipe`` or the preset's, at the preset's input size."""
    name = recipe or preset.recipe
    if name not in reproducible_recipes():
        raise ValueError(f"recipe {name!r} cannot run the paper's protocol (it changes the data the run prepares); "
                         f"expected one of {reproducible_recipes()}")
    return get_recipe(name, input_size=preset.input_size)


def reproduce(base: DataOptions, preset: Preset, out, second_source=None, jobs: int = 1,
              threads_per_trial: int | None = None, scheduler=None, pretrained=None, log: Log | None = print,
              hook: Hook | None = None, recipe: str | None = None) -> Path:
    """Run (or resume) the whole reproduction into ``out``; returns the path of ``report.md``.

    ``base``: where the data come from (``data``/``layout``/``splits_dir``/``on_error``/``seed``; ``data=None``
    means phantoms); the preset sets the size, the limit and the augmentation; ``recipe`` (default: the preset's)
    the training loop, initialisation and input normalisation. ``hook(stage, a, k)`` is called
    after each experiment's search ("search"), each retraining ("retrain") and each arrangement
    ("arrangement", k None): progress reports, and interruption in the tests.
    """
    from .report import write_report
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    second_source = second_source if second_source is not None else base.second_source
    arrangements = [1, 2] if second_source is not None else [1]
    base = dataclasses.replace(base, second_source=second_source)
    from ..core.identity import data_identity
    r = preset_recipe(preset, recipe)
    check_identity(out, {"preset": preset.as_dict(), "data": data_identity(data_options(base, preset, 1, out)),
                         "arrangements": arrangements, "recipe": r.as_dict()})
    retrain_threads = threads_per_trial or (1 if jobs > 1 else None)
    if retrain_threads:   # retraining runs here with a trial's thread budget: one per core (docs/search.md)
        from ..search import limit_threads
        limit_threads(retrain_threads)
    started, completed = time.time(), False
    try:
        for a in arrangements:
            opts = data_options(base, preset, a, out)
            run_arrangement(a, opts, preset, out / f"arrangement{a}", jobs, threads_per_trial, scheduler,
                            pretrained, log, hook, r)
            if hook:
                hook("arrangement", a, None)
        completed = True
    finally:   # also when interrupted: the report adds up the sessions of a resumed run
        record_session(out, started, completed)
    return write_report(out, log=log)


def run_arrangement(a: int, opts: DataOptions, preset: Preset, folder: Path, jobs=1, threads_per_trial=None,
                    scheduler=None, pretrained=None, log: Log | None = print, hook: Hook | None = None,
                    recipe: Recipe | None = None) -> dict:
    """Search, retrain, evaluate, time and draw the CAMs of the four networks on arrangement ``a``."""
    recipe = recipe or preset_recipe(preset)
    settings = TuneSettings(calls=preset.calls, epochs=preset.search_epochs, batch_size=preset.batch_size,
                            seed=opts.seed, jobs=jobs, threads_per_trial=threads_per_trial, scheduler=scheduler,
                            n_initial_points=preset.n_initial_points, lr_drop_factor=preset.lr_drop_factor,
                            lr_drop_period=preset.lr_drop_period, pretrained=pretrained, recipe=recipe)

    def on_trial(k, trial):
        if hook and trial["trial"] >= preset.calls:
            hook("search", a, k)
    if log:
        log(f"arrangement {a}: Bayesian search, {preset.calls} calls x {preset.search_epochs} epochs per network")
    summaries = tune(list(EXPERIMENTS), opts, settings, folder / "search", log=log, on_trial=on_trial)

    datasets, counts, errors = prepare_datasets(opts, channels=3, log=log)
    atomic_write_json(folder / "counts.json", {"arrangement": a, "counts": counts,
                                               "skipped_files": [str(p) for p, _ in errors]})
    trained = {}
    for k in EXPERIMENTS:
        if summaries[k].get("best_trial") is None:   # every trial diverged: the report says so, the rest goes on
            if log:
                log(f"experiment {k} ({EXPERIMENTS[k]}): every search trial failed, nothing to retrain")
        else:
            trained[k] = retrain(k, summaries[k], opts, preset, datasets, counts,
                                 folder / "retrain" / f"experiment{k}", pretrained, log, recipe)
        if hook:
            hook("retrain", a, k)
    from .. import models
    nets = {k: models.load_model(p) for k, p in trained.items()}
    if not nets:
        raise RuntimeError(f"arrangement {a}: every search trial of every network failed; nothing to evaluate")
    val = datasets.get("val")
    if val is None or not len(val) or val.paths is None:
        raise ValueError("the timing and CAM stages need validation images read from files")
    atomic_write_json(folder / "timing.json", {"image": str(val.paths[0]), "repeats": preset.timing_repeats,
                                               "networks": {k: classification_time(m, val.paths[0],
                                                                                   preset.timing_repeats)
                                                            for k, m in nets.items()}})
    write_cam_grid(nets, val, folder / "cam_grid.png", preset.cam_images,
                   Path(opts.phantom_dir) if opts.data is None else None)
    return summaries


def retrain_config(summary: dict, preset: Preset, seed: int, recipe: Recipe | None = None,
                   network: str = "proposed") -> TrainConfig:
    """The recipe's loop for ``network`` with the best trial's lr, momentum and L2 and the preset's epochs, lr drop
    and (unless None) batch size."""
    recipe = recipe or preset_recipe(preset)
    loop = dict(epochs=preset.retrain_epochs, lr=summary["lr"], momentum=summary["momentum"], l2=summary["l2"],
                lr_drop_factor=preset.lr_drop_factor, lr_drop_period=preset.lr_drop_period, seed=seed)
    if preset.batch_size is not None:
        loop["batch_size"] = preset.batch_size
    return dataclasses.replace(recipe.config(seed, network), **loop)


def retrain(k: int, summary: dict, opts: DataOptions, preset: Preset, datasets: dict, counts: dict, folder: Path,
            pretrained=None, log: Log | None = print, recipe: Recipe | None = None) -> Path:
    """Train experiment ``k``'s winner ``preset.retrain_epochs`` more epochs from the best trial's weights.

    Returns the path of the trained ``model.npz``. Skipped when ``retrain.json`` records the same
    configuration; otherwise resumes from ``checkpoints/checkpoint.npz`` (written after every epoch).
    ``retrain.json`` also records whether the trained network collapsed (``train.collapse``, on the validation
    split).
    """
    from .. import models
    from ..train.collapse import collapse_report
    if summary.get("best_trial") is None:
        raise CommandError(f"experiment {k} ({EXPERIMENTS[k]}): every search trial failed, nothing to retrain")
    recipe = recipe or preset_recipe(preset)
    name = EXPERIMENTS[k]
    config = retrain_config(summary, preset, opts.seed, recipe, name)
    init = summary.get("best_model")      # None when best_model.npz does not match the best trial: fresh start
    ident = _jsonable({"config": dataclasses.asdict(config), "init": init, "best_trial": summary["best_trial"],
                       "recipe": recipe.as_dict()})
    done = folder / "retrain.json"
    if done.exists() and json.loads(done.read_text()).get("identity") == ident and (folder / "model.npz").exists():
        if log:
            log(f"experiment {k} ({name}): retraining already done, skipped")
        return folder / "model.npz"
    if log:
        log(f"experiment {k} ({name}): retraining {config.epochs} epochs from "
            f"{'trial ' + str(summary['best_trial']) if init else 'a fresh initialisation'} (lr {config.lr:.4g}, "
            f"momentum {config.momentum:.4g}, L2 {config.l2:.4g}, batch {config.batch_size})")
    start = None
    if init is None:   # the recipe's fresh network (initialisation, input normalisation, ImageNet weights)
        from ..train.recipes import build_model
        start = build_model(recipe, datasets["train"].images, opts.seed, weights=pretrained, model=name)
    res = run_experiment(name, opts, config, folder, resume=True, pretrained=pretrained, log=log,
                         datasets=datasets, counts=counts, init=init, model=start, context="search")
    collapse = collapse_report(models.load_model(folder / "model.npz"), datasets["val"].images)
    if log and collapse["status"] != "ok":
        log(f"experiment {k} ({name}): {collapse['status']}")
    atomic_write_json(done, {"identity": ident, "best_epoch": res["best_epoch"], "seconds": res["seconds"],
                             "parameters": res["parameters"], "metrics": res["metrics"], "collapse": collapse})
    return folder / "model.npz"


def classification_time(model, path, repeats: int = 5) -> dict:
    """Section 3.3: seconds from the file path to P(COVID), batch 1 (decode, resize, normalise, forward, softmax).

    One warm-up call first (Numba kernels), then ``repeats`` timed calls; median and minimum.
    """
    import numba

    from ..data import load_image
    size = int(model.config["input_size"])

    def classify():
        x = load_image(path, (size, size), model.in_channels)
        return model.predict_proba(x[None])[0, 1]
    classify()
    times = []
    for _ in range(max(1, int(repeats))):
        t0 = time.perf_counter()
        classify()
        times.append(time.perf_counter() - t0)
    return {"network": model.name, "parameters": model.num_parameters(), "input_size": size,
            "seconds_median": float(np.median(times)), "seconds_min": float(np.min(times)), "repeats": len(times),
            "threads": numba.get_num_threads()}


def write_cam_grid(nets: dict, val, path: Path, n: int, phantom_root: Path | None = None) -> Path:
    """Figures 4/5: the first ``n`` validation COVID images, original then each network's COVID map."""
    from ..reports.cam import class_activation_maps, load_mask
    from ..data import load_grayscale, load_image
    from ..reports.figures import cam_grid
    idx = [i for i in range(len(val)) if int(val.labels[i]) == 1][:max(1, n)]
    if not idx:
        raise ValueError("no COVID image in the validation split for the CAM figure")
    files = [Path(val.paths[i]) for i in idx]
    grays = [load_grayscale(p) for p in files]
    maps, probs, titles = [], [], []
    for k, m in nets.items():
        size = int(m.config["input_size"])
        x = np.stack([load_image(p, (size, size), m.in_channels) for p in files])
        res = class_activation_maps(m, x, "covid")
        maps.append(res.maps)
        probs.append(res.probabilities[:, 1])
        titles.append(f"{k}: {m.name}")
    masks = None
    if phantom_root is not None:
        found = [phantom_root / "masks" / "val" / "COVID" / p.name for p in files]
        masks = [load_mask(f) if f.is_file() else None for f in found]
    cam_grid(grays, maps, titles, path, row_labels=[p.name for p in files], probabilities=probs, masks=masks,
             true_labels=["COVID"] * len(files),
             title="Class activation maps of COVID: validation COVID images x the four networks")
    atomic_write_json(path.with_suffix(".json"), {"images": [str(p) for p in files], "class": "covid",
                                                   "networks": titles,
                                                   "probability_covid": [pr.tolist() for pr in probs]})
    return path
