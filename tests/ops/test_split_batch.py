"""An evaluation batch split over the threads (``squeezenp/ops/split_batch.py``): each share runs on its own
thread with one Numba thread and its own workspace slot, the results come back in order; the networks' split
forward gives the numbers of the unsplit one (logits, CAM features, class maps), is taken only where it is safe
(batch of two images per thread or more, no forward hooks below the model, evaluation, the proposed CNN's fused
head), and keeps no cache."""
import threading

import numba
import numpy as np
import pytest

import squeezenp.models as M
import squeezenp.models.networks as networks
from squeezenp.ops import split_batch as sb
from squeezenp.ops.workspace import thread_slot

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2 or not sb._blas_controllers(),
                                reason="needs two Numba threads and a BLAS whose threads threadpoolctl controls")


@pytest.fixture
def two_threads():
    previous = numba.get_num_threads()
    numba.set_num_threads(2)
    yield
    numba.set_num_threads(previous)


def test_each_share_runs_on_its_own_thread_with_one_numba_thread_and_its_own_slot(two_threads):
    seen = []

    def fn(xs):
        seen.append((threading.get_ident(), numba.get_num_threads(), thread_slot(), xs[0, 0]))
        return xs * 2

    x = np.arange(5.0).reshape(5, 1)
    results = sb.split_batch(fn, x)
    np.testing.assert_array_equal(np.concatenate(results), x * 2)          # in the order of the shares
    assert len(seen) == 2 and len({s[0] for s in seen}) == 2
    assert all(s[1] == 1 for s in seen)
    assert sorted((s[2] for s in seen), key=str) == [("split", 0), ("split", 1)]
    assert numba.get_num_threads() == 2 and thread_slot() is None          # the caller's settings are back


def test_small_batches_and_one_thread_are_not_split(two_threads):
    assert sb.split_threads(3) == 1 and sb.split_threads(4) == 2
    numba.set_num_threads(1)
    assert sb.split_threads(32) == 1
    assert len(sb.split_batch(lambda xs: xs, np.zeros((8, 1)))) == 1


def test_an_error_in_a_share_reaches_the_caller_and_the_threads_stay_usable(two_threads):
    def fn(xs):
        if xs[0, 0] > 0:
            raise RuntimeError("share failed")
        return xs

    with pytest.raises(RuntimeError, match="share failed"):
        sb.split_batch(fn, np.arange(4.0).reshape(4, 1))
    assert numba.get_num_threads() == 2
    assert len(sb.split_batch(lambda xs: xs, np.zeros((4, 1)))) == 2


def _random_model(name, size):
    m = M.build(name, num_classes=3, input_size=size, seed=0)
    rng = np.random.default_rng(1)
    for _, p, _ in m.named_parameters():
        p[...] = rng.standard_normal(p.shape) * np.sqrt(2.0 / max(1, p[0].size)) if p.ndim > 1 else \
            rng.standard_normal(p.shape) * 0.1
    return m


@pytest.mark.parametrize("name, size", [("squeezenet", 63), ("squeezenet_bypass", 63),
                                        ("squeezenet_bypass_transfer", 63), ("proposed", 35)])
def test_split_forward_matches_the_unsplit_one(name, size, two_threads, monkeypatch):
    m = _random_model(name, size)
    x = np.random.default_rng(2).standard_normal((5, 3, size, size)).astype(np.float32)
    calls = []
    monkeypatch.setattr(networks, "split_batch", lambda fn, xs: calls.append(len(xs)) or sb.split_batch(fn, xs))
    got = m.forward(x, training=False)
    features, maps = m.cam_features, m.class_maps
    assert calls == [5]                                                     # the split ran
    assert m.conv10._cache is None and m.pool10._cache is None             # no share's cache left behind
    assert m.fire9._cache is None
    m.split_batches = False
    want = m.forward(x, training=False)
    assert calls == [5]
    for a, b in ((got, want), (features, m.cam_features), (maps, m.class_maps)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(b).max())))
    # the layers' scratch arrays: one dict per share's slot, none shared
    assert {("split", 0), ("split", 1)} <= set(m.fire2.expand3x3.workspaces)


def test_the_proposed_cnn_is_split_only_where_its_fused_head_runs(two_threads):
    """The shares run the fused head, which needs the upconv's output to have the skip's size (227, 35; not 63)."""
    for size, split in ((35, True), (63, False)):
        m = M.build("proposed", input_size=size)
        assert m._splits_batch(np.zeros((4, 3, size, size), np.float32), training=False) == split


def test_hooks_training_and_the_unfused_model_are_never_split(two_threads, monkeypatch):
    m = _random_model("squeezenet", 63)
    x = np.random.default_rng(3).standard_normal((4, 3, 63, 63)).astype(np.float32)
    assert m._splits_batch(x, training=False)
    assert not m._splits_batch(x, training=True)
    assert not m._splits_batch(x[:3], training=False)
    handle = m.fire4.squeeze1x1.register_forward_hook(lambda *a: None)
    assert not m._splits_batch(x, training=False)
    handle.remove()
    with m.unfused():
        assert not m._splits_batch(x, training=False)
    monkeypatch.setattr(networks, "split_batch", lambda fn, xs: pytest.fail("split while unsafe"))
    m.fire2.register_forward_hook(lambda *a: None)
    m.forward(x, training=False)
