"""Data set layouts (image folders, upstream COVID-CT name lists), the paper's two arrangements, arrays.

Classes are ``CLASS_NAMES = ("NonCOVID", "COVID")``: label 1 = COVID is the positive class.
Polsinelli et al. (2020) use COVID-CT (Zhao et al., arXiv:2003.13865) in two arrangements: Table 1 trains on
191 COVID + 191 NonCOVID (the official 191/234 train split, balanced), validates on the official 60/58 and
tests on the official test split (Test-1) and on a second COVID source (Test-2); Table 2 mixes the second
source into train/val/test 60/20/20.
Tested by ``tests/data/test_datasets.py``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .augment import augment_x4
from .images import NORMALISATION, load_batch

CLASS_NAMES = ("NonCOVID", "COVID")
NONCOVID, COVID = 0, 1
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
SPLIT_NAMES = ("train", "val", "test")
# Upstream class folder names, first match wins; "CT_" names are those of UCSD-AI4H/COVID-CT.
UPSTREAM_CLASS_DIRS = {COVID: ("CT_COVID", "COVID"), NONCOVID: ("CT_NonCOVID", "NonCOVID")}


class DatasetLayoutError(ValueError):
    """A data folder or name list is missing or inconsistent; the message names the path."""


@dataclass
class Split:
    """Image paths with their labels.

    Attributes
    ----------
    paths : list of Path, length N
    labels : ndarray, int64, shape (N,), 0 = NonCOVID, 1 = COVID
    """
    paths: list = field(default_factory=list)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self):
        self.paths = [Path(p) for p in self.paths]
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if len(self.paths) != self.labels.shape[0]:
            raise ValueError(f"Split has {len(self.paths)} paths but {self.labels.shape[0]} labels")
        if not np.isin(self.labels, (NONCOVID, COVID)).all():
            raise ValueError(f"Split labels must be 0 (NonCOVID) or 1 (COVID), got {np.unique(self.labels)}")

    def __len__(self) -> int:
        return len(self.paths)

    def counts(self) -> dict:
        """``{"NonCOVID": n0, "COVID": n1, "total": n0 + n1}``."""
        n1 = int(self.labels.sum())
        return {"NonCOVID": len(self) - n1, "COVID": n1, "total": len(self)}

    def subset(self, index) -> "Split":
        """The Split of ``paths[i], labels[i]`` for i in `index` (int array or boolean mask)."""
        index = np.arange(len(self))[np.asarray(index)]
        return Split([self.paths[i] for i in index], self.labels[index])

    @staticmethod
    def concat(*splits: "Split") -> "Split":
        """All paths and labels of `splits`, in order."""
        return Split([p for s in splits for p in s.paths],
                     np.concatenate([s.labels for s in splits] + [np.zeros(0, dtype=np.int64)]))


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _list_images(folder: Path, recursive: bool = False) -> list:
    """Image files in `folder` (by extension, hidden files ignored), sorted by relative path."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted((p for p in found if _is_image(p)), key=lambda p: p.relative_to(folder).as_posix())


def _case_hint(folder: Path) -> str:
    """", found 'covid' (names are case-sensitive)" when a sibling differs from ``folder`` only in case."""
    if folder.parent.is_dir():
        for p in folder.parent.iterdir():
            if p.is_dir() and p.name != folder.name and p.name.lower() == folder.name.lower():
                return f"; found {p.name!r}: folder names are case-sensitive, rename it to {folder.name!r}"
    return ""


def scan_class_folders(folder, what: str = "split folder") -> Split:
    """``folder/{NonCOVID,COVID}/**`` as one Split: every image under each class folder, subfolders included.

    Raises DatasetLayoutError for a missing class folder (with a hint when only the letter case differs) and
    for a class folder that holds no image file.
    """
    folder = Path(folder)
    paths, labels = [], []
    for label, cls in enumerate(CLASS_NAMES):
        cls_dir = folder / cls
        if not cls_dir.is_dir():
            raise DatasetLayoutError(f"missing class folder {str(cls_dir)!r} in {what} {str(folder)!r}"
                                     + _case_hint(cls_dir))
        found = _list_images(cls_dir, recursive=True)
        if not found:
            raise DatasetLayoutError(f"class folder {str(cls_dir)!r} holds no image file (searched with its "
                                     f"subfolders for {', '.join(sorted(IMAGE_EXTENSIONS))})")
        paths += found
        labels += [label] * len(found)
    return Split(paths, labels)


def scan_image_folder(root, required: Sequence[str] = ("train", "val"),
                      split_names: Sequence[str] = SPLIT_NAMES) -> dict:
    """Scan ``root/{train,val,test}/{COVID,NonCOVID}/**``.

    Parameters
    ----------
    root : str or Path
    required : sequence of str
        Splits that must exist; the others of `split_names` are read when present.
    split_names : sequence of str
        Splits to read, e.g. ("val", "test") to evaluate a model without its training images.

    Returns
    -------
    splits : dict of str -> Split
        In the order of `split_names`. Within a split: NonCOVID files, then COVID files, each sorted by their
        path below the class folder (subfolders are searched, as ``squeezenp predict`` does). Files whose
        extension is not an image one (IMAGE_EXTENSIONS) and hidden files are ignored.

    Raises
    ------
    DatasetLayoutError
        Missing root, missing required split folder, or a present split folder without both class folders
        or with a class folder holding no image; a hint is added when a name differs only in letter case.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"image folder root {str(root)!r} does not exist or is not a directory")
    out = {}
    for split in split_names:
        split_dir = root / split
        if not split_dir.is_dir():
            if split in required:
                raise DatasetLayoutError(f"missing split folder {str(split_dir)!r} (expected "
                                         f"{root}/{{{','.join(SPLIT_NAMES)}}}/{{{','.join(CLASS_NAMES)}}}/)"
                                         + _case_hint(split_dir))
            continue
        out[split] = scan_class_folders(split_dir)
    return out


def _index_by_name(folder: Path) -> dict:
    """File name -> path for every image under `folder` (recursive); a name found twice is an error."""
    index = {}
    for p in _list_images(folder, recursive=True):
        if p.name in index:
            raise DatasetLayoutError(f"image name {p.name!r} is ambiguous: found as {str(index[p.name])!r} "
                                     f"and {str(p)!r}")
        index[p.name] = p
    return index


def _find_list(splits_dir: Path, name: str):
    """The name list file `name` anywhere under `splits_dir`, or None."""
    hits = sorted(splits_dir.rglob(name))
    if len(hits) > 1:
        raise DatasetLayoutError(f"name list {name!r} found more than once under {str(splits_dir)!r}: "
                                 + ", ".join(map(str, hits)))
    return hits[0] if hits else None


def _read_list(list_path: Path) -> list:
    """Non-empty stripped lines of a name list; duplicate names warn and are kept once."""
    names = [ln.strip() for ln in list_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    unique = list(dict.fromkeys(names))
    if len(unique) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        warnings.warn(f"name list {str(list_path)!r} lists {dups} more than once; each image is used once",
                      stacklevel=3)
    return unique


def scan_upstream_layout(images_root, splits_dir, required: Sequence[str] = ("train", "val"),
                         split_names: Sequence[str] = SPLIT_NAMES) -> dict:
    """Read the upstream COVID-CT layout: class folders plus the official ``Data-split`` name lists.

    Parameters
    ----------
    images_root : str or Path
        Holds the images. Per class, the first of ``CT_COVID/``, ``COVID/`` (``CT_NonCOVID/``,
        ``NonCOVID/``) that exists is searched recursively; if neither exists, the whole of `images_root`
        is. Images are matched by file name, so any nesting works.
    splits_dir : str or Path
        Holds ``{split}CT_COVID.txt`` and ``{split}CT_NonCOVID.txt`` (searched recursively, as upstream
        keeps them in ``Data-split/COVID/`` and ``Data-split/NonCOVID/``), one file name per line.
    required : sequence of str
        Splits whose lists must exist; others of `split_names` are skipped when both lists are absent.
    split_names : sequence of str
        Splits to read, e.g. ("train", "val") for a copy that has no test images.

    Returns
    -------
    splits : dict of str -> Split
        NonCOVID then COVID within each split, each sorted by file name.

    Raises
    ------
    DatasetLayoutError
        Missing folder or list, a listed name with no image (the message names the list and the name),
        a name found twice under a class folder, or one image listed in two splits.
    """
    images_root, splits_dir = Path(images_root), Path(splits_dir)
    for what, d in (("images_root", images_root), ("splits_dir", splits_dir)):
        if not d.is_dir():
            raise DatasetLayoutError(f"{what} {str(d)!r} does not exist or is not a directory")
    class_dirs = {}
    for label, candidates in UPSTREAM_CLASS_DIRS.items():
        class_dirs[label] = next((images_root / c for c in candidates if (images_root / c).is_dir()), images_root)
    indexes = {}
    for d in set(class_dirs.values()):
        indexes[d] = _index_by_name(d)

    out, seen = {}, {}
    for split in split_names:
        lists = {label: _find_list(splits_dir, f"{split}CT_{CLASS_NAMES[label]}.txt") for label in (NONCOVID, COVID)}
        if all(v is None for v in lists.values()) and split not in required:
            continue
        paths, labels = [], []
        for label in (NONCOVID, COVID):
            list_path = lists[label]
            if list_path is None:
                raise DatasetLayoutError(f"missing name list {split}CT_{CLASS_NAMES[label]}.txt under "
                                         f"{str(splits_dir)!r}")
            names = _read_list(list_path)
            index = indexes[class_dirs[label]]
            missing = [n for n in names if n not in index]
            if missing:
                raise DatasetLayoutError(
                    f"name list {str(list_path)!r}: {len(missing)} listed image(s) not found under "
                    f"{str(class_dirs[label])!r}, first {missing[0]!r}" + (f", {missing[1]!r}" if len(missing) > 1 else ""))
            for n in names:
                if n in seen:
                    raise DatasetLayoutError(f"image {n!r} is listed in both {str(seen[n])!r} and {str(list_path)!r}")
                seen[n] = list_path
            found = sorted((index[n] for n in names), key=lambda p: p.name)
            paths += found
            labels += [label] * len(found)
        out[split] = Split(paths, labels)
    return out


def _balance(split: Split, rng: np.random.Generator) -> Split:
    """Undersample the larger class at random (without replacement) to the size of the smaller; order kept."""
    idx = [np.flatnonzero(split.labels == c) for c in (NONCOVID, COVID)]
    n = min(len(i) for i in idx)
    keep = np.sort(np.concatenate([i if len(i) == n else rng.choice(i, size=n, replace=False) for i in idx]))
    return split.subset(keep)


def _as_covid_split(second_source) -> Split:
    """A folder (all images under it, recursively, labelled COVID) or a Split, as a Split."""
    if isinstance(second_source, Split):
        return second_source
    folder = Path(second_source)
    if not folder.is_dir():
        raise DatasetLayoutError(f"second_source {str(folder)!r} is not a directory (nor a Split)")
    paths = _list_images(folder, recursive=True)
    if not paths:
        raise DatasetLayoutError(f"second_source {str(folder)!r} holds no image files")
    return Split(paths, np.full(len(paths), COVID))


@dataclass
class Arrangement:
    """A data arrangement: named splits and their class counts.

    Attributes
    ----------
    splits : dict of str -> Split
    counts : dict of str -> dict
        ``counts[name] = {"NonCOVID": ..., "COVID": ..., "total": ...}``, same keys as splits.
    """
    splits: dict
    counts: dict

    def __getitem__(self, name: str) -> Split:
        return self.splits[name]

    def table(self) -> str:
        """The counts as a fixed-width text table (one row per split)."""
        rows = [f"{'split':<8}{'COVID':>8}{'NonCOVID':>10}{'total':>8}"]
        rows += [f"{k:<8}{c['COVID']:>8}{c['NonCOVID']:>10}{c['total']:>8}" for k, c in self.counts.items()]
        return "\n".join(rows)


def _arrangement(splits: dict) -> Arrangement:
    return Arrangement(splits, {k: s.counts() for k, s in splits.items()})


def _check_splits(splits: dict, need=("train", "val")):
    for k in need:
        if k not in splits:
            raise ValueError(f"splits must contain {need}, got keys {sorted(splits)}")


def arrangement1(splits: dict, seed: int, second_source=None) -> Arrangement:
    """First arrangement (Table 1 of the paper).

    Parameters
    ----------
    splits : dict of str -> Split
        From scan_image_folder or scan_upstream_layout; needs "train" and "val", "test" optional.
    seed : int
        Seeds the undersampling.
    second_source : str, Path or Split, optional
        A second COVID source (a folder: every image under it is COVID); becomes Test-2.

    Returns
    -------
    arrangement : Arrangement
        ``"train"``: the train split balanced by random undersampling of the larger class (official COVID-CT:
        191 COVID + 191 of the 234 NonCOVID = 382); ``"val"``: unchanged (60 COVID / 58 NonCOVID);
        ``"test1"``: the test split, if present; ``"test2"``: the second source, if given.
    """
    _check_splits(splits)
    out = {"train": _balance(splits["train"], np.random.default_rng(seed)), "val": splits["val"]}
    if "test" in splits:
        out["test1"] = splits["test"]
    if second_source is not None:
        out["test2"] = _as_covid_split(second_source)
    return _arrangement(out)


def arrangement2(splits: dict, second_source, seed: int, fractions=(0.6, 0.2, 0.2)) -> Arrangement:
    """Second arrangement (Table 2 of the paper): the second COVID source mixed into every split.

    Parameters
    ----------
    splits : dict of str -> Split
        As for arrangement1.
    second_source : str, Path or Split
        The second COVID source.
    seed : int
        Seeds the train undersampling (as arrangement1) and the shuffle of the second source.
    fractions : (float, float, float)
        Train/val/test shares of the second source (cumulative rounding: every image used once).

    Returns
    -------
    arrangement : Arrangement
        ``"train"`` = arrangement1's balanced train + 60 % of the second source; ``"val"`` = val + 20 %;
        ``"test"`` = the test split (if present) + 20 %. Each split lists its first-source images first.

    Notes
    -----
    The training set is balanced before the second source is added, so it ends up with more COVID than
    NonCOVID images; the paper's Table 2 counts were not available to check this choice against.
    """
    _check_splits(splits)
    fr = np.asarray(fractions, dtype=float)
    if fr.shape != (3,) or (fr < 0).any() or not np.isclose(fr.sum(), 1.0):
        raise ValueError(f"fractions must be three shares >= 0 summing to 1, got {fractions!r}")
    extra = _as_covid_split(second_source)
    order = np.random.default_rng([int(seed), 2]).permutation(len(extra))   # own stream: independent of train
    edges = np.rint(np.concatenate([[0.0], np.cumsum(fr)]) * len(extra)).astype(int)
    parts = [extra.subset(np.sort(order[edges[k]:edges[k + 1]])) for k in range(3)]
    base = arrangement1(splits, seed).splits
    out = {"train": Split.concat(base["train"], parts[0]), "val": Split.concat(base["val"], parts[1]),
           "test": Split.concat(*([splits["test"]] if "test" in splits else []), parts[2])}
    return _arrangement(out)


class ArrayDataset:
    """Decoded images and labels in memory.

    Parameters
    ----------
    images : ndarray, float32, shape (N, C, H, W)
    labels : ndarray, int64, shape (N,)
    paths : list of Path, optional, length N
    warnings : list of str, optional, length N
        Why the model cannot judge image i ("" when it can; ``images.input_warning``).
    """

    def __init__(self, images, labels, paths=None, warnings=None):
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if self.images.ndim != 4 or self.images.shape[0] != self.labels.shape[0]:
            raise ValueError(f"images must be (N, C, H, W) with N = len(labels) = {self.labels.shape[0]}, "
                             f"got {self.images.shape}")
        self.paths = None if paths is None else [Path(p) for p in paths]
        if self.paths is not None and len(self.paths) != len(self.labels):
            raise ValueError(f"got {len(self.paths)} paths for {len(self.labels)} images")
        self.warnings = None if warnings is None else [str(w) for w in warnings]
        if self.warnings is not None and len(self.warnings) != len(self.labels):
            raise ValueError(f"got {len(self.warnings)} warnings for {len(self.labels)} images")

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index):
        """``(images[index], labels[index])``."""
        return self.images[index], self.labels[index]

    def batches(self, batch_size: int, shuffle: bool = False, rng=None) -> Iterator:
        """Yield ``(x (B, C, H, W), y (B,))`` covering every sample once; the last batch may be smaller.

        With shuffle=True the order comes from ``rng`` (a Generator or a seed).
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        order = np.random.default_rng(rng).permutation(len(self)) if shuffle else np.arange(len(self))
        for start in range(0, len(self), batch_size):
            idx = order[start:start + batch_size]
            yield self.images[idx], self.labels[idx]


def load_split(split: Split, size=(227, 227), channels: int = 3, on_error: str = "raise",
               keep_aspect: bool = False):
    """Decode a Split into an ArrayDataset (images.load_batch on every path).

    Returns
    -------
    dataset : ArrayDataset
        images (N, channels, H, W) float32, labels (N,) int64, paths, warnings; N = images that loaded.
    errors : list of (Path, str)
        Skipped files and why (only with on_error="skip").
    """
    notes: list = []
    batch, kept, errors = load_batch(split.paths, size, channels, keep_aspect, on_error, input_warnings=notes)
    label_of = {}
    for p, y in zip(split.paths, split.labels):
        label_of[p] = int(y)
    return ArrayDataset(batch, [label_of[p] for p in kept], kept, notes), errors


def augment_dataset(ds: ArrayDataset, channels: int, seed: int) -> ArrayDataset:
    """The paper's x4 augmentation on the gray images of ``ds`` (rotation, scaling, noise), re-normalised."""
    mean, std = NORMALISATION["mean"], NORMALISATION["std"]
    gray = np.clip(ds.images[:, 0] * std + mean, 0.0, 1.0)          # back to [0, 1] intensities
    aug, labels = augment_x4(gray, ds.labels, np.random.default_rng([seed, 11]))
    x = ((aug - mean) / std).astype(np.float32)[:, None]
    x = np.ascontiguousarray(np.broadcast_to(x, (len(x), channels) + x.shape[2:]))
    paths = None if ds.paths is None else list(ds.paths) * 4
    return ArrayDataset(x, labels, paths, None if ds.warnings is None else list(ds.warnings) * 4)


__all__ = ["CLASS_NAMES", "NONCOVID", "COVID", "IMAGE_EXTENSIONS", "DatasetLayoutError", "Split", "Arrangement",
           "ArrayDataset", "scan_class_folders", "scan_image_folder", "scan_upstream_layout", "arrangement1", "arrangement2",
           "load_split"]
