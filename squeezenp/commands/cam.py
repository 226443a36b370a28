"""``squeezenp cam``: class activation maps of one or more trained models over CT images, as PNG.

    squeezenp cam MODEL.npz IMAGE... --out DIR [--class covid|noncovid|predicted] [--model OTHER.npz ...]

Leading positional arguments ending in ``.npz`` (or a comma-separated list of them) are models, the rest are
image files or folders. Writes one overlay per image and model (``<image>_cam.png``, or
``<image>_<model>_cam.png`` with several models), a grid ``cam_grid.png`` laid out like Figures 4 and 5 of
Polsinelli et al. (2020) (rows: images; columns: original, then one CAM per model) and ``cam_summary.json``
(valid JSON: a non-finite probability is null; ``warning`` says why the model cannot judge an image). Nothing is
written over an input or over an existing file of a training run.
"""
from __future__ import annotations

from pathlib import Path

from ._common import bounded_int, load_classifier, positive_int, refuse_clobbering
from .predict import expand_inputs


def register(sub) -> None:
    p = sub.add_parser("cam", help="class activation maps of trained models over images (PNG overlays + grid)",
                       usage="%(prog)s MODEL.npz [MODEL.npz ...] IMAGE_OR_FOLDER [IMAGE_OR_FOLDER ...] --out DIR "
                             "[options]",
                       description="Overlay each model's class activation map (viridis, 0..1) on each CT image; "
                                   "write one PNG per image and model and a grid of all of them. The leading "
                                   "arguments ending in .npz are models, the rest images or folders.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="model file(s) first (.npz, also comma-separated), then image files or folders")
    p.add_argument("--model", action="append", default=[], metavar="NPZ", help="another model (repeatable); "
                   "default: only the leading .npz arguments")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--class", dest="target", default="predicted", choices=["predicted", "covid", "noncovid"],
                   help="which class's map to draw (default: each image's predicted class)")
    p.add_argument("--alpha", type=float, default=0.45, help="opacity of the map over the slice (default 0.45)")
    p.add_argument("--size", type=bounded_int(16, 4096), default=256,
                   help="side of each overlay in pixels (default 256)")
    p.add_argument("--grid-rows", type=positive_int, default=8, help="at most this many images in the grid "
                   "(default 8)")
    p.add_argument("--grid-cell", type=bounded_int(16, 1024), default=160,
                   help="side of each grid cell in pixels (default 160)")
    p.add_argument("--masks", metavar="DIR", help="folder searched (recursively) for lesion masks with the "
                   "images' file names (a phantom folder: its masks/ subfolder); outlined in red in the grid; "
                   "default: none")
    p.set_defaults(func=run)


def split_models(paths, extra=()) -> tuple[list[Path], list[str]]:
    """Leading ``.npz`` arguments (comma lists allowed) and ``--model`` values -> models; the rest -> images."""
    models, k = [], 0
    while k < len(paths) and all(s.lower().endswith(".npz") for s in paths[k].split(",") if s):
        models += [s for s in paths[k].split(",") if s]
        k += 1
    models += list(extra)
    if not models:
        raise ValueError("no model given: the first argument (or --model) must be a .npz model file")
    if k == len(paths):
        raise ValueError("no image given after the model file(s)")
    for m in models:
        if not Path(m).is_file():
            raise ValueError(f"model file {m!r} does not exist")
    return [Path(m) for m in models], list(paths[k:])


def _titles(models, paths) -> list[str]:
    names = [m.config.get("name", "model") for m in models]
    if len(set(names)) < len(names):   # the same network twice: tell them apart by file name
        names = [f"{n} ({p.stem})" for n, p in zip(names, paths)]
    seen, out = {}, []
    for n in names:                     # the same file twice: number the repeats
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
    return out


def run(args) -> int:
    import numpy as np

    from ..core.atomic import atomic_write_json
    from ..reports.cam import class_activation_maps
    from ..data import load_grayscale_checked, to_network_input
    from ..reports.figures import cam_grid, write_cam_image
    from ..app.pipeline import output_warnings
    from .predict import warn_unjudged

    if not 0.0 <= args.alpha <= 1.0:
        raise ValueError(f"--alpha must be in [0, 1], got {args.alpha}")
    if args.masks and not Path(args.masks).is_dir():
        raise ValueError(f"--masks folder {args.masks!r} does not exist")
    model_paths, inputs = split_models(args.paths, args.model)
    images = expand_inputs(inputs)
    out = Path(args.out)

    stems, seen = [], {}
    for p in images:                               # unique output names even for equal stems in other folders
        n = seen.get(p.stem, 0)
        seen[p.stem] = n + 1
        stems.append(p.stem if n == 0 else f"{p.stem}_{n}")
    models = [load_classifier(p) for p in model_paths]
    titles = _titles(models, model_paths)
    names = [[f"{stem}_cam.png" if len(models) == 1 else f"{stem}_{_safe(title)}_cam.png" for stem in stems]
             for title in titles]
    refuse_clobbering([out / n for row in names for n in row] + [out / "cam_grid.png", out / "cam_summary.json"],
                      [*model_paths, *images])
    checked = [load_grayscale_checked(p) for p in images]   # a bad file: one-line ImageLoadError naming it
    grays = [g for g, _ in checked]
    out.mkdir(parents=True, exist_ok=True)

    maps, probs, summary = [], [], []
    for model, title, mpath, files in zip(models, titles, model_paths, names):
        size = int(model.config["input_size"])
        ch = int(model.config.get("in_channels", 3))
        x = np.stack([to_network_input(g, (size, size), ch) for g in grays])
        res = class_activation_maps(model, x, args.target)
        maps.append(res.maps)
        probs.append(res.probabilities[:, 1])
        notes = output_warnings(res.probabilities[:, 1], [w for _, w in checked])
        for i, p in enumerate(images):
            cls = "COVID" if res.classes[i] == 1 else "NonCOVID"
            pr = float(res.probabilities[i, 1])
            write_cam_image(out / files[i], grays[i], res.maps[i],
                            f"{p.name}\n{title}: map of {cls}, P(COVID) {pr:.2f}", args.alpha, args.size)
            summary.append({"image": str(p), "model": str(mpath), "network": title, "class": cls,
                            "probability_covid": pr, "png": str(out / files[i]), "warning": notes[i]})
    rows = list(range(min(len(images), max(1, args.grid_rows))))
    masks = None
    if args.masks:
        from ..reports.cam import load_mask
        root = Path(args.masks)
        root = root / "masks" if (root / "masks").is_dir() else root   # a phantom folder: ROOT/masks/...
        found = {}
        for m in sorted(root.rglob("*")):
            if m.is_file():
                found.setdefault(m.name, m)
        masks = [load_mask(found[images[i].name]) if images[i].name in found else None for i in rows]
    which = {"predicted": "each image's predicted class", "covid": "COVID", "noncovid": "NonCOVID"}[args.target]
    cam_grid([grays[i] for i in rows], [m[rows] for m in maps], titles, out / "cam_grid.png",
             row_labels=[images[i].name for i in rows], probabilities=[pr[rows] for pr in probs], alpha=args.alpha,
             masks=masks, cell=args.grid_cell, true_labels=[_true_label(images[i]) for i in rows], map_class=which)
    atomic_write_json(out / "cam_summary.json", {"class": args.target, "maps": summary})   # NaN -> null
    print(f"{len(summary)} CAM image(s) and {out / 'cam_grid.png'} written to {out}")
    warn_unjudged([m["warning"] for m in summary], out / "cam_summary.json")
    return 0


def _true_label(path: Path) -> str:
    """The class folder an image sits in (COVID / NonCOVID, any case), else "unknown"."""
    folder = path.parent.name.lower()
    return {"covid": "COVID", "noncovid": "NonCOVID", "ct_covid": "COVID", "ct_noncovid": "NonCOVID"}.get(
        folder, "unknown")


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
