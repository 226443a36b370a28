"""Where trials run: in this process, in a local process pool, or on a Dask cluster.

Every runner has ``parallel`` (how many trials run at once, so the search asks that many points at a
time), ``run(jobs)`` (yields ``(job, result)`` as trials finish, in completion order) and ``close()``.
The prepared data travel once per search, never once per trial:

- ``SerialRunner``: the arrays in memory.
- ``PoolRunner``: the arrays are written once as ``.npy`` under ``OUT/.prepared/``; each worker memory-maps
  them in its ``initializer`` (the page cache holds one copy for all workers). Workers are started with the
  ``spawn`` method and limited to ``threads`` threads each (``limit_threads``), so ``jobs`` trials use
  ``jobs * threads`` cores without oversubscription.
- ``DaskRunner``: the arrays are ``client.scatter``-ed once (``broadcast=True``) to every worker, so workers
  need no shared file system. Each trial occupies one worker thread and, unless ``threads`` says otherwise,
  computes on one thread (a worker offering n threads runs n one-thread trials; a trial on all cores beside
  others would oversubscribe them several times over). Install with ``pip install squeezenp[distributed]``.

Ctrl-C: ``close()`` (called by the search on the way out) sets a stop flag that running trials poll after every
batch (a ``multiprocessing`` event for the pool, a Dask ``Event`` checked at most once a second), so they end
within a batch instead of computing to the end for nothing.

Tests: ``tests/search/test_tune.py`` (pool and a loopback ``LocalCluster``).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..core.errors import CommandError
from .objective import limit_threads, run_trial


class SerialRunner:
    """Trials one after another in this process."""

    def __init__(self, data: dict, threads: int | None = None):
        self.data, self.threads, self.parallel = data, threads, 1
        if threads:
            limit_threads(threads)

    def run(self, jobs):
        for job in jobs:
            yield job, run_trial(data=self.data, **job)

    def close(self):
        pass


_DATA: dict | None = None   # a pool worker's memory-mapped arrays
_STOP = None                # a pool worker's stop flag (multiprocessing Event)


def _init_worker(threads: int, folder: str, stop=None) -> None:
    global _DATA, _STOP
    limit_threads(threads)
    _DATA, _STOP = load_arrays(folder), stop


def _pool_trial(job: dict) -> dict:
    return run_trial(data=_DATA, should_stop=None if _STOP is None else _STOP.is_set, **job)


def _dask_trial(data: dict, stop_name: str, threads: int | None, **job) -> dict:
    """A trial on a Dask worker, stopped early when the search sets the Event ``stop_name``."""
    from distributed import Event

    from .objective import Every
    return run_trial(data=data, threads=threads, should_stop=Every(Event(stop_name).is_set, 1.0), **job)


def _worker_threads(_=None) -> dict:
    """What a worker's thread limits are (used by the tests)."""
    import numba
    from threadpoolctl import threadpool_info
    return {"numba": numba.get_num_threads(), "blas": [i["num_threads"] for i in threadpool_info()]}


def save_arrays(data: dict, folder) -> Path:
    """Write ``{split: (x, y)}`` as ``.npy`` files into ``folder``, built whole then renamed into place (a folder
    left by a killed search is replaced, never half-read)."""
    from ..core.atomic import atomic_folder
    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        for split, (x, y) in data.items():
            np.save(tmp / f"{split}_x.npy", np.ascontiguousarray(x))
            np.save(tmp / f"{split}_y.npy", np.asarray(y))
    return folder


def load_arrays(folder) -> dict:
    """``{split: (x, y)}`` from ``save_arrays``; x is memory-mapped read-only (a plain ndarray view)."""
    folder = Path(folder)
    splits = sorted(p.name[:-6] for p in folder.glob("*_x.npy"))
    return {s: (np.asarray(np.load(folder / f"{s}_x.npy", mmap_mode="r")), np.load(folder / f"{s}_y.npy"))
            for s in splits}


class PoolRunner:
    """``workers`` trials at once in ``spawn``-ed processes, each limited to ``threads`` threads."""

    def __init__(self, data: dict, workers: int, threads: int, folder):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        self.folder = save_arrays(data, folder)
        self.parallel = workers
        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event()
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                            initargs=(threads, str(self.folder), self.stop))

    def run(self, jobs):
        from concurrent.futures import as_completed
        futures = {self.executor.submit(_pool_trial, job): job for job in jobs}
        try:
            for f in as_completed(futures):
                yield futures[f], f.result()
        finally:
            for f in futures:
                f.cancel()

    def worker_threads(self) -> dict:
        return self.executor.submit(_worker_threads).result()

    def close(self):
        self.stop.set()               # running trials end after their current batch
        self.executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)


class DaskRunner:
    """Trials on a Dask cluster: ``scheduler`` is an address (``tcp://host:8786``) or a ``Client``."""

    def __init__(self, data: dict, scheduler, threads: int | None = None):
        try:
            from distributed import Client
        except ImportError:
            raise CommandError("--scheduler needs Dask distributed: pip install 'squeezenp[distributed]'") from None
        import uuid

        from distributed import Event
        self.own_client = not isinstance(scheduler, Client)
        self.client = Client(scheduler) if self.own_client else scheduler
        self.threads = threads or 1          # one compute thread per worker thread (module docstring)
        nthreads = self.client.nthreads()
        if not nthreads:
            raise CommandError(f"Dask scheduler {self.client.scheduler.address} has no workers")
        self.parallel = sum(nthreads.values())
        # one object for the whole dict: scattering a list scatters each element whole
        self.data = self.client.scatter([data], broadcast=True)[0]
        self.stop_name = f"squeezenp-stop-{uuid.uuid4().hex}"
        self.stop = Event(self.stop_name, client=self.client)
        self.futures: list = []

    def run(self, jobs):
        from distributed import as_completed
        futures = {self.client.submit(_dask_trial, self.data, self.stop_name, self.threads, pure=False, **job): i
                   for i, job in enumerate(jobs)}
        self.futures = list(futures)
        try:
            for f in as_completed(list(futures)):
                yield jobs[futures[f]], f.result()
        finally:
            for f in futures:
                f.cancel()

    def worker_threads(self) -> dict:
        """The thread limits a trial runs under on a worker (what ``_dask_trial`` sets), for the tests."""
        def probe(threads):
            limit_threads(threads)
            return _worker_threads()
        return self.client.submit(probe, self.threads, pure=False).result()

    def close(self):
        self.stop.set()               # running trials end after their current batch (within a second)
        self.client.cancel(self.futures + [self.data])
        if self.own_client:
            self.client.close()


def make_runner(data: dict, jobs: int = 1, threads: int | None = None, scheduler=None, folder=None):
    """The runner for ``--jobs`` / ``--threads-per-trial`` / ``--scheduler``."""
    if scheduler is not None:
        return DaskRunner(data, scheduler, threads)
    if jobs > 1:
        return PoolRunner(data, jobs, threads or 1, folder)
    return SerialRunner(data, threads)
