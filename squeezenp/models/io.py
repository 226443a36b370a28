"""Save and load a whole model as one ``.npz``: weights, buffers and the architecture config.

Format: one array per state-dict key (``fire3.expand3x3.weight``, ``fire2.bn.running_mean``, ...) plus
``__config__``, a 0-d unicode array holding ``json.dumps(model.config)``. Written atomically: a temporary file in
the destination's folder, flushed and fsynced, then ``os.replace``d over the destination, so a crash never
leaves a half-written model. Read with ``allow_pickle=False``: a file that holds object arrays (pickles), is
truncated, is not a zip, or lacks ``__config__`` raises ``ModelFileError`` (a ``ValueError``), never runs code.
The loaded model is float32 (the dtype training and inference use). Tests in ``tests/models/test_io.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..atomic import atomic_write

CONFIG_KEY = "__config__"
_REQUIRED = ("name", "num_classes", "input_size", "in_channels")


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


def _read(path, config_only=False):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise ModelFileError(f"{path} is a single .npy array, not a squeezenp model (.npz)")
            if CONFIG_KEY not in f.files:
                raise ModelFileError(f"{path} is not a squeezenp model file: no {CONFIG_KEY!r} entry "
                                     f"(keys: {f.files[:5]}{' ...' if len(f.files) > 5 else ''})")
            raw = f[CONFIG_KEY]
            arrays = {} if config_only else {k: f[k] for k in f.files if k != CONFIG_KEY}
    except ModelFileError:
        raise
    except Exception as e:   # BadZipFile, pickled/object arrays, truncated members, random bytes ...
        raise ModelFileError(f"cannot read model file {path}: {type(e).__name__}: {e}") from None
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: {CONFIG_KEY!r} must be a 0-d unicode array, got {raw.dtype} {raw.shape}")
    try:
        config = json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: {CONFIG_KEY!r} is not valid JSON: {e}") from None
    if not isinstance(config, dict) or any(k not in config for k in _REQUIRED):
        raise ModelFileError(f"{path}: config must be a JSON object with keys {_REQUIRED}, got {config!r:.200}")
    for k, v in arrays.items():
        if v.dtype.kind not in "fiu":
            raise ModelFileError(f"{path}: array {k!r} has non-numeric dtype {v.dtype}")
    return config, arrays


def load_model(path):
    """Rebuild the model described by the file's config and load its weights and buffers (eval mode off:
    the model is returned in training mode, like a freshly created one)."""
    from . import _build
    config, arrays = _read(path)
    try:
        model = _build(config["name"], num_classes=int(config["num_classes"]),
                       input_size=int(config["input_size"]), in_channels=int(config["in_channels"]),
                       seed=int(config.get("seed", 0)),
                       input_normalization=str(config.get("input_normalization", "none")))
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
        raise ModelFileError(f"{path} does not match architecture {config['name']!r}: " + "; ".join(problems))
    for k, dst in own.items():
        dst[...] = arrays[k].astype(dst.dtype)
    model.config.update({k: v for k, v in config.items() if k not in _REQUIRED})  # keep stored extras
    return model
