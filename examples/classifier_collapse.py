"""Why the SqueezeNets (networks 1 and 2) collapse to a constant output, and the proposed CNN does not.

Their classifier is conv10 -> ReLU -> global average pool. The pooled logit of class c is
z_c = mean over positions of ReLU(w_c . f + b_c), where f are fire9's 512 feature channels at a position.
Two measurable facts explain the collapse (``docs/reproduction.md``, "Networks 1 and 2"):

1. **The classifier is stiff.** While the ReLUs are active, z is linear in conv10's weights with the pooled
   features g = GAP(f) as input. Cross-entropy's Hessian along w_1 - w_0 is E[p(1-p) g g^T] (x2 for the two
   rows), at most 0.5 * lambda, lambda = the largest eigenvalue of E[g g^T]. Gradient descent with heavy-ball
   momentum beta on a quadratic of curvature h is stable only for lr < 2 (1 + beta) / h. ReLU features with He
   initialisation have a large common positive mean, so lambda is large and that bound is small.
2. **Overshooting is fatal.** A step too far along that direction pushes w_c . f + b_c below zero at every
   position for a class: its ReLU map is then 0 everywhere and passes no gradient. Once both maps are dead the
   logits are (0, 0), the loss is ln 2 = 0.6931 and nothing can change any more.

The proposed CNN has batch norm in every Fire module and no ReLU after conv10: its lambda is smaller and a
dead map cannot happen.

    python examples/classifier_collapse.py                       # real COVID-CT, 128 px
    python examples/classifier_collapse.py --steps 20 --lr 0.001 --momentum 0.9 --torchvision-init

Prints, for each network: the features' mean, lambda, the stability bound, the class maps' pre-activations at
initialisation and, with ``--steps``, after that many sgdm steps (batch 32) at ``--lr``.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from squeezenp import models
from squeezenp.data import covid_ct_dir
from squeezenp.app.pipeline import DataOptions, prepare_datasets
from squeezenp.train import TrainConfig, fit


def probe_pass(model, x, batch=32):
    """One evaluation pass over ``x``: the pooled conv10 inputs g = GAP(features), (N, C) float64, and conv10's
    pre-activation maps (N, classes, H, W)."""
    g, pre = [], []
    for i in range(0, len(x), batch):
        model.forward(x[i:i + batch], training=False)
        g.append(model.cam_features.mean(axis=(2, 3)))
        pre.append(model.conv10.forward(model.cam_features, training=False))
    return np.concatenate(g).astype(np.float64), np.concatenate(pre)


def stiffness(g, momentum):
    """Mean of g, lambda = the largest eigenvalue of E[g g^T], and the sgdm stability bound on the learning rate."""
    lam = float(np.linalg.eigvalsh(g.T @ g / len(g))[-1])
    return float(g.mean()), lam, 2 * (1 + momentum) / (0.5 * lam)


def class_map_stats(pre):
    """Per class: mean and std of conv10's pre-activations over images and positions, and the fraction > 0."""
    return [(float(pre[:, c].mean()), float(pre[:, c].std()), float((pre[:, c] > 0).mean()))
            for c in range(pre.shape[1])]


def report(name, model, probe, momentum, label):
    g, pre = probe_pass(model, probe)
    mean, lam, lr_max = stiffness(g, momentum)
    maps = class_map_stats(pre)
    print(f"  {label}: pooled features mean {mean:.3f}, lambda {lam:.4g}, sgdm stable for lr < {lr_max:.3g} "
          f"(momentum {momentum})")
    for c, (m, s, frac) in enumerate(maps):
        print(f"    class {c} map before {'ReLU' if name != 'proposed' else 'GAP'}: mean {m:+.3f} std {s:.3f}, "
              f"positive at {100 * frac:.1f}% of positions")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="COVID-CT folder (default: ../shared/data/covid-ct or $SQUEEZENP_SHARED; "
                                  "synthetic phantoms when neither exists)")
    p.add_argument("--input-size", type=int, default=128)
    p.add_argument("--networks", default="squeezenet,proposed")
    p.add_argument("--probe-images", type=int, default=128, help="training images used for the statistics")
    p.add_argument("--steps", type=int, default=0, help="sgdm steps (batch 32) before measuring again")
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--l2", type=float, default=1e-4)
    p.add_argument("--conv10-bias", type=float, default=None, help="initial conv10 bias (default: as built)")
    p.add_argument("--torchvision-init", action="store_true",
                   help="redraw conv10 as torchvision does, N(0, 0.01) and bias 0 (squeezenp's SqueezeNets start "
                        "at weight 0 and bias 0.1, the proposed CNN at N(0, 0.01))")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = args.data or covid_ct_dir()
    opts = DataOptions(data=data, input_size=args.input_size, augment=True, seed=args.seed)
    datasets, _, _ = prepare_datasets(opts, channels=3, log=print)
    train = datasets["train"]
    order = np.random.default_rng(args.seed).permutation(len(train.labels))
    probe = train.images[order[:args.probe_images]]
    for name in args.networks.split(","):
        model = models.create(name, num_classes=2, input_size=args.input_size, seed=args.seed)
        if args.torchvision_init:
            w = model.conv10.params["weight"]
            w[...] = np.random.default_rng(args.seed).normal(0.0, 0.01, w.shape)
            model.conv10.params["bias"][...] = 0.0
        if args.conv10_bias is not None:
            model.conv10.params["bias"][...] = args.conv10_bias
        print(f"{name}:")
        report(name, model, probe, args.momentum, "at initialisation")
        if args.steps:
            idx = order[:args.steps * 32]
            cfg = TrainConfig(epochs=1, batch_size=32, lr=args.lr, momentum=args.momentum, l2=args.l2,
                              lr_drop_period=10 ** 6, seed=args.seed)
            res = fit(model, (train.images[idx], train.labels[idx]), None, cfg, log=None)
            print(f"  after {args.steps} steps at lr {args.lr}: training loss {res.history[-1]['train_loss']:.4f} "
                  f"(ln 2 = 0.6931)")
            report(name, model, probe, args.momentum, f"after {args.steps} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
