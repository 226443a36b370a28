"""One trial of the search: train a network with given (lr, momentum, L2) and score it.

    score = 1 - validation accuracy of the selected epoch        (minimised by the optimiser)

A trial whose loss becomes NaN or infinite (``TrainingDiverged``) is a *failed* trial with the worst score,
1.0, so the search records it and goes on. ``run_trial`` is a plain function of picklable arguments: the
same code runs in the search process, in a local process pool and on Dask workers.

Tests: ``tests/search/test_objective.py``.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time

# Not NUMBA_NUM_THREADS: Numba re-reads its config, and a value other than the one its thread pool was launched
# with is an error; ``numba.set_num_threads`` is the supported way to use fewer threads.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_limits = None   # the threadpoolctl limiter, kept alive for the life of the worker
PROBE_IMAGES = 128   # training images, spread over the set, on which a trial checks for dead class maps


def limit_threads(n: int) -> dict:
    """Limit this process to ``n`` compute threads: BLAS/OpenMP (threadpoolctl) and Numba.

    Sets the BLAS/OpenMP environment variables too, which is what counts for libraries not loaded yet. Call it at the
    start of a worker (the ``initializer`` of the process pool, or the first thing a Dask task does).
    Numba's ``set_num_threads`` applies to the calling thread, the one that runs the trials.
    Returns what is in effect: ``{"numba": k, "blas": [threads per BLAS/OpenMP library]}``.
    """
    global _limits
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    import numba
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))   # first: it may load libgomp
    from threadpoolctl import threadpool_info, threadpool_limits
    _limits = threadpool_limits(limits=n)
    return {"numba": numba.get_num_threads(), "blas": [i["num_threads"] for i in threadpool_info()]}


def run_trial(model_name: str, data: dict, params: dict, epochs: int, seed: int = 0, batch_size: int | None = 32,
              input_size: int | None = None, init_state: dict | None = None, threads: int | None = None,
              lr_drop_factor: float = 0.8, lr_drop_period: int = 5, return_state: bool = True,
              recipe=None, should_stop=None) -> dict:
    """Train ``model_name`` on ``data`` with ``params`` = {lr, momentum, l2}; return the trial's result.

    Parameters
    ----------
    data : ``{"train": (x, y), "val": (x, y)}``, x (N, 3, H, W) float32 (NumPy arrays or read-only memmaps)
    init_state : initial weights (the ImageNet ones for experiment 3); None = the network's seeded init
    threads : limit the trial to this many threads (see ``limit_threads``); None leaves them as they are
    recipe : a ``train.recipes.Recipe`` whose loop, initialisation and input normalisation the trial follows
             (``params``, ``epochs``, the lr drop and a ``batch_size`` that is not None replace its values);
             None: the ``paper`` loop with ``batch_size`` (32 when None)
    should_stop : checked after every batch (``fit``); true raises ``TrainingCancelled`` out of the trial

    Returns
    -------
    dict with ``status`` ("ok" or "failed"), ``score``, ``val_accuracy``, ``val_loss``, ``best_epoch``,
    ``seconds``, ``error``, ``collapse`` (``train.collapse`` status of the returned network on the validation
    split), ``stopped_after`` (the epoch after which every class map was dead and training ended, or None) and,
    for an ok trial with ``return_state``, ``state`` (the selected epoch's weights).
    """
    if threads:
        limit_threads(threads)
    from .. import models
    from ..train import TrainConfig, TrainingDiverged, fit
    from ..train.collapse import collapse_report, irrecoverable
    x_tr, y_tr = data["train"]
    x_va, y_va = data["val"]
    size = input_size or x_tr.shape[-1]
    loop = dict(epochs=epochs, lr=params["lr"], momentum=params["momentum"], l2=params["l2"],
                lr_drop_factor=lr_drop_factor, lr_drop_period=lr_drop_period, seed=seed)
    if batch_size is not None or recipe is None:
        loop["batch_size"] = batch_size or 32
    if recipe is None:
        model = models.build(model_name, num_classes=2, input_size=size, in_channels=x_tr.shape[1], seed=seed)
        config = TrainConfig(**loop)
    else:
        from ..train.recipes import data_start
        model = models.build(model_name, num_classes=2, input_size=size, in_channels=x_tr.shape[1], seed=seed,
                              init=recipe.init, input_normalization=recipe.input_mode(model_name))
        data_start(model, x_tr, seed)
        config = dataclasses.replace(recipe.config(seed, model_name), **loop)
    if init_state is not None:
        model.load_state_dict(init_state)
    t0 = time.monotonic()
    probe = x_tr[::max(1, len(x_tr) // PROBE_IMAGES)][:PROBE_IMAGES]
    try:   # a trial whose class maps all die ends there: no further epoch can change its result
        res = fit(model, (x_tr, y_tr), (x_va, y_va), config, log=None, stop_when=irrecoverable(probe),
                  should_stop=should_stop)
    except TrainingDiverged as e:
        return failed(str(e), time.monotonic() - t0)
    best = next(h for h in res.history if h["epoch"] == res.best_epoch)
    va, vl = best.get("val_accuracy", float("nan")), best.get("val_loss", float("nan"))
    if not (math.isfinite(va) and math.isfinite(vl)):
        return failed(f"non-finite validation result (accuracy {va}, loss {vl})", time.monotonic() - t0)
    out = {"status": "ok", "score": 1.0 - va, "val_accuracy": va, "val_loss": vl, "best_epoch": res.best_epoch,
           "seconds": time.monotonic() - t0, "error": "", "collapse": collapse_report(model, x_va)["status"],
           "stopped_after": res.history[-1]["epoch"] if res.history[-1].get("stopped") else None}
    if return_state:
        out["state"] = model.state_dict()
    return out


class Every:
    """``check()``, called at most once per ``seconds`` (False in between): a remote flag polled by a trial."""

    def __init__(self, check, seconds: float = 1.0):
        self.check, self.seconds, self.last = check, seconds, time.monotonic()

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return bool(self.check())


def failed(message: str, seconds: float) -> dict:
    """The record of a failed trial: the worst score, 1.0."""
    return {"status": "failed", "score": 1.0, "val_accuracy": None, "val_loss": None, "best_epoch": None,
            "seconds": seconds, "error": message}
