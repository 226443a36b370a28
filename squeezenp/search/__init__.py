"""Bayesian hyperparameter search: learning rate, momentum and L2 of each network, as in the paper.

Public API::

    tune(experiments, data_opts, settings, out, log=print, on_trial=None) -> {k: summary}
    TuneSettings(calls=30, epochs=20, jobs=1, threads_per_trial=None, scheduler=None, space=SearchSpace(), ...)
    SearchSpace(lr=(1e-4, 1e-1), momentum=(0.5, 0.99), l2=(1e-10, 1e-2));  default_space(k): lr range per network
    EXPERIMENTS {1..4: network}
    run_trial(model_name, data, params, epochs, ...) -> result dict;  limit_threads(n)
    TrialStore(folder);  PAPER_RESULTS, paper_row(arrangement, experiment)

Usage and the measured cost of the full protocol: ``docs/search.md``.
"""
from .distributed import DaskRunner, PoolRunner, SerialRunner, make_runner
from .objective import limit_threads, run_trial
from .paper import PAPER_RESULTS, paper_row
from .space import EXPERIMENTS, LR_BOUNDS, PARAM_NAMES, SearchSpace, default_space
from .store import TrialStore
from .tune import TuneSettings, format_table, make_optimizer, surrogate_accuracy, tune, tune_experiment

__all__ = ["tune", "tune_experiment", "TuneSettings", "SearchSpace", "default_space", "LR_BOUNDS", "EXPERIMENTS", "PARAM_NAMES", "run_trial",
           "limit_threads", "TrialStore", "PAPER_RESULTS", "paper_row", "make_runner", "SerialRunner",
           "PoolRunner", "DaskRunner", "make_optimizer", "surrogate_accuracy", "format_table"]
