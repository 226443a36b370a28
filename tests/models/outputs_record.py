"""What the networks compute at one fixed setting, so that a change of code that should not change the numbers
(a refactoring, a faster kernel) can be checked against a recording of them.

``outputs(name, dtype)`` builds network ``name`` (35x35, 3 classes, seed 3; the SqueezeNets' zero classifier
replaced by a seeded N(0, 0.3) one with bias 0.5, so that gradients reach the trunk), runs one evaluation
forward, one training forward (dropout on, BN updating its running statistics) and one backward, and returns:

- ``eval_logits``, ``train_logits`` (2, 3) and ``dx`` (2, 3, 35, 35);
- ``grad:<key>``: every parameter gradient projected on a seeded random direction (a scalar per key; the
  full gradients would make the file 30 MB);
- ``buffer:<key>``: every buffer after the training forward, projected the same way.

``python tests/models/outputs_record.py`` writes ``tests/models/outputs_recorded.npz``;
``tests/models/test_outputs_recorded.py`` compares the current code with it.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

NETWORKS = ("squeezenet", "squeezenet_bypass", "proposed")
DTYPES = ("float64", "float32")
SIZE, CLASSES, SEED = 35, 3, 3
RECORDING = Path(__file__).with_name("outputs_recorded.npz")


def _direction(key, shape):
    return np.random.default_rng(zlib.crc32(key.encode())).standard_normal(shape)


def outputs(name: str, dtype: str) -> dict[str, np.ndarray]:
    from squeezenp.models import create
    model = create(name, num_classes=CLASSES, input_size=SIZE, seed=SEED).astype(dtype)
    rng = np.random.default_rng(11)
    if name != "proposed":
        w = model.conv10.params["weight"]
        w[...] = rng.normal(0.0, 0.3, w.shape)
        model.conv10.params["bias"][...] = 0.5
    x = rng.standard_normal((2, 3, SIZE, SIZE)).astype(dtype)
    dout = rng.standard_normal((2, CLASSES)).astype(dtype)
    res = {"eval_logits": model.forward(x, training=False)}
    res["train_logits"] = model.forward(x, training=True)
    res["dx"] = model.backward(dout)
    for key, _, g in model.named_parameters():
        res[f"grad:{key}"] = np.array(np.sum(g.astype(np.float64) * _direction(key, g.shape)))
    for key, b in model.named_buffers():
        res[f"buffer:{key}"] = np.array(np.sum(b.astype(np.float64) * _direction(key, b.shape)))
    return res


def record(path=RECORDING) -> Path:
    arrays = {f"{name}/{dtype}/{k}": np.asarray(v)
              for name in NETWORKS for dtype in DTYPES for k, v in outputs(name, dtype).items()}
    np.savez_compressed(path, **arrays)
    return Path(path)


if __name__ == "__main__":
    print(f"wrote {record()}")
