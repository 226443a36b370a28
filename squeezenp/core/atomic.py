"""Atomic writes of files and folders: built beside the destination under a temporary name, then renamed.

A reader (or a resumed run after a crash or power loss) sees either the old complete file or the new
complete file, never a half-written one. ``atomic_folder`` does the same for a folder of derived data (the
phantoms, the search's prepared arrays): it is written under ``.NAME.partial-PID-XXXX`` and renamed into place
only when complete; the partial folders of dead processes are removed the next time.
Tests: ``tests/test_atomic.py``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator


def atomic_write(path, write: Callable[[object], None], mode: str = "wb") -> Path:
    """Call ``write(fileobj)`` on a temporary file, then move it over ``path``."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "Is a folder, not a file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())        # mkstemp makes 0600; give the file ordinary permissions
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno is not None:   # name the destination, not the temporary file
            raise type(e)(e.errno, e.strerror, str(path)) from None
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text), mode="w")


def atomic_write_json(path, obj) -> Path:
    """Always valid JSON: NaN and infinities (an undefined metric, a diverged output) are written as null."""
    return atomic_write_text(path, json.dumps(finite_json(obj), indent=2, sort_keys=False, allow_nan=False,
                                              default=_json_default) + "\n")


def finite_json(obj):
    """``obj`` with every non-finite float (also inside NumPy scalars and arrays) replaced by None."""
    import math

    import numpy as np
    if isinstance(obj, (np.generic, np.ndarray)):
        obj = obj.tolist()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@contextlib.contextmanager
def atomic_folder(path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; when the block ends normally it replaces ``path``.

    On any exception (Ctrl-C included) the temporary folder is deleted and ``path`` is left as it was. An
    existing ``path`` is replaced by two renames (old out of the way, new in), then the old one is deleted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-{os.getpid()}-", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-{os.getpid()}-", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale_partials(path) -> list[Path]:
    """Delete the ``.NAME.partial-PID-*`` / ``.NAME.old-PID-*`` folders beside ``path`` whose process is gone."""
    path, removed = Path(path), []
    if not path.parent.is_dir():
        return removed
    for kind in ("partial", "old"):
        for p in path.parent.glob(f".{path.name}.{kind}-*"):
            pid = p.name[len(f".{path.name}.{kind}-"):].split("-", 1)[0]
            if p.is_dir() and pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
