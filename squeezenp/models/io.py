"""Save and load a whole model as one ``.npz``: weights, buffers and the architecture config.

Format: one array per state-dict key (``fire3.expand3x3.weight``, ``fire2.bn.running_mean``, ...) plus
``__config__``, a 0-d unicode array holding ``json.dumps(model.config)``. Written atomically: a temporary file in
the destination's folder, flushed and fsynced, then ``os.replace``d over the destination, so a crash never
leaves a half-written model. Read with ``allow_pickle=False``: a file that is not a zip archive (random bytes, a
lone ``.npy``), is truncated, holds object arrays (pickles), lacks ``__config__``, describes an architecture out of
bounds (``MAX_INPUT_SIZE``...), unpacks to more than ``MAX_NPZ_BYTES`` or holds NaN/infinite weights raises
``ModelFileError`` (a ``ValueError``) naming the file and the reason: it never runs code, and never builds or
unpacks what the file merely claims.
The loaded model is float32 (the dtype training and inference use). Tests in ``tests/models/test_io.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_write
from .factory import build

CONFIG_KEY = "__config__"
_REQUIRED = ("name", "num_classes", "input_size", "in_channels")
_ZIP_MAGIC, _NPY_MAGIC = (b"PK\x03\x04", b"PK\x05\x06"), b"\x93NUMPY"
MAX_NPZ_BYTES = 1 << 30   # unpacked; a checkpoint of the largest network at 1024 px is far below (about 20 MB)


class ModelFileError(ValueError):
    """A model file that cannot be used: unreadable, foreign, pickle-bearing or not matching its architecture."""


def save_model(model, path) -> Path:
    """Write ``model`` to ``path`` (``.npz`` is not appended); returns the path."""
    path = Path(path)
    arrays = {k: np.ascontiguousarray(v) for k, v in model.state_dict().items()}
    if CONFIG_KEY in arrays:
        raise ValueError(f"save_model: a state-dict key may not be named {CONFIG_KEY!r}")
    arrays[CONFIG_KEY] = np.array(json.dumps(model.config, sort_keys=True))
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def read_config(path) -> dict:
    """The architecture config stored in a model file (no weights are built)."""
    return _read(path, config_only=True)[0]


def check_npz_file(path, what: str = "model file") -> Path:
    """Refuse, from its first bytes, a file that is not a ``.npz`` (zip) archive: ``ModelFileError`` naming it.

    Without this, ``np.load`` takes a lone ``.npy`` for an array and anything else for a pickle.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(_NPY_MAGIC):
        raise ModelFileError(f"{what} {path} is a single NumPy array (.npy), not a .npz archive")
    if not head.startswith(_ZIP_MAGIC):
        raise ModelFileError(f"{what} {path} is not a .npz archive (a zip file): "
                             + ("it is empty" if not head else f"it starts with bytes {head!r}"))
    return path


def read_npz(path, what: str = "model file", keys=None) -> tuple[dict, list[str]]:
    """``(arrays, names)``: the arrays of a ``.npz`` (``keys``: only these, when present) read with
    ``allow_pickle=False``, and the names of all the arrays it holds.

    Every failure is a ``ModelFileError`` naming the file and, for an object array, the array.
    """
    import zipfile
    path = check_npz_file(path, what)
    out, names = {}, []
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
        if unpacked > MAX_NPZ_BYTES:
            raise ModelFileError(f"{what} {path} unpacks to {unpacked} bytes, more than the {MAX_NPZ_BYTES} a "
                                 f"squeezenp file can hold (a zip bomb?)")
        with np.load(path, allow_pickle=False) as f:
            for k in f.files if keys is None else [k for k in keys if k in f.files]:
                try:
                    out[k] = f[k]
                except ValueError as e:
                    if "allow_pickle" in str(e):
                        raise ModelFileError(f"{what} {path}: array {k!r} holds Python objects (pickled data), "
                                             f"which squeezenp never loads") from None
                    raise
            names = list(f.files)
    except ModelFileError:
        raise
    except Exception as e:   # BadZipFile, truncated members, a corrupt header ...
        raise ModelFileError(f"{what} {path} cannot be read (damaged or truncated?): {type(e).__name__}: "
                             f"{' '.join(str(e).split())}") from None
    return out, names


def _read(path, config_only=False):
    path = Path(path)
    found, names = read_npz(path, keys=[CONFIG_KEY] if config_only else None)
    if CONFIG_KEY not in found:
        raise ModelFileError(f"{path} is not a squeezenp model file: no {CONFIG_KEY!r} entry "
                             f"(keys: {names[:5]}{' ...' if len(names) > 5 else ''})")
    raw = found.pop(CONFIG_KEY)
    arrays = found
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: {CONFIG_KEY!r} must be a 0-d unicode array, got {raw.dtype} {raw.shape}")
    try:
        config = json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: {CONFIG_KEY!r} is not valid JSON: {e}") from None
    if not isinstance(config, dict) or any(k not in config for k in _REQUIRED):
        raise ModelFileError(f"{path}: config must be a JSON object with keys {_REQUIRED}, got {config!r:.200}")
    _check_bounds(path, config)
    for k, v in arrays.items():
        if v.dtype.kind not in "fiu":
            raise ModelFileError(f"{path}: array {k!r} has non-numeric dtype {v.dtype}")
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            raise ModelFileError(f"{path}: array {k!r} holds NaN or infinite values (a diverged or damaged model)")
    return config, arrays


def _check_bounds(path, config: dict) -> None:
    """Refuse a config outside the architecture's bounds before anything is built from it."""
    from .networks import MAX_CLASSES, MAX_IN_CHANNELS, MAX_INPUT_SIZE, MIN_INPUT_SIZE
    bounds = {"input_size": (MIN_INPUT_SIZE, MAX_INPUT_SIZE), "num_classes": (1, MAX_CLASSES),
              "in_channels": (1, MAX_IN_CHANNELS)}
    for key, (lo, hi) in bounds.items():
        v = config[key]
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ModelFileError(f"{path}: config {key} must be an integer in [{lo}, {hi}], got {v!r:.60}")
    if not isinstance(config["name"], str):
        raise ModelFileError(f"{path}: config name must be a string, got {config['name']!r:.60}")


def load_model(path):
    """Rebuild the model described by the file's config and load its weights and buffers (eval mode off: the
    model is returned in training mode and fused for evaluation, like a freshly created one)."""
    config, arrays = _read(path)
    try:
        model = build(config["name"], num_classes=int(config["num_classes"]),
                       input_size=int(config["input_size"]), in_channels=int(config["in_channels"]),
                       seed=int(config.get("seed", 0)))
    except (ValueError, TypeError) as e:
        raise ModelFileError(f"{path}: cannot build the architecture in its config: {e}") from None
    own = model.state_dict()
    problems = []
    for k, dst in own.items():
        if k not in arrays:
            problems.append(f"missing array {k!r} (expected shape {dst.shape}, file has none)")
        elif arrays[k].shape != dst.shape:
            problems.append(f"array {k!r}: expected shape {dst.shape}, file has {arrays[k].shape}")
    for k, v in arrays.items():
        if k not in own:
            problems.append(f"unexpected array {k!r} with shape {v.shape} (not in {config['name']!r})")
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise ModelFileError(f"{path} does not match architecture {config['name']!r}: " + "; ".join(problems[:3])
                             + more)
    for k, dst in own.items():
        dst[...] = arrays[k].astype(dst.dtype)
    model.config.update({k: v for k, v in config.items() if k not in _REQUIRED})  # keep stored extras
    return model
