"""Options shared by several subcommands, and the conversions from parsed arguments."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..app.pipeline import DataOptions
from ..train import TrainConfig

DEFAULTS = TrainConfig()


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return v


def bounded_int(low: int, high: int):
    """An argparse type: an integer in [low, high]."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}], got {text}")
        return v
    return parse


def input_size(text: str) -> int:
    from ..models.networks import MAX_INPUT_SIZE, MIN_INPUT_SIZE
    return bounded_int(MIN_INPUT_SIZE, MAX_INPUT_SIZE)(text)


def share(text: str) -> float:
    """A share in (0, 1], e.g. a sensitivity target."""
    v = float(text)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
    return v


def add_data_options(p: argparse.ArgumentParser, default_size: int = 227) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", metavar="DIR", help="image folder ROOT/{train,val[,test]}/{COVID,NonCOVID}, or "
                   "with --layout upstream the folder holding CT_COVID/ and CT_NonCOVID/; default: synthetic "
                   "CT phantoms")
    add_layout_options(g)
    g.add_argument("--arrangement", type=int, choices=[1, 2], default=1,
                   help="the paper's data arrangement (Table 1 or Table 2)")
    g.add_argument("--second-source", metavar="DIR", help="a second folder of COVID images (Test-2 in "
                   "arrangement 1; mixed in 60/20/20 in arrangement 2); default: none")
    g.add_argument("--input-size", type=input_size, default=default_size,
                   help="side in pixels the images are resized to (the network's input)")
    g.add_argument("--no-augment", action="store_true", help="skip the x4 augmentation of the training set")
    g.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed) instead of stopping")
    g.add_argument("--limit", type=positive_int, help="at most this many images per class per split, drawn "
                   "at random (quick runs); default: all")
    g.add_argument("--phantoms", type=positive_int, default=150,
                   help="synthetic phantoms per class written when no --data is given")
    g.add_argument("--phantom-size", type=positive_int, default=96, help="side of the synthetic phantoms in "
                   "pixels")


def add_layout_options(g) -> None:
    """--layout and --splits: how a --data folder is organised."""
    g.add_argument("--layout", choices=["folder", "upstream"], default="folder",
                   help="folder: ROOT/{train,val[,test]}/{COVID,NonCOVID}; upstream: the COVID-CT repository's "
                        "CT_COVID/ and CT_NonCOVID/ with --splits")
    g.add_argument("--splits", metavar="DIR", help="the Data-split name lists (needed with --layout upstream); "
                   "default: none")


def add_train_options(p: argparse.ArgumentParser, epochs: int = DEFAULTS.epochs) -> None:
    g = p.add_argument_group("training (sgdm: v <- m v - lr (g + l2 w); w <- w + v)")
    g.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the training set")
    g.add_argument("--batch-size", type=positive_int, default=DEFAULTS.batch_size, help="images per step")
    g.add_argument("--lr", type=float, default=DEFAULTS.lr, help="initial learning rate (the paper's Table 3, "
                   "experiment 4)")
    g.add_argument("--momentum", type=float, default=DEFAULTS.momentum, help="momentum m of sgdm (Table 3)")
    g.add_argument("--l2", type=float, default=DEFAULTS.l2, help="L2 weight decay added to the gradient "
                   "(Table 3)")
    g.add_argument("--lr-drop-factor", type=float, default=DEFAULTS.lr_drop_factor,
                   help="the learning rate is multiplied by this every --lr-drop-period epochs")
    g.add_argument("--lr-drop-period", type=positive_int, default=DEFAULTS.lr_drop_period,
                   help="epochs between learning-rate drops")
    g.add_argument("--select", choices=["best", "last"], default="best",
                   help="keep the epoch with the best validation accuracy, or the last")
    g.add_argument("--stratified-batches", action="store_true",
                   help="every batch with the classes in the training set's proportions (default: a uniform "
                        "shuffle, as the paper's Matlab loop)")
    g.add_argument("--seed", type=int, default=0, help="seed of the initialisation, the data split, the "
                   "augmentation and the batch order (a run repeats exactly)")


def where_things_are(out) -> list[str]:
    """The closing lines of a training command: the model file and how to use it, the pictures, the page."""
    out = Path(out)
    model = out / "model.npz"
    pictures = sorted(p.name for p in out.glob("*.png"))
    return [f"model:    {model}   (classify CT slices: squeezenp predict {model} IMAGE_OR_FOLDER...)",
            f"pictures: {', '.join(pictures)} in {out}",
            f"report:   {out / 'report.html'}   (everything on one page; open it in a browser)"]


def data_options(args, phantom_dir=None) -> DataOptions:
    return DataOptions(data=args.data, layout=args.layout, splits_dir=args.splits, arrangement=args.arrangement,
                       second_source=args.second_source, input_size=args.input_size,
                       augment=not args.no_augment, on_error="skip" if args.skip_bad else "raise",
                       seed=args.seed, limit=args.limit, phantoms_per_class=args.phantoms,
                       phantom_size=args.phantom_size, phantom_dir=phantom_dir)


def train_config(args) -> TrainConfig:
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
                       l2=args.l2, lr_drop_factor=args.lr_drop_factor, lr_drop_period=args.lr_drop_period,
                       seed=args.seed, select=args.select, stratified_batches=args.stratified_batches)


# --- what predict, evaluate and cam read and write ------------------------------------------------------------
TRAINING_RUN_MARKERS = ("checkpoint.npz", "run.json")   # files only a training run writes


def load_classifier(path):
    """A saved model whose outputs are P(NonCOVID), P(COVID); ``ValueError`` naming the file otherwise."""
    from ..models import load_model
    model = load_model(path)
    if model.num_classes != 2:
        raise ValueError(f"model {path} has {model.num_classes} classes; squeezenp classifies into 2 "
                         f"(NonCOVID, COVID), so it cannot report P(COVID) with this model")
    return model


def is_training_run(folder) -> bool:
    return any((Path(folder) / m).exists() for m in TRAINING_RUN_MARKERS)


def refuse_clobbering(outputs, inputs, option: str = "--out") -> None:
    """``ValueError`` when writing ``outputs`` would overwrite an input (the model, an image) or an existing
    file of a training run (its metrics.json, predictions.csv, ...). New files anywhere are fine."""
    resolved = {}
    for p in inputs:
        resolved[Path(p).resolve()] = p
    for out in map(Path, outputs):
        target = out.resolve()
        if target in resolved or (out.exists() and any(_same(out, p) for p in resolved)):
            raise ValueError(f"{option} would overwrite the input {str(resolved.get(target, out))!r}; "
                             f"choose another {option}")
        if out.exists() and is_training_run(out.parent):
            raise ValueError(f"{option} would overwrite {str(out)!r} of the training run in {str(out.parent)!r}; "
                             f"choose another {option}")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
