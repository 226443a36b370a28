"""Import torchvision's ImageNet ``squeezenet1_1`` weights (stored as a NumPy ``.npz``) into our networks.

Name map (torchvision -> squeezenp, Caffe/Matlab naming)::

    features.0.{weight,bias}                   -> conv1.{weight,bias}
    features.{3,4,6,7,9,10,11,12}.squeeze.*    -> fire2..fire9.squeeze1x1.*
    features.N.expand1x1.* / expand3x3.*       -> fireK.expand1x1.* / expand3x3.*
    classifier.1.{weight,bias}                 -> conv10.{weight,bias}

Every mapped array whose target exists with the same shape is copied; the rest is reported as skipped with
the reason: the classifier (unless num_classes == 1000), and in network 4 the batch norms, the transposed
convolution, conv_fuse and the 128->classes conv10, which keep their fresh initialisation.
The file is read with ``allow_pickle=False``. Weights source and licence: ``shared/weights/SOURCE.md``.
Tests in ``tests/models/test_pretrained.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.shared import ENV_VAR, shared_dir

WEIGHTS_FILE = "squeezenet1_1_imagenet.npz"

_TV_FIRES = dict(zip((3, 4, 6, 7, 9, 10, 11, 12), (f"fire{i}" for i in range(2, 10))))

def default_pretrained_path() -> Path | None:
    """``<shared>/weights/squeezenet1_1_imagenet.npz`` if it exists, else None."""
    root = shared_dir()
    if root is None:
        return None
    p = root / "weights" / WEIGHTS_FILE
    return p if p.is_file() else None

def torchvision_name_map() -> dict[str, str]:
    """torchvision ``squeezenet1_1`` state-dict key -> squeezenp key (52 entries)."""
    m = {"features.0.weight": "conv1.weight", "features.0.bias": "conv1.bias",
         "classifier.1.weight": "conv10.weight", "classifier.1.bias": "conv10.bias"}
    for idx, fire in _TV_FIRES.items():
        for tv, ours in (("squeeze", "squeeze1x1"), ("expand1x1", "expand1x1"), ("expand3x3", "expand3x3")):
            for k in ("weight", "bias"):
                m[f"features.{idx}.{tv}.{k}"] = f"{fire}.{ours}.{k}"
    return m

def load_torchvision_squeezenet(model, npz_path) -> dict:
    """Copy the ImageNet weights into ``model`` (any of the four networks), in place.

    Returns
    -------
    report : dict
        ``loaded``: our keys that were copied; ``skipped``: ``{our key: reason}`` for every parameter or buffer of
        the model left at its initial value; ``path``: the file. Also stored as ``model.pretrained_report``.

    Raises
    ------
    FileNotFoundError if the file is absent; ValueError if it is not an npz of torchvision names.
    """
    path = Path(npz_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained weights not found at {path}; expected torchvision's squeezenet1_1 ImageNet weights as a "
            f"NumPy .npz (see shared/weights/SOURCE.md; set ${ENV_VAR} to the folder holding weights/{WEIGHTS_FILE})")
    from .io import read_npz
    src, _ = read_npz(path, what="pretrained weights file")   # truncated, foreign, pickled: ModelFileError
    names = torchvision_name_map()
    missing = [k for k in names if k not in src]
    if missing:
        raise ValueError(f"{path} is not a torchvision squeezenet1_1 weight file: missing keys {missing[:6]}"
                         f"{' ...' if len(missing) > 6 else ''}")
    own = model.state_dict()
    loaded, skipped = [], {}
    for tv, ours in names.items():
        arr = src[tv]
        if ours not in own:
            skipped[ours] = f"not in this network (from {tv})"
        elif own[ours].shape != arr.shape:
            skipped[ours] = f"shape {own[ours].shape} != ImageNet {arr.shape} (from {tv}); kept initialisation"
        else:
            own[ours][...] = arr.astype(own[ours].dtype)
            loaded.append(ours)
    for k in own:
        if k not in loaded and k not in skipped:
            skipped[k] = "no ImageNet counterpart; kept initialisation"
    report = {"path": str(path), "loaded": loaded, "skipped": skipped}
    model.pretrained_report = report
    return report
