"""Which images stay together: source ids from COVID-CT's name patterns, perceptual-hash near-duplicates (a
re-encoded and rescaled copy included), runs of consecutive numbers, and the union of all three."""
import io

import numpy as np
import pytest
from PIL import Image

from squeezenp.data import load_grayscale, make_phantom
from squeezenp.evaluation.groups import (difference_hash, group_images, hamming, near_duplicate_pairs,
                                         numbered_runs, source_id)


@pytest.mark.parametrize("name, expected", [
    ("2020.02.10.20021584-p6-52%0.png", "2020.02.10.20021584"),      # paper, page 6, figure 52, sub-image 0
    ("2020.02.10.20021584-p6-52%13.png", "2020.02.10.20021584"),
    ("2020.01.24.919183-p27-132.png", "2020.01.24.919183"),           # no sub-image suffix
    ("2020.03.01.20029769-p21-73_2%1.png", "2020.03.01.20029769"),    # figure with a panel number
    ("2020.02.23.20026856-p17-115-1.png", "2020.02.23.20026856"),
    ("35%0.jpg", "35"), ("35%12.jpg", "35"),                          # NonCOVID sub-images of one figure
    ("1029.png", "1029"), ("folder/sub/877.jpg", "877"),
])
def test_source_id_of_the_real_name_patterns(name, expected):
    assert source_id(name) == expected


def _phantom(seed, size=96):
    return make_phantom(np.random.default_rng(seed), size, covid=bool(seed % 2))[0]


def test_hash_sees_a_reencoded_rescaled_copy_and_not_another_slice(tmp_path):
    g = _phantom(1, 128)
    copy_path = tmp_path / "copy.jpg"      # 8-bit JPEG at 70 % of the size, with a mild contrast change
    small = Image.fromarray(np.rint(np.clip(0.05 + 0.9 * g, 0, 1) * 255).astype(np.uint8)).resize((90, 90))
    small.save(copy_path, quality=80)
    h_orig, h_copy = difference_hash(g), difference_hash(load_grayscale(copy_path))
    h_other = difference_hash(_phantom(3, 128))
    assert hamming(h_orig, h_copy) <= 24 < hamming(h_orig, h_other)
    assert difference_hash(g) < 2 ** 256 and hamming(h_orig, h_orig) == 0


def test_near_duplicate_pairs_lists_each_close_pair_once_with_its_distance():
    a, b, c = 0b1111, 0b1110, 0b0000 | (1 << 40)
    pairs = near_duplicate_pairs([a, b, c], max_distance=1)
    assert pairs == [(0, 1, 1)]
    assert near_duplicate_pairs([a, b, c], max_distance=64) == [(0, 1, 1), (0, 2, 5), (1, 2, 4)]


def test_numbered_runs_join_consecutive_numbers_only():
    paths = ["1058.png", "1059.png", "1061.png", "35%0.jpg", "36%1.jpg", "2020.02.10.20021584-p6-52%0.png"]
    assert sorted(numbered_runs(paths)) == [(0, 1), (3, 4)]


def test_group_images_is_the_union_of_sources_hashes_and_runs():
    paths = ["a/2020.1.1.1-p1-1%0.png", "a/2020.1.1.1-p2-5%3.png",     # 0, 1: one paper
             "b/100.png", "b/101.png", "b/102.png",                     # 2, 3, 4: one run of numbers
             "b/200.png", "b/x.png", "b/y.png"]                         # 5 alone; 6 and 7 near-duplicates
    labels = [1, 1, 0, 0, 0, 0, 0, 0]
    hashes = [0b11 << (2 * i) for i in range(8)]                       # any two differ in 4 bits
    hashes[7] = hashes[6] | (1 << 40)                                   # ... but y.png in 1 bit from x.png
    groups, pairs = group_images(paths, labels, hashes, max_distance=1)
    assert pairs == [(6, 7, 1)]
    assert groups[0] == groups[1] and groups[2] == groups[3] == groups[4] and groups[6] == groups[7]
    assert len({groups[0], groups[2], groups[5], groups[6]}) == 4
    assert groups.tolist() == sorted(groups.tolist())                   # numbered in order of first appearance
    # the same source name in the other class is another source; without runs, numbers stay apart
    g2, _ = group_images(["7.png", "7.png", "8.png"], [0, 1, 0], runs=False)
    assert len(set(g2.tolist())) == 3


def test_union_find_joins_chains_transitively():
    hashes = [0, 0b1, 0b11, 0b111, 0b111 << 100]                     # a chain of one-bit steps, and a stranger
    groups, pairs = group_images([f"{c}.png" for c in "abcde"], [0] * 5, hashes, max_distance=1)
    assert len(set(groups[:4].tolist())) == 1 and groups[4] != groups[0]
