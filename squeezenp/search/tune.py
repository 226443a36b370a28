"""The paper's Bayesian hyperparameter search, resumable and parallel.

    tune(experiments, data_opts, settings, out)          all requested experiments, data prepared once
      -> tune_experiment(k, ...)                         one network: skopt Optimizer, ask / run / tell
           -> runner.run(jobs)                           trials in this process, a process pool or Dask
           -> TrialStore.append(trial)                   trials.json / trials.csv after every trial

The optimiser is skopt's ``Optimizer`` (a Gaussian process with expected improvement, the loop of
``gp_minimize`` written out with ask/tell), so that ``parallel`` points are asked at a time. The score is
1 - validation accuracy.

Resuming: every trial records which ask it came from (``ask``, ``ask_size``). A resumed search replays the
record into a fresh optimiser exactly as the search ran it, an ask before each batch and a tell after each
trial (``replay``), so the optimiser's state and random stream are where the interrupted search left them:
the points of an unfinished batch are run first, and the next point asked is the one an uninterrupted search
would have asked for. A record the optimiser does not reproduce (other settings or skopt version, or written
before asks were recorded) is told as it stands, with a warning.

Output, per experiment, in ``OUT/experiment{k}/``: ``trials.json``, ``trials.csv``, ``search.json`` (the
settings), ``best_model.npz`` (+ ``best_model.json``), ``summary.md`` and ``summary.json`` laid out like the
paper's Tables 3 and 4; ``OUT/summary.md`` / ``OUT/summary.json`` gather the experiments.

Tests: ``tests/search/test_tune.py``.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

from ..core.atomic import atomic_write_json, atomic_write_text
from ..train.trainer import format_seconds
from .distributed import make_runner
from ..train.paper import PAPER_TABLE, paper_row
from .space import EXPERIMENTS, PARAM_NAMES, SearchSpace, default_space, to_params, to_point
from .store import TrialStore, best_key

Log = Callable[[str], None]


@dataclasses.dataclass
class TuneSettings:
    """How to search. ``n_initial_points`` (random points before the GP is used) defaults to min(10, calls)."""
    calls: int = 30
    epochs: int = 20
    batch_size: int | None = 32              # None: the recipe's
    seed: int = 0
    jobs: int = 1
    threads_per_trial: int | None = None
    scheduler: object = None                 # Dask scheduler address or Client
    n_initial_points: int | None = None
    acq_func: str = "EI"
    space: SearchSpace | dict | None = None  # None: default_space(k); dict: bounds replacing default_space(k)'s
    lr_drop_factor: float = 0.8
    lr_drop_period: int = 5
    pretrained: str | None = None            # ImageNet weights for experiment 3 (default: shared folder)
    recipe: object = None                    # a train.recipes.Recipe the trials follow (None: the paper loop)

    def __post_init__(self):
        if self.calls < 1 or self.epochs < 1 or self.jobs < 1:
            raise ValueError(f"calls, epochs and jobs must be >= 1, got {self.calls}, {self.epochs}, {self.jobs}")

    def initial_points(self) -> int:
        return min(self.n_initial_points or 10, self.calls)

    def space_for(self, experiment: int) -> SearchSpace:
        """The space searched for ``experiment``: ``space`` if it is one, else the experiment's default with the
        bounds given in ``space`` (a dict such as ``{"lr": (1e-5, 1e-2)}``) replaced."""
        if isinstance(self.space, SearchSpace):
            return self.space
        bounds = {**(self.recipe.search_space if self.recipe is not None else {}), **(self.space or {})}
        return dataclasses.replace(default_space(experiment), **{k: tuple(v) for k, v in bounds.items()})

    def identity(self, experiment: int) -> dict:
        """What defines a search (resuming with anything else is refused); calls may grow, jobs may change."""
        d = {"epochs": self.epochs, "batch_size": self.batch_size, "seed": self.seed,
             "n_initial_points": self.initial_points(), "acq_func": self.acq_func,
             "space": self.space_for(experiment).as_dict(),
             "lr_drop_factor": self.lr_drop_factor, "lr_drop_period": self.lr_drop_period}
        if self.recipe is not None:
            d["recipe"] = self.recipe.as_dict()
        return d


def make_optimizer(settings: TuneSettings, experiment: int):
    from skopt import Optimizer
    return Optimizer(settings.space_for(experiment).dimensions(), base_estimator="GP", acq_func=settings.acq_func,
                     n_initial_points=settings.initial_points(), random_state=settings.seed)


def surrogate_accuracy(opt, params: dict) -> float | None:
    """1 - the last fitted Gaussian process's mean at ``params`` (None before the GP is first fitted)."""
    if not opt.models:
        return None
    return float(1.0 - opt.models[-1].predict(opt.space.transform([to_point(params)]))[0])


def _prepare(data_opts, log):
    from ..app.pipeline import prepare_datasets
    datasets, counts, errors = prepare_datasets(data_opts, channels=3, log=log)
    if "val" not in datasets or not len(datasets["val"]):
        raise ValueError("the search scores trials on the validation split, and it is empty")
    return {s: (datasets[s].images, datasets[s].labels) for s in ("train", "val")}, counts


def tune(experiments, data_opts, settings: TuneSettings, out, log: Log | None = print,
         on_trial: Callable[[int, dict], None] | None = None) -> dict[int, dict]:
    """Run (or resume) the search for each experiment number in ``experiments``; returns their summaries.

    The data are decoded and augmented once for all experiments and shipped once to the workers.
    ``on_trial(k, trial)`` is called after each trial is saved (progress hooks, tests).
    """
    out = Path(out)
    experiments = list(experiments)
    for k in experiments:
        if k not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {k}; expected one of {list(EXPERIMENTS)}")
    stores = {k: TrialStore(out / f"experiment{k}") for k in experiments}
    for k, store in stores.items():
        store.check_settings(_identity(k, data_opts, settings))
    runner = None
    if any(len(s.trials) < settings.calls for s in stores.values()):
        data, counts = _prepare(data_opts, log)
        atomic_write_json(out / "counts.json", counts)
        runner = make_runner(data, settings.jobs, settings.threads_per_trial, settings.scheduler,
                             out / ".prepared")
        if log:
            log(f"searching with {runner.parallel} trial(s) at a time ({type(runner).__name__})")
    summaries = {}
    try:
        for k in experiments:
            summaries[k] = tune_experiment(k, stores[k], runner, data_opts, settings, log, on_trial)
    finally:
        if runner is not None:
            runner.close()
    if len(summaries) > 1:
        atomic_write_json(out / "summary.json", list(summaries.values()))
        table = format_table(list(summaries.values()))
        atomic_write_text(out / "summary.md", table + "\n")
        if log:
            log(table)
    page = write_search_page(out, list(summaries.values()), data_opts, settings)
    if log:
        log(f"report: {page}")
    return summaries


def write_search_page(out: Path, summaries: list, data_opts, settings: TuneSettings) -> Path:
    """``OUT/report.html``: settings, data, the best trial per experiment, the progress pictures."""
    from ..reports.pages import data_source, search_page
    counts = json.loads((out / "counts.json").read_text()) if (out / "counts.json").is_file() else {}
    d = dataclasses.asdict(data_opts)
    config = {"experiments": ", ".join(f"{s['experiment']} ({s['network']})" for s in summaries),
              "trials per experiment": f"{settings.calls}, the first {settings.initial_points()} at random, then "
                                       f"the Gaussian process's expected improvement ({settings.acq_func})",
              "each trial": f"{settings.epochs} epoch{'s' if settings.epochs > 1 else ''}, batch "
                            f"{settings.batch_size}, learning rate x{settings.lr_drop_factor:g} every {settings.lr_drop_period} epochs; score = "
                            "1 - best validation accuracy",
              "data": data_source(d), "input": f"{d['input_size']} x {d['input_size']} px",
              "augmentation": "x4 of the training images" if d.get("augment") else "none",
              "seed": str(settings.seed), "trials at once": str(settings.jobs)}
    return search_page(out, summaries, counts, config)


def _identity(k, data_opts, settings) -> dict:
    """Relocatable: the data folders are fingerprints, the phantom folder's place is left out (``core.identity``)."""
    from ..core.identity import data_identity
    return {"experiment": k, "network": EXPERIMENTS[k], **settings.identity(k), "data": data_identity(data_opts)}


def _template(name, data_opts, settings):
    """The network as trials start (ImageNet weights loaded for experiment 3): its state is sent to trials.
    With a recipe, its initialisation and input normalisation (a zerocenter mean image is set by each trial)."""
    from .. import models
    r = settings.recipe
    extra = {} if r is None else {"init": r.init, "input_normalization": r.input_mode(name)}
    return models.create(name, num_classes=2, input_size=data_opts.input_size, seed=settings.seed,
                         pretrained=settings.pretrained, **extra)


def tune_experiment(k: int, store: TrialStore, runner, data_opts, settings: TuneSettings, log: Log | None = print,
                    on_trial=None) -> dict:
    """The search for experiment ``k`` (network ``EXPERIMENTS[k]``): resume from ``store``, run, summarise."""
    from .. import models
    name, folder, calls = EXPERIMENTS[k], store.folder, settings.calls
    opt = make_optimizer(settings, k)
    pending: list = []
    if store.trials:
        if log:
            log(f"experiment {k} ({name}): resuming after {len(store.trials)} completed trial(s)")
        pending = replay(opt, store.trials, log)
    ask_no = max((t.get("ask", 0) for t in store.trials), default=0)
    best = store.best()
    sidecar = folder / "best_model.json"
    model_ok = best is None or (sidecar.exists() and (folder / "best_model.npz").exists()
                                and json.loads(sidecar.read_text()).get("trial") == best["trial"])
    template = init_state = None
    if len(store.trials) < calls:
        template = _template(name, data_opts, settings)
        init_state = template.state_dict() if name == "squeezenet_bypass_transfer" else None
    t0, done_here = time.monotonic(), 0
    while len(store.trials) < calls:
        if pending:              # the rest of the batch an interruption cut short, as asked then
            xs, pending = pending[:calls - len(store.trials)], []
            ask_size = store.trials[-1].get("ask_size", len(xs))
        else:
            n = ask_size = min(runner.parallel, calls - len(store.trials))
            xs = opt.ask(n_points=n) if n > 1 else [opt.ask()]
            ask_no += 1
        jobs = [dict(model_name=name, params=to_params(x), epochs=settings.epochs, seed=settings.seed,
                     batch_size=settings.batch_size, input_size=data_opts.input_size, init_state=init_state,
                     lr_drop_factor=settings.lr_drop_factor, lr_drop_period=settings.lr_drop_period,
                     recipe=settings.recipe) for x in xs]
        for job, res in runner.run(jobs):
            state = res.pop("state", None)
            trial = {"trial": len(store.trials) + 1, **job["params"], **res, "ask": ask_no, "ask_size": ask_size}
            if trial["status"] == "ok" and (best is None or best_key(trial) < best_key(best)):
                template.load_state_dict(state)
                template.config["search_trial"] = trial["trial"]
                models.save_model(template, folder / "best_model.npz")
                atomic_write_json(sidecar, {"trial": trial["trial"], "val_accuracy": trial["val_accuracy"],
                                            **job["params"]})
                best, model_ok = trial, True
            opt.tell(to_point(job["params"]), trial["score"])
            store.append(trial)                       # the trial counts as done from here on
            done_here += 1
            if log:
                log(progress_line(k, name, trial, calls, best, time.monotonic() - t0, done_here))
            if on_trial:
                on_trial(k, trial)
    summary = summarise(k, store, opt, data_opts, model_ok, settings.recipe)
    atomic_write_json(folder / "summary.json", summary)
    from ..reports.figures import save_png, search_progress
    save_png(search_progress(store.trials, f"experiment {k} ({name}): validation accuracy per trial",
                             settings.initial_points()), folder / "search_progress.png")
    table = format_table([summary])
    atomic_write_text(folder / "summary.md", table + "\n")
    if log:
        log(table)
    return summary


def replay(opt, trials: list[dict], log: Log | None = None) -> list:
    """Tell ``trials`` to the fresh optimiser ``opt`` as the search did: ask each batch, then tell its trials.

    Returns the points of the last batch that were asked but have no trial yet (an interrupted batch).
    Trials without ``ask`` (older records) count as batches of one, as a serial search asks them.
    """
    batches: list[tuple[int, list[dict]]] = []
    for i, t in enumerate(trials):
        key = t.get("ask", -1 - i)        # -1 - i: one batch per trial in a record without asks
        if batches and batches[-1][0] == key:
            batches[-1][1].append(t)
        else:
            batches.append((key, [t]))
    pending: list = []
    told = 0
    for _, group in batches:
        size = int(group[0].get("ask_size", 1))
        xs = opt.ask(n_points=size) if size > 1 else [opt.ask()]
        left = [list(map(float, x)) for x in xs]
        for t in group:
            point = to_point(t)
            match = next((x for x in left if _same_point(x, point)), None)
            if match is None:
                if log:
                    log(f"warning: trial {t['trial']} of the record is not the point this optimiser asks for (other "
                        f"settings or skopt version, or a record from before asks were kept): the remaining "
                        f"trials are told as recorded, and the search may differ from an uninterrupted one")
                for u in trials[told:]:
                    opt.tell(to_point(u), u["score"])
                return []
            left.remove(match)
            opt.tell(point, t["score"])
            told += 1
        pending = left
    return pending


def _same_point(a, b) -> bool:
    return all(abs(x - y) <= 1e-12 * max(abs(x), abs(y)) for x, y in zip(a, b))


def progress_line(k, name, trial, calls, best, elapsed, done_here) -> str:
    p = trial
    head = (f"experiment {k} ({name}) trial {p['trial']}/{calls}: lr {p['lr']:.3g} momentum {p['momentum']:.4f} "
            f"l2 {p['l2']:.3g} -> ")
    if p["status"] == "ok":
        head += f"val acc {p['val_accuracy']:.4f} (score {p['score']:.4f})"
    else:
        head += f"FAILED (score 1.0): {p['error'][:80]}"
    best_txt = f"best {best['val_accuracy']:.4f} (trial {best['trial']})" if best else "best: none yet"
    eta = elapsed / done_here * (calls - p["trial"])
    return f"{head} in {p['seconds']:.0f}s | {best_txt} | elapsed {format_seconds(elapsed)} ETA {format_seconds(eta)}"


def summarise(k, store: TrialStore, opt, data_opts, model_ok: bool, recipe=None) -> dict:
    best = store.best()
    name = EXPERIMENTS[k]
    s = {"experiment": k, "network": name, "arrangement": data_opts.arrangement,
         "paper_table": PAPER_TABLE[data_opts.arrangement], "trials": len(store.trials),
         "failed": sum(t["status"] != "ok" for t in store.trials),
         "collapsed": sum(str(t.get("collapse", "")).startswith("collapsed") for t in store.trials),
         "seconds": sum(t["seconds"] for t in store.trials), "best_trial": None, "observed_accuracy": None,
         "estimated_accuracy": None, **{p: None for p in PARAM_NAMES}, "best_epoch": None,
         "best_model": None, "retrain_command": None, "paper": paper_row(data_opts.arrangement, k)}
    if best is None:
        return s
    s.update(best_trial=best["trial"], observed_accuracy=best["val_accuracy"], best_collapse=best.get("collapse"),
             estimated_accuracy=surrogate_accuracy(opt, best), best_epoch=best["best_epoch"],
             **{p: best[p] for p in PARAM_NAMES})
    folder = store.folder
    recipe_name = recipe.name if recipe is not None else "paper"     # the loop the trials trained with
    s["retrain_command"] = (f"squeezenp train --recipe {recipe_name} --model {name} --init {folder / 'best_model.npz'} "
                            f"--lr {best['lr']:.6g} --momentum {best['momentum']:.6g} --l2 {best['l2']:.6g} "
                            f"--epochs 20 --out {folder / 'retrain'}{data_args(data_opts)}")
    if model_ok:
        s["best_model"] = str(folder / "best_model.npz")
    else:
        s["retrain_command"] = s["retrain_command"].replace(f"--init {folder / 'best_model.npz'} ", "")
    return s


def data_args(o) -> str:
    """The ``squeezenp train`` data options that rebuild the data of ``DataOptions`` ``o``."""
    a = ""
    if o.data is None:
        a += f" --phantoms {o.phantoms_per_class} --phantom-size {o.phantom_size}"
    else:
        a += f" --data {o.data} --layout {o.layout}" + (f" --splits {o.splits_dir}" if o.splits_dir else "")
    a += f" --arrangement {o.arrangement}" + (f" --second-source {o.second_source}" if o.second_source else "")
    a += f" --input-size {o.input_size} --seed {o.seed}"
    a += (" --no-augment" if not o.augment else "") + (f" --limit {o.limit}" if o.limit else "")
    return a + (" --skip-bad" if o.on_error == "skip" else "")


def _fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def format_table(summaries: list[dict]) -> str:
    """Our rows beside the paper's, as in its Tables 3 (arrangement 1) and 4 (arrangement 2)."""
    tables = sorted({s["paper_table"] for s in summaries})
    lines = [f"Bayesian optimisation results (compare with the paper's {', '.join(tables)})", "",
             "| experiment | network | source | observed best accuracy | estimated accuracy | learning rate "
             "| momentum | L2 | trials (failed) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        lines.append(f"| {s['experiment']} | {s['network']} | ours (trial {s['best_trial']}) "
                     f"| {_fmt(s['observed_accuracy'], '.4f')} | {_fmt(s['estimated_accuracy'], '.4f')} "
                     f"| {_fmt(s['lr'], '.4g')} | {_fmt(s['momentum'], '.5g')} | {_fmt(s['l2'], '.4g')} "
                     f"| {s['trials']} ({s['failed']}) |")
        p = s["paper"]
        lines.append(f"| {s['experiment']} | {s['network']} | paper {s['paper_table']} "
                     f"| {_fmt(p['observed_accuracy'], '.4f')} | {_fmt(p['estimated_accuracy'], '.4f')} "
                     f"| {_fmt(p['lr'], '.4g')} | {_fmt(p['momentum'], '.5g')} | {_fmt(p['l2'], '.4g')} | 30 |")
    for s in summaries:
        if s["retrain_command"]:
            note = "" if s["best_model"] else " (best_model.npz does not match the best trial: retrain from scratch)"
            lines += ["", f"experiment {s['experiment']}: train the best longer{note}:", f"    {s['retrain_command']}"]
    return "\n".join(lines)
