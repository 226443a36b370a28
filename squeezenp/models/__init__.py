"""The four networks of Polsinelli, Cinque and Placidi (2020), their factory, summary, I/O and ImageNet import.

Public API::

    create(name, num_classes=2, input_size=227, in_channels=3, seed=0, pretrained=None) -> Model
    available() -> list[str]            # ["squeezenet", "squeezenet_bypass", "squeezenet_bypass_transfer", "proposed"]
    summary_table(model, input_shape) -> str;  predict_proba(model, x, batch_size=32) -> (N, K) float64
    save_model(model, path) / load_model(path) -> Model / read_config(path) -> dict;  ModelFileError(ValueError)
    load_torchvision_squeezenet(model, npz_path) -> report;  default_pretrained_path() -> Path | None
    Model, SqueezeNet, ProposedCNN, Fire, CustomFire

Modules: ``fire.py`` (Fire, CustomFire), ``networks.py`` (the networks, written out), ``factory.py`` (``create``),
``io.py`` (save/load), ``pretrained.py`` (torchvision's ImageNet weights), ``summary.py``.
Architecture and its parameter count: ``docs/architecture.md``.
"""
from __future__ import annotations

from .factory import available, build, create, describe
from .fire import CustomFire, Fire
from .io import ModelFileError, load_model, read_config, save_model
from .networks import MIN_INPUT_SIZE, Model, ProposedCNN, SqueezeNet, predict_proba
from .pretrained import default_pretrained_path, load_torchvision_squeezenet, torchvision_name_map
from .summary import summary_table

__all__ = ["create", "build", "available", "describe", "summary_table", "save_model", "load_model", "read_config",
           "ModelFileError", "load_torchvision_squeezenet", "default_pretrained_path", "torchvision_name_map",
           "Model", "SqueezeNet", "ProposedCNN", "Fire", "CustomFire", "MIN_INPUT_SIZE", "predict_proba"]
