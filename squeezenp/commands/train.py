"""``squeezenp train``: train one network, evaluate it, write the report folder."""
from __future__ import annotations

from ..pipeline import run_experiment
from ._common import add_data_options, add_train_options, data_options, train_config, where_things_are


def register(sub) -> None:
    from ..models import available
    p = sub.add_parser("train", help="train a network and evaluate it",
                       description="Train one of the paper's networks with sgdm, keep the best validation "
                                   "epoch, evaluate on every split and write a report folder.")
    p.add_argument("--model", choices=available(), default="proposed",
                   help="the network: the paper's experiments 1-4 in this order")
    p.add_argument("--pretrained", metavar="NPZ", help="torchvision-named SqueezeNet 1.1 ImageNet weights "
                   "(squeezenet_bypass_transfer); default: the shared weights folder")
    p.add_argument("--init", metavar="MODEL_NPZ", help="start from these saved weights (e.g. the best model "
                   "of squeezenp tune); default: a fresh initialisation")
    p.add_argument("--out", default="runs/train", help="report folder: model.npz, report.html, pictures, "
                   "metrics")
    p.add_argument("--resume", action="store_true", help="continue after the last completed epoch saved in "
                   "OUT/checkpoints/")
    add_data_options(p)
    add_train_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    run_experiment(args.model, data_options(args, phantom_dir=f"{args.out}/phantoms"), train_config(args),
                   args.out, resume=args.resume, pretrained=args.pretrained, init=args.init)
    print("\n".join(where_things_are(args.out)))
    return 0
