"""Which of Matlab's defaults makes the SqueezeNets (networks 1 and 2) learn? Side by side, seed by seed.

Every variant trains one network on COVID-CT (train split x4 augmented, scored on the validation split) with the
paper's searched values for that network (Table 3: learning rate, momentum, L2), and differs from the ``paper``
loop (batch 32 reshuffled every epoch, He initialisation with squeezenp's zero classifier, the pipeline's
normalisation) in the switches it names, each a field of the ``matlab`` recipe (``squeezenp/train/recipes.py``):

    paper        the paper loop as squeezenp runs it, with Table 3's values
    batch128     + mini-batch 128, the incomplete last batch left out (Matlab's MiniBatchSize, trainNetwork)
    once         + Shuffle 'once' (one order for every epoch)
    glorot       + Glorot-uniform weights, zero biases, every convolution (conv10 included)
    zerocenter   + the training set's mean image subtracted from 0-255 pixels
    matlab       all of Matlab's defaults at once (the ``matlab`` recipe)
    matlab+FIX   the matlab recipe plus changes beyond it (``FIXES``; several joined with "+"); ``lrVALUE``
                 replaces Table 3's learning rate (``matlab+lr0.005``)

Each run reports whether training diverged (a NaN or infinite loss), else the last epoch's validation accuracy
(Matlab returns the last epoch's network), the best epoch's, and whether the network collapsed
(``squeezenp.train.collapse``: dead class maps, constant output) at the end. A run whose class maps no dropout
mask can revive on the training probe is stopped there (``collapse.irrecoverable``): no later epoch can change
its output, so its last epoch's accuracy is final.
Runs are saved one JSON file each in ``--out``, so a table is built up over several short invocations; ``--table``
prints it from the saved runs only.

    python examples/matlab_defaults.py --out runs/matlab-defaults --networks squeezenet --variants paper,matlab \\
        --seeds 0 --size 64 --epochs 20
    python examples/matlab_defaults.py --out runs/matlab-defaults --table
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from squeezenp.core.atomic import atomic_write_json
from squeezenp.data import covid_ct_dir
from squeezenp.app.pipeline import DataOptions, prepare_datasets
from squeezenp.train.collapse import collapse_report, irrecoverable
from squeezenp.train import TrainingDiverged
from squeezenp.train.recipes import MATLAB_TRAIN, get_recipe, train_recipe

BATCH128 = {"batch_size": 128, "drop_last": True}
# name -> (recipe fields, train fields) on top of get_recipe("paper", paper_values=True)
SWITCHES = {
    "paper": ({}, {}),
    "batch128": ({}, BATCH128),
    "once": ({}, {"shuffle": "once"}),
    "glorot": ({"init": "glorot"}, {}),
    "zerocenter": ({"input_normalization": "zerocenter"}, {}),
    "matlab": ({"init": "glorot", "input_normalization": "zerocenter"}, MATLAB_TRAIN),
}
# changes beyond Matlab's defaults, each added to the full matlab recipe alone
FIXES = {
    "conv10": ({"init": "glorot_zero_conv10"}, {}),
    "warmup": ({}, {"warmup_epochs": 1}),          # the first epoch at half the learning rate
    "clip": ({}, {"gradient_threshold": 1.0}),     # Matlab's GradientThreshold 1 (l2norm per parameter array)
    "stratified": ({}, {"stratified_batches": True}),
    "lsuv": ({"init": "lsuv"}, {}),                # conv10 as "conv10", every other conv scaled to unit output variance
    "batch32": ({}, {"batch_size": 32, "drop_last": False}),
}


def variant(name: str, model: str, size: int, epochs: int):
    """The recipe of ``name`` ("paper", a switch, "matlab" or "matlab+FIX[+FIX...]") for network ``model``."""
    base, *fixes = name.split("+")
    known = lambda f: f in FIXES or (f.startswith("lr") and f[2:].replace(".", "", 1).isdigit())   # noqa: E731
    if base not in SWITCHES or (fixes and base != "matlab") or not all(known(f) for f in fixes):
        raise ValueError(f"unknown variant {name!r}; expected one of {list(SWITCHES)} or "
                         f"matlab+FIX[+FIX...], FIX in {list(FIXES)} or lrVALUE (e.g. lr0.005)")
    fields, train = dict(SWITCHES[base][0]), dict(SWITCHES[base][1])
    for f in fixes:
        extra_fields, extra_train = FIXES[f] if f in FIXES else ({}, {"lr": float(f[2:])})
        fields.update(extra_fields)
        train.update(extra_train)
    return get_recipe("paper", model=model, input_size=size, paper_values=True, **fields,
                      train={**train, "epochs": epochs})


def run_one(name, model, seed, data, size, epochs, out: Path) -> dict:
    path = out / f"{model}_{name}_s{size}_e{epochs}_seed{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    recipe = variant(name, model, size, epochs)
    (x, y), (xv, yv) = data
    t0 = time.monotonic()
    probe = x[::max(1, len(x) // 128)]       # a dead network is stopped: no later epoch can change it
    try:
        net, result = train_recipe(recipe, x, y, xv, yv, seed=seed, stop_when=irrecoverable(probe))
    except TrainingDiverged as e:            # a result too: these values make the loss infinite
        record = {"network": model, "variant": name, "size": size, "epochs": epochs, "seed": seed,
                  "config": recipe.config(seed).__dict__, "diverged": str(e), "seconds": time.monotonic() - t0}
        atomic_write_json(path, record)
        return record
    last = result.history[-1]
    best = max(result.history, key=lambda h: h["val_accuracy"])
    record = {"network": model, "variant": name, "size": size, "epochs": epochs, "seed": seed,
              "config": recipe.config(seed).__dict__, "last_val_accuracy": last["val_accuracy"],
              "best_val_accuracy": best["val_accuracy"], "best_epoch": best["epoch"],
              "last_train_loss": last["train_loss"], "history": result.history,
              "stopped_after": last["epoch"] if last.get("stopped") else None,
              "collapse": collapse_report(net, xv), "seconds": time.monotonic() - t0}
    atomic_write_json(path, record)
    return record


def table(out: Path) -> str:
    """Mean over seeds per (network, variant, size, epochs), from the saved runs."""
    runs = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    groups: dict[tuple, list] = {}
    for r in runs:
        groups.setdefault((r["network"], r["size"], r["epochs"], r["variant"]), []).append(r)
    order = list(SWITCHES)
    lines = ["| network | size, epochs | variant | seeds | val. accuracy, last epoch (each seed) | mean | "
             "best epoch's, mean | alive at the end (both class maps, varied output) |",
             "|---|---|---|---|---|---|---|---|"]
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], order.index(k[3]) if k[3] in order else 99, k[3])):
        rs = sorted(groups[key], key=lambda r: r["seed"])
        ok = [r for r in rs if "diverged" not in r]
        last = [f"{r['last_val_accuracy']:.3f}" if "diverged" not in r else "diverged" for r in rs]
        alive = sum(not r["collapse"]["collapsed"] and not r["collapse"]["dead_maps"] for r in ok)
        mean = lambda k: f"{np.mean([r[k] for r in ok]):.3f}" if ok else "-"   # noqa: E731
        lines.append(f"| {key[0]} | {key[1]} px, {key[2]} | {key[3]} | {','.join(str(r['seed']) for r in rs)} | "
                     + " ".join(last) + f" | {mean('last_val_accuracy')} | {mean('best_val_accuracy')} | "
                     f"{alive}/{len(rs)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder of the saved runs (one JSON file per run)")
    p.add_argument("--data", help="COVID-CT folder (default: ../shared/data/covid-ct or $SQUEEZENP_SHARED)")
    p.add_argument("--networks", default="squeezenet,squeezenet_bypass")
    p.add_argument("--variants", default="paper,batch128,glorot,zerocenter,matlab")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--table", action="store_true", help="only print the table of the saved runs")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.table:
        data_dir = args.data or covid_ct_dir()
        if data_dir is None:
            p.error("no COVID-CT folder: give --data or set $SQUEEZENP_SHARED")
        ds, _, _ = prepare_datasets(DataOptions(data=data_dir, input_size=args.size, augment=False), log=None)
        data = ((ds["train"].images, ds["train"].labels), (ds["val"].images, ds["val"].labels))
        for model in args.networks.split(","):
            for name in args.variants.split(","):
                for seed in (int(s) for s in args.seeds.split(",")):
                    r = run_one(name, model, seed, data, args.size, args.epochs, out)
                    if "diverged" in r:
                        print(f"{model} {name} seed {seed}: {r['diverged']}", flush=True)
                        continue
                    print(f"{model} {name} seed {seed}: val acc last {r['last_val_accuracy']:.3f} best "
                          f"{r['best_val_accuracy']:.3f} (epoch {r['best_epoch']}), train loss "
                          f"{r['last_train_loss']:.4f}, {r['collapse']['status']} ({r['seconds']:.0f}s)", flush=True)
    print(table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
