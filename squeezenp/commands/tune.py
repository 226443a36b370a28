"""``squeezenp tune``: the paper's Bayesian search of learning rate, momentum and L2 (``docs/search.md``)."""
from __future__ import annotations

import argparse

from ._common import add_data_options, data_options, positive_int


def _bounds(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH, got {text!r}") from None
    return lo, hi


def register(sub) -> None:
    from ..search import SearchSpace
    from ..search.space import LR_BOUNDS
    d = SearchSpace()
    p = sub.add_parser("tune", help="Bayesian search of lr, momentum and L2 (paper Tables 3-4)",
                       description="Bayesian optimisation (skopt, Gaussian process + expected improvement) of "
                                   "the initial learning rate, momentum and L2 of each network, minimising "
                                   "1 - validation accuracy. Results are saved after every trial; re-running "
                                   "the same command resumes the search.")
    p.add_argument("--experiment", choices=["1", "2", "3", "4", "all"], default="4",
                   help="1 squeezenet, 2 squeezenet_bypass, 3 squeezenet_bypass_transfer, 4 proposed, or all; "
                        "default 4")
    p.add_argument("--calls", type=positive_int, default=30, help="trials per experiment, default 30")
    p.add_argument("--initial-points", type=positive_int, help="random trials before the GP, default min(10, calls)")
    p.add_argument("--epochs", type=positive_int, default=20, help="epochs per trial, default 20")
    p.add_argument("--batch-size", type=positive_int, default=32, help="images per step of every trial")
    p.add_argument("--seed", type=int, default=0, help="seed of the search, the data and every trial's training")
    p.add_argument("--lr-bounds", type=_bounds, metavar="LO,HI",
                   help="log-uniform, for every experiment; default per experiment: "
                        + ", ".join(f"{k}: {lo:g},{hi:g}" for k, (lo, hi) in LR_BOUNDS.items())
                        + " (why: squeezenp/search/space.py)")
    p.add_argument("--momentum-bounds", type=_bounds, metavar="LO,HI",
                   help=f"uniform, default {d.momentum[0]:g},{d.momentum[1]:g}")
    p.add_argument("--l2-bounds", type=_bounds, metavar="LO,HI",
                   help=f"log-uniform, default {d.l2[0]:g},{d.l2[1]:g}")
    p.add_argument("--pretrained", metavar="NPZ", help="ImageNet weights for experiment 3 (default: shared folder)")
    p.add_argument("--out", default="runs/tune", help="results folder, one experiment{k}/ per network")
    p.add_argument("--resume", action="store_true", help="accepted for symmetry with train: tune always "
                   "resumes from the trials saved in OUT")
    g = p.add_argument_group("parallel")
    g.add_argument("--jobs", type=positive_int, default=1, help="trials at once on local cores (process pool)")
    g.add_argument("--threads-per-trial", type=positive_int,
                   help="threads of each trial (Numba, BLAS); default 1 with --jobs > 1 or --scheduler (one per "
                        "worker thread), else all")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run trials on this Dask scheduler (tcp://host:8786); "
                   "needs pip install 'squeezenp[distributed]'; default: local processes")
    add_data_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..search import SearchSpace, TuneSettings, tune
    # bounds given on the command line replace those of each experiment's default space
    space = {k: v for k, v in (("lr", args.lr_bounds), ("momentum", args.momentum_bounds), ("l2", args.l2_bounds))
             if v is not None}
    for k, v in space.items():   # checked here, so a bad bound is reported before any data is read
        SearchSpace(**{k: v})
    settings = TuneSettings(calls=args.calls, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                            jobs=args.jobs, threads_per_trial=args.threads_per_trial, scheduler=args.scheduler,
                            n_initial_points=args.initial_points, space=space, pretrained=args.pretrained)
    experiments = [1, 2, 3, 4] if args.experiment == "all" else [int(args.experiment)]
    tune(experiments, data_options(args, phantom_dir=f"{args.out}/phantoms"), settings, args.out)
    return 0
