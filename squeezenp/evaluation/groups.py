"""Which images must stay together in cross-validation: slices of one source, and near-duplicate pixels.

COVID-CT's COVID images are cropped from figures of papers, and the file name begins with the identifier of the
paper (``2020.02.10.20021584-p6-52%0.png``: preprint 2020.02.10.20021584, page 6, figure 52, sub-image 0). Slices
of one paper often show one patient, so the official split keeps a paper's slices on one side; the NonCOVID names
(``35%0.jpg``, ``35%1.jpg``) share a prefix when they were cut from one figure. ``source_id`` recovers that key.

Two files can also hold nearly the same picture under unrelated names (re-used figures, the same slice at two
crops, neighbouring slices of one scan). ``difference_hash`` is a perceptual hash of the decoded pixels (Krawetz's
dHash: shrink to 17x16 gray, one bit per horizontal neighbour comparison); two images whose 256-bit hashes differ in
at most ``max_distance`` bits are near-duplicates. Why 256 bits and 24: CT slices all look alike at 9x8, and the
64-bit hash joined most of the set into one group; at 256 bits the pairs within 24 bits are neighbouring slices
(NonCOVID ``114.png``..``118.png``, ``2140.png``..``2145.png``; thumbnail correlation >= 0.94), while unrelated
slices sit at 42+ bits (0.1th percentile of pairs from different sources on COVID-CT).

NonCOVID files numbered in sequence (``1058.png``, ``1059.png``, ...) were exported one case after another, and
neighbouring numbers are often neighbouring slices of one patient that the hash does not catch; ``numbered_runs``
joins runs of consecutive numbers too. The official split does the same: of the 190 pairs of NonCOVID files with
neighbouring numbers in its name lists, 181 lie in one split. On train + val this yields 106 groups (the largest
holds 87 files), against 229 from sources and hashes alone.

``group_images`` joins all three relations with union-find, so every source, every run and every chain of
near-duplicates lands in one group.

Tests: ``tests/evaluation/test_groups.py``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

_PAGE = re.compile(r"-p\d+.*$")        # "-p6-52%0" -> page, figure, sub-image of one paper
_SUBIMAGE = re.compile(r"%\d+$")       # "35%1" -> sub-image 1 of figure 35


def source_id(path: str | Path) -> str:
    """The source key of one file name: the paper identifier for ``<paper>-p<page>...``, else the name without
    its ``%k`` sub-image suffix and extension (``35%1.jpg`` -> ``35``; ``1029.png`` -> ``1029``)."""
    stem = Path(path).stem
    if _PAGE.search(stem):
        return _PAGE.sub("", stem)
    return _SUBIMAGE.sub("", stem)


def difference_hash(gray: np.ndarray, size: int = 16) -> int:
    """dHash of a gray image (H, W) in [0, 1]: ``size * size`` bits, bit set where a pixel is brighter than its
    right neighbour in the image shrunk to ``(size, size + 1)``. Robust to scale, format and mild contrast change."""
    g = np.asarray(gray, dtype=np.float32)
    small = np.asarray(Image.fromarray(g).resize((size + 1, size), Image.Resampling.BILINEAR))
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int("".join("1" if b else "0" for b in bits[::-1]), 2)


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def near_duplicate_pairs(hashes: Sequence[int], max_distance: int = 24, bits: int = 256
                         ) -> list[tuple[int, int, int]]:
    """``(i, j, distance)`` for every pair i < j whose hashes differ in at most ``max_distance`` bits."""
    h = np.array([[(x >> k) & 1 for k in range(bits)] for x in hashes], dtype=np.uint8)
    pairs = []
    for i in range(len(h)):
        d = (h[i + 1:] != h[i]).sum(axis=1)
        pairs += [(i, i + 1 + int(j), int(d[j])) for j in np.flatnonzero(d <= max_distance)]
    return pairs


class _UnionFind:
    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i, j):
        self.parent[self.find(i)] = self.find(j)


def numbered_runs(paths: Sequence) -> list[tuple[int, int]]:
    """``(i, j)`` for files named ``<n>.<ext>`` / ``<n>%k.<ext>`` whose numbers differ by one (same folder kind)."""
    number = {}
    for i, p in enumerate(paths):
        key = source_id(p)
        if key.isdigit():
            number.setdefault(int(key), []).append(i)
    return [(i, j) for n, idx in number.items() for i in idx for j in number.get(n + 1, [])]


def group_images(paths: Sequence, labels: Sequence[int], hashes: Sequence[int] | None = None,
                 max_distance: int = 24, runs: bool = True) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Group ids (N,) such that images of one source (within a class) or near-duplicate pixels share a group.

    Returns ``(groups, pairs)``: group ids numbered 0.. in order of first appearance, and the near-duplicate
    pairs found (empty when ``hashes`` is None). A near-duplicate pair across classes is grouped too: it cannot
    be split between training and test without leaking, whatever its labels say.
    """
    n = len(paths)
    uf = _UnionFind(n)
    first = {}
    for i, (p, y) in enumerate(zip(paths, labels)):
        key = (int(y), source_id(p))
        if key in first:
            uf.union(i, first[key])
        else:
            first[key] = i
    pairs = near_duplicate_pairs(hashes, max_distance) if hashes is not None else []
    for i, j, _ in pairs:
        uf.union(i, j)
    for i, j in numbered_runs(paths) if runs else []:
        if labels[i] == labels[j]:
            uf.union(i, j)
    roots, groups = {}, np.empty(n, dtype=np.int64)
    for i in range(n):
        groups[i] = roots.setdefault(uf.find(i), len(roots))
    return groups, pairs
