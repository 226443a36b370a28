"""``squeezenp reproduce``: the paper's whole experiment (search, retraining, evaluation, timing, CAM, report).

    squeezenp reproduce --data DIR [--second-source DIR] --preset {quick,paper} [--recipe NAME] --out DIR [--jobs N]
                        [--scheduler ADDR] [--layout upstream --splits DIR] [--skip-bad] [--seed S]

Re-running the same command resumes it (``docs/reproduction.md``).
"""
from __future__ import annotations

from ._common import add_layout_options, positive_int


def register(sub) -> None:
    from ..reproduce import PRESETS
    from ..reproduce.run import reproducible_recipes
    p = sub.add_parser("reproduce", help="the paper end to end: search, retrain, evaluate, time, CAM, report.md",
                       description="For arrangement 1 (and 2 with --second-source): Bayesian search of the four "
                                   "networks, the winners trained further from the best trial, evaluated on "
                                   "validation and every test split, timed per image, CAM grid, and report.md "
                                   "with the paper's values beside ours. Re-run the same command to resume.")
    p.add_argument("--preset", choices=list(PRESETS), default="quick",
                   help="; ".join(f"{k}: {v.description}" for k, v in PRESETS.items()) + " (default quick)")
    p.add_argument("--recipe", choices=reproducible_recipes(), help="training recipe of the search and the retraining "
                   "(default: the preset's, matlab: Matlab 2020a's defaults where the paper is silent; paper: "
                   "squeezenp's earlier loop)")
    p.add_argument("--out", required=True, help="run folder (resumed when it exists)")
    g = p.add_argument_group("data")
    g.add_argument("--data", metavar="DIR", help="image folder ROOT/{train,val[,test]}/{COVID,NonCOVID}, or with "
                   "--layout upstream the folder of CT_COVID/ and CT_NonCOVID/; default: synthetic phantoms")
    add_layout_options(g)
    g.add_argument("--second-source", metavar="DIR", help="a second folder of COVID images: Test-2 of "
                   "arrangement 1, and arrangement 2 is run too; default: none (arrangement 1 only)")
    g.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed) instead of stopping")
    g.add_argument("--seed", type=int, default=0, help="seed of the data split, the searches and the trainings")
    g.add_argument("--pretrained", metavar="NPZ", help="ImageNet weights for experiment 3 (default: shared folder)")
    g = p.add_argument_group("parallel search")
    g.add_argument("--jobs", type=positive_int, default=1, help="trials at once on local cores (process pool)")
    g.add_argument("--threads-per-trial", type=positive_int,
                   help="threads of each trial and of the retraining; default 1 with --jobs > 1 (and 1 per "
                        "trial on a --scheduler: one per worker thread), else all")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run trials on this Dask scheduler (tcp://host:8786); "
                   "default: local processes")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..app.pipeline import DataOptions
    from ..reproduce import get_preset, reproduce
    base = DataOptions(data=args.data, layout=args.layout, splits_dir=args.splits,
                       on_error="skip" if args.skip_bad else "raise", seed=args.seed)
    report = reproduce(base, get_preset(args.preset), args.out, second_source=args.second_source, jobs=args.jobs,
                       threads_per_trial=args.threads_per_trial, scheduler=args.scheduler, pretrained=args.pretrained,
                       recipe=args.recipe)
    print(f"done: {report}")
    return 0
