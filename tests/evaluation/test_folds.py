"""Stratified grouped K-fold and the inner selection split: groups never split, classes balanced per fold,
deterministic per seed, clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from squeezenp.evaluation.folds import inner_split, stratified_group_kfold


def _data(seed, n_groups=40):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 8, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    group_label = rng.integers(0, 2, n_groups)
    group_label[:2] = [0, 1]
    return group_label[groups], groups


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 6))
def test_every_group_lies_in_one_fold_and_every_fold_is_used(seed, k):
    labels, groups = _data(seed)
    folds = stratified_group_kfold(labels, groups, k, seed)
    assert folds.shape == labels.shape and set(folds.tolist()) == set(range(k))
    for g in np.unique(groups):
        assert len(set(folds[groups == g].tolist())) == 1


def test_folds_are_stratified_and_of_similar_size():
    labels, groups = _data(3, n_groups=120)
    folds = stratified_group_kfold(labels, groups, 5, seed=0)
    share = labels.mean()
    for f in range(5):
        assert abs(labels[folds == f].mean() - share) < 0.08
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 8                       # groups hold at most 7 images


def test_folds_are_deterministic_for_a_seed_and_change_with_it():
    labels, groups = _data(5, n_groups=60)
    a = stratified_group_kfold(labels, groups, 5, seed=1)
    assert np.array_equal(a, stratified_group_kfold(labels, groups, 5, seed=1))
    assert not np.array_equal(a, stratified_group_kfold(labels, groups, 5, seed=2))


def test_fold_errors_are_clear():
    with pytest.raises(ValueError, match="groups cannot fill 5 folds"):
        stratified_group_kfold([0, 1, 0, 1], [0, 0, 1, 1], 5)
    with pytest.raises(ValueError, match="k must be at least 2"):
        stratified_group_kfold([0, 1], [0, 1], 1)
    with pytest.raises(ValueError, match="1-D of one length"):
        stratified_group_kfold([0, 1, 1], [0, 1], 2)


def test_inner_split_is_a_grouped_stratified_fifth():
    labels, groups = _data(7, n_groups=100)
    sel = inner_split(labels, groups, 0.2, seed=4)
    assert sel.dtype == bool and 0.12 < sel.mean() < 0.28
    assert abs(labels[sel].mean() - labels.mean()) < 0.1
    for g in np.unique(groups):
        assert len(set(sel[groups == g].tolist())) == 1          # a group is held out whole or not at all
    assert np.array_equal(sel, inner_split(labels, groups, 0.2, seed=4))
    assert 0.25 < inner_split(labels, groups, 1 / 3, seed=4).mean() < 0.42
