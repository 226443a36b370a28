"""Scratch arrays reused from one call to the next (im2col columns and their gradients, Winograd's transforms).

On a 2-core VM a fresh 100 MB array costs 30-95 ms in page faults against about 12 ms for a reused one. A layer
owns its scratch dicts (:class:`ScratchOwner`) and passes ``layer.workspace`` to the fast ops; only *internal*
arrays live there, never a returned output.

Why the reuse is safe: a layer's ``backward`` always pairs with its most recent ``forward`` (the protocol of
``squeezenp.core``: each forward overwrites the cache), so the columns a forward writes are only read by the
next backward, which runs before the next forward of the same layer overwrites them. So: do not call one layer
twice in one graph, and do not keep its cache.

One exception runs a layer on several threads at once: an evaluation batch split over the threads
(``split_batch.py``). Each of those threads works in a *slot* of its own (:func:`in_slot`), and
``layer.workspace`` is the dict of the calling thread's slot, so no two threads ever share a scratch array.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

_local = threading.local()


def thread_slot():
    """The calling thread's workspace slot: None (the usual one) unless inside :func:`in_slot`."""
    return getattr(_local, "slot", None)


@contextlib.contextmanager
def in_slot(slot):
    """Inside the block, every ``layer.workspace`` the calling thread reads is that layer's dict for ``slot``."""
    previous = thread_slot()
    _local.slot = slot
    try:
        yield
    finally:
        _local.slot = previous


class ScratchOwner:
    """Mixin of the layers that keep scratch arrays: ``workspaces`` maps a slot to its dict; ``workspace`` is the
    calling thread's (``dict.setdefault`` is atomic under the GIL, so two threads never get two dicts for one
    slot)."""

    def _init_workspaces(self):
        self.workspaces: dict = {None: {}}

    @property
    def workspace(self) -> dict:
        return self.workspaces.setdefault(thread_slot(), {})


def scratch(workspace: dict | None, name: str, shape, dtype) -> np.ndarray:
    """``workspace[name]``, (re)allocated when its shape or dtype differs; a fresh array without a workspace."""
    shape = tuple(shape)
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    buf = workspace.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = workspace[name] = np.empty(shape, dtype=dtype)
    return buf


def part_scratch(workspace: dict | None, name: str, parts: int, shapes, dtype) -> list:
    """One tuple of scratch arrays of ``shapes`` per part of a job split over the threads (each thread writes
    only its own), kept in ``workspace`` under ``name`` and the shapes; fresh arrays without a workspace."""
    shapes = tuple(tuple(s) for s in shapes)
    key = (name, parts, shapes, np.dtype(dtype).str)
    work = {} if workspace is None else workspace
    if key not in work:
        work[key] = [tuple(np.empty(s, dtype) for s in shapes) for _ in range(parts)]
    return work[key]
