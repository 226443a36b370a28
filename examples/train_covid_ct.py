"""Train the proposed CNN on the real COVID-CT images with the paper's experiment-4 hyperparameters.

Arrangement 1 (Table 1): 191 COVID + 191 NonCOVID training slices (undersampled with the seed), x4
augmentation (1528 images), validation 60/58. Learning rate 0.007132, momentum 0.87589, L2 9.532e-07
(the paper's Table 3, experiment 4), 20 epochs, x0.8 every 5 epochs, best validation epoch kept.

    python examples/train_covid_ct.py                      # data at ../shared/data/covid-ct
    python examples/train_covid_ct.py --data DIR --out runs/covid_ct --epochs 20 --input-size 227

Writes the report folder (model, checkpoint, history, metrics.json, predictions.csv, figures) and prints the
validation metrics. Interrupted runs continue with --resume.
"""
from __future__ import annotations

import argparse
import sys

from squeezenp.data import covid_ct_dir
from squeezenp.app.pipeline import DataOptions, run_experiment
from squeezenp.train import TrainConfig


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="COVID-CT image folder (default: ../shared/data/covid-ct or $SQUEEZENP_SHARED)")
    p.add_argument("--out", default="runs/covid_ct")
    p.add_argument("--model", default="proposed")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--input-size", type=int, default=227)
    p.add_argument("--limit", type=int, default=None, help="at most this many images per class per split")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    data = args.data or covid_ct_dir()
    if data is None:
        print("COVID-CT data not found: pass --data DIR or set SQUEEZENP_SHARED", file=sys.stderr)
        return 1
    opts = DataOptions(data=data, input_size=args.input_size, augment=True, seed=args.seed, limit=args.limit)
    cfg = TrainConfig(epochs=args.epochs, lr=0.007132, momentum=0.87589, l2=9.532e-07, seed=args.seed)
    run_experiment(args.model, opts, cfg, args.out, resume=args.resume)
    return 0


if __name__ == "__main__":
    sys.exit(main())
