"""``squeezenp train``: train one network with a recipe, evaluate it, write the report folder.

``--recipe NAME`` (``train.recipes.RECIPES``; default "default") sets the input size, preprocessing,
augmentation, initialisation, training loop and test-time augmentation; every training or data option given
explicitly overrides the recipe's value (``--recipe paper`` with no other option is the paper's experiment 4 as
squeezenp has always trained it). After training, the Platt calibration and the decision threshold are fitted on
the validation split and stored in ``model.npz`` (``evaluation.decision``), so ``squeezenp predict`` writes
calibrated probabilities. Figures on the validation split are labelled "validation (used for selection)": it
chose the epoch and the calibration, so they are optimistic; ``squeezenp cv`` gives held-out figures.
"""
from __future__ import annotations

from ..app.pipeline import run_experiment
from ._common import add_data_options, add_train_options, data_options, share, where_things_are

# Options whose default comes from the recipe: argparse leaves them None unless given.
RECIPE_TRAIN_OPTIONS = ("epochs", "batch_size", "lr", "momentum", "l2", "lr_drop_factor", "lr_drop_period", "select")


def register(sub) -> None:
    from ..models import available
    from ..train.recipes import RECIPES
    p = sub.add_parser("train", help="train a network and evaluate it",
                       description="Train one of the paper's networks with a recipe, evaluate it on every split and "
                                   "write a report folder. The recipe sets every training default; an option "
                                   "given explicitly overrides it. Figures on the validation split are labelled "
                                   "'validation (used for selection)'; squeezenp cv gives held-out figures.")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="default",
                   help="training recipe (default: default; 'paper' is the paper's experiment 4 at 227 px)")
    p.add_argument("--model", choices=available(), default=None, help="network (default: the recipe's)")
    p.add_argument("--pretrained", metavar="NPZ", help="torchvision-named SqueezeNet 1.1 ImageNet weights "
                   "(squeezenet_bypass_transfer); default: the shared weights folder")
    p.add_argument("--init", metavar="MODEL_NPZ", help="start from these saved weights (e.g. the best model "
                   "of squeezenp tune); default: a fresh initialisation")
    p.add_argument("--out", default="runs/train", help="report folder: model.npz, report.html, pictures, "
                   "metrics")
    p.add_argument("--resume", action="store_true", help="continue after the last completed epoch saved in "
                   "OUT/checkpoints/")
    p.add_argument("--sensitivity-target", type=share, default=None, metavar="T",
                   help="store the sensitivity-first threshold reaching this share of the validation split's COVID "
                        "images (default: the 0.5 cut-off)")
    add_data_options(p)
    add_train_options(p)
    p.set_defaults(func=run, input_size=None, stratified_batches=None, **{k: None for k in RECIPE_TRAIN_OPTIONS})
    for action in p._actions:          # where the recipe decides, the help says so instead of a fixed default
        if action.dest in RECIPE_HELP:
            action.help = RECIPE_HELP[action.dest]
    return p


RECIPE_HELP = {
    "input_size": "side in pixels of the network input (default: the recipe's)",
    "no_augment": "train without augmentation (default: the recipe's augmentation)",
    "epochs": "passes over the training set (default: the recipe's)",
    "batch_size": "images per step (default: the recipe's)",
    "lr": "initial learning rate (default: the recipe's; paper: Table 3, experiment 4)",
    "momentum": "sgdm momentum (default: the recipe's)",
    "l2": "L2 weight decay on conv/linear weights (default: the recipe's)",
    "lr_drop_factor": "piecewise schedule: rate x this every --lr-drop-period epochs (default: the recipe's)",
    "lr_drop_period": "piecewise schedule: epochs between drops (default: the recipe's)",
    "select": "keep the epoch with the best validation accuracy, or the last (default: the recipe's)",
}


def recipe_from_args(args):
    """The named recipe with every explicitly given option put in."""
    from ..train.recipes import get_recipe
    fields = {}
    if args.input_size is not None:
        fields["input_size"] = args.input_size
    if args.model is not None:
        fields["model"] = args.model
    if args.no_augment:
        fields["augmentation"] = "none"
    train = {k: getattr(args, k) for k in RECIPE_TRAIN_OPTIONS if getattr(args, k) is not None}
    if args.stratified_batches:
        train["stratified_batches"] = True
    return get_recipe(args.recipe, train=train, **fields)


def describe_recipe(recipe) -> str:
    t = recipe.config(0)
    return (f"recipe {recipe.name}: {recipe.model} at {recipe.input_size} px, preprocessing {recipe.preprocessing}, "
            f"augmentation {recipe.augmentation}, {'ImageNet trunk' if recipe.imagenet_trunk else 'from scratch'}, "
            f"{t.epochs} epochs, lr {t.lr:g} ({t.schedule}), keep {t.select} epoch"
            + (f", average of the last {t.average_last}" if t.average_last else "")
            + (", mirror TTA" if recipe.tta else ""))


def run(args) -> int:
    import dataclasses
    recipe = recipe_from_args(args)
    args.input_size = recipe.input_size
    opts = dataclasses.replace(data_options(args, phantom_dir=f"{args.out}/phantoms"), augment=False)
    print(describe_recipe(recipe))
    run_experiment(recipe.model, opts, recipe.config(args.seed), args.out, resume=args.resume,
                   pretrained=args.pretrained, init=args.init, recipe=recipe, calibrate=True,
                   sensitivity_target=args.sensitivity_target)
    print("\n".join(where_things_are(args.out)))
    return 0
