"""What defines a training run, a search or a reproduction, and how a resumed one is compared with it.

An identity is a JSON-able dict of every option that changes the result: the model, the training settings,
and the data options with each folder or file replaced by a fingerprint of its content (file names relative
to it, and sizes), so a run or search folder can be moved or copied, and so can the data, and still be resumed.
Where derived data are written (``phantom_dir``) is not part of it: the phantom folder is checked against its
own manifest (``squeezenp.data.phantoms``).

Resuming compares the stored identity with the new one key by key; ``option_changes`` names each changed
option with its old and new value. Any option recorded is compared, so a new option is covered as soon as it
is part of ``DataOptions``, ``TrainConfig`` or ``TuneSettings``.
Tests: ``tests/test_identity.py``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

PATH_FIELDS = ("data", "splits_dir", "second_source")   # DataOptions fields that name files or folders
LOCAL_FIELDS = ("phantom_dir",)                         # where derived data go: not what the data are


def jsonable(obj):
    """``obj`` as it reads back from JSON (tuples become lists, paths strings)."""
    return json.loads(json.dumps(obj, default=str))


def fingerprint(path) -> str:
    """``"N files, sha256 <12 hex>"`` of the names (relative to ``path``) and sizes of every file under a
    folder, or ``"file, sha256 <12 hex>"`` of a file's content; ``"missing"`` when there is nothing."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_file():
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return f"file, sha256 {h.hexdigest()[:12]}"
    if not p.is_dir():
        return "missing"
    files = sorted((q.relative_to(p).as_posix(), q.stat().st_size) for q in p.rglob("*") if q.is_file())
    for name, size in files:
        h.update(f"{name}\0{size}\n".encode())
    return f"{len(files)} files, sha256 {h.hexdigest()[:12]}"


def data_identity(opts) -> dict:
    """The ``DataOptions`` that define a data set: paths replaced by fingerprints, ``phantom_dir`` left out."""
    d = dataclasses.asdict(opts)
    for k in LOCAL_FIELDS:
        d.pop(k, None)
    for k in PATH_FIELDS:
        if d.get(k) is not None:
            d[k] = fingerprint(d[k])
    return jsonable(d)


def is_legacy_data(stored: dict) -> bool:
    """An identity written before fingerprints: it held ``phantom_dir`` and the paths themselves."""
    return isinstance(stored, dict) and "phantom_dir" in stored


def upgrade_legacy_data(stored: dict) -> dict:
    """A legacy data identity rewritten as ``data_identity`` would write it today (paths fingerprinted now)."""
    d = {k: v for k, v in stored.items() if k not in LOCAL_FIELDS}
    for k in PATH_FIELDS:
        if d.get(k) is not None:
            d[k] = fingerprint(d[k])
    return jsonable(d)


def option_changes(old, new, prefix: str = "") -> list[str]:
    """``["data.input_size: 64 -> 96", ...]``: every key whose value differs, nested dicts walked."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            out += option_changes(old.get(k, _ABSENT), new.get(k, _ABSENT), f"{prefix}{k}.")
        return out
    if old == new:
        return []
    return [f"{prefix.rstrip('.')}: {_show(old)} -> {_show(new)}"]


class _Absent:
    def __repr__(self):
        return "(not recorded)"


_ABSENT = _Absent()


def _show(v) -> str:
    return repr(v) if not isinstance(v, str) else v if v in ("missing",) or " sha256 " in v else repr(v)


def refuse_changes(old: dict, new: dict, what: str, hint: str) -> None:
    """``ValueError`` naming every changed option (``what``: "run folder runs/x"), unless there is none."""
    changes = option_changes(old, new)
    if changes:
        raise ValueError(f"{what} was made with other options, refusing to mix them: {'; '.join(changes)}. {hint}")


def check_resumed(stored: dict, current: dict, what: str, hint: str) -> bool:
    """``refuse_changes`` of a stored identity, a legacy one (``is_legacy_data``) read in today's form first.

    Returns True when the stored record is legacy and matched: the caller rewrites it in today's form.
    """
    legacy = is_legacy_data(stored.get("data"))
    if legacy:
        stored = {**stored, "data": upgrade_legacy_data(stored["data"])}
    refuse_changes(stored, current, what, hint)
    return legacy
