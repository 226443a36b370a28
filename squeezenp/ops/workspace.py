"""Scratch arrays reused from one call to the next (im2col columns and their gradients, Winograd's transforms).

On a 2-core VM a fresh 100 MB array costs 30-95 ms in page faults against about 12 ms for a reused one. A layer
owns a ``workspace`` dict and passes it to the fast ops; only *internal* arrays live there, never a returned
output.

Why the reuse is safe: a layer's ``backward`` always pairs with its most recent ``forward`` (the protocol of
``squeezenp.core``: each forward overwrites the cache), so the columns a forward writes are only read by the
next backward, which runs before the next forward of the same layer overwrites them. So: do not call one layer
twice in one graph, and do not keep its cache.
"""
from __future__ import annotations

import numpy as np


def scratch(workspace: dict | None, name: str, shape, dtype) -> np.ndarray:
    """``workspace[name]``, (re)allocated when its shape or dtype differs; a fresh array without a workspace."""
    shape = tuple(shape)
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    buf = workspace.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = workspace[name] = np.empty(shape, dtype=dtype)
    return buf
