"""Where the read-only ``shared/`` folder (data sets, guides) lives.

Looked up, in order, at the path in the environment variable ``SQUEEZENP_SHARED`` and at ``<repo>/../shared``
(CI clones the repo beside a copy of ``shared/``). Nothing is ever copied into the repo.
Tested by ``tests/data/test_shared.py``.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "SQUEEZENP_SHARED"
_REPO = Path(__file__).resolve().parents[2]   # squeezenp/data/shared.py -> repo root


def shared_dir() -> Path | None:
    """Return the ``shared/`` folder, or None when it cannot be found.

    Returns
    -------
    path : Path or None
        ``$SQUEEZENP_SHARED`` if it is set and is a directory, else ``<repo>/../shared`` if that is a
        directory, else None. A set but missing ``$SQUEEZENP_SHARED`` does not fall back: the user
        asked for that folder, so silently using another would hide a typo.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    path = _REPO.parent / "shared"
    return path if path.is_dir() else None


def covid_ct_dir() -> Path | None:
    """Return ``shared/data/covid-ct`` (train/val image folders, split lists), or None when absent."""
    root = shared_dir()
    if root is None:
        return None
    path = root / "data" / "covid-ct"
    return path if path.is_dir() else None
