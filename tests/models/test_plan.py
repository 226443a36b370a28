"""The batch-1 trunk plan (``squeezenp/models/plan.py``): the same numbers as the layer-by-layer path for all four
networks, on 1 and 2 threads, with either 3x3 algorithm; weights read afresh at every call; outputs that leave the
plan are not overwritten by the next call; a failing stage leaves the threads usable."""
import numba
import numpy as np
import pytest

import squeezenp.models as M
from squeezenp.models.plan import TrunkPlan

from model_testutils import SMALL

NAMES = ["squeezenet", "squeezenet_bypass", "squeezenet_bypass_transfer", "proposed"]


def _model(name, size, seed=0, dtype=np.float32):
    """A network with every parameter and batch-norm statistic random (conv10 too: it starts at zero)."""
    m = M.build(name, num_classes=3, input_size=size, seed=seed).astype(dtype)
    rng = np.random.default_rng(seed + 1)
    for _, p, _ in m.named_parameters():
        p[...] = rng.standard_normal(p.shape) * np.sqrt(2.0 / max(1, p[0].size))
        if p.ndim == 1:
            p[...] = rng.standard_normal(p.shape) * 0.1
    for layer_name, layer in m.named_layers():
        if layer_name.endswith(".bn"):
            layer.params["weight"][...] = rng.uniform(0.5, 1.5, layer.params["weight"].shape)
            layer.buffers["running_mean"][...] = rng.standard_normal(layer.buffers["running_mean"].shape) * 0.1
            layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, layer.buffers["running_var"].shape)
    return m


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    previous = numba.get_num_threads()
    numba.set_num_threads(min(request.param, numba.config.NUMBA_NUM_THREADS))
    yield request.param
    numba.set_num_threads(previous)


def _compare(m, x):
    got = m.forward(x, training=False)
    features, maps = m.cam_features.copy(), m.class_maps.copy()
    assert isinstance(m.__dict__.get("_plan"), TrunkPlan)          # the plan ran
    with m.unfused():
        want = m.forward(x, training=False)
    tol = 1e-4 if x.dtype == np.float32 else 1e-10
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(features, m.cam_features, rtol=tol, atol=tol * max(1.0, float(np.abs(features).max())))
    np.testing.assert_allclose(maps, m.class_maps, rtol=tol, atol=tol * max(1.0, float(np.abs(maps).max())))
    return got


@pytest.mark.parametrize("size", [SMALL, 48])
@pytest.mark.parametrize("name", NAMES)
def test_plan_matches_the_layer_path(name, size, threads):
    m = _model(name, size)
    _compare(m, np.random.default_rng(2).standard_normal((1, 3, size, size)).astype(np.float32))


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
@pytest.mark.parametrize("name", ["squeezenet_bypass", "proposed"])
def test_plan_with_either_3x3_algorithm_and_float64(name, algorithm, monkeypatch, threads):
    monkeypatch.setenv("SQUEEZENP_CONV3X3", algorithm)
    m = _model(name, 39, dtype=np.float64)
    _compare(m, np.random.default_rng(3).standard_normal((1, 3, 39, 39)))
    assert set(m._plan.key[3]) == {algorithm}


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
def test_plan_reads_the_current_weights_and_keeps_its_outputs_apart(algorithm, monkeypatch, threads):
    """Winograd's filter transforms are kept between calls: changed weights must be transformed again."""
    monkeypatch.setenv("SQUEEZENP_CONV3X3", algorithm)
    m = _model("proposed", SMALL)
    x = np.random.default_rng(4).standard_normal((1, 3, SMALL, SMALL)).astype(np.float32)
    first = m.forward(x, training=False)
    plan = m._plan
    fire9 = m.trunk_forward(x, False)[0]
    m.fire5.expand3x3.params["weight"] *= 0.5           # as a training step or load_state_dict would
    m.fire2.bn.buffers["running_var"] *= 2.0
    second = _compare(m, x)
    assert m._plan is plan and not np.allclose(first, second)
    again = m.trunk_forward(x, False)[0]
    assert again is not fire9 and not np.shares_memory(again, fire9)    # fire9's output (cam_features) is new


def test_only_one_image_in_evaluation_uses_the_plan():
    m = _model("squeezenet", SMALL)
    x = np.random.default_rng(5).standard_normal((2, 3, SMALL, SMALL)).astype(np.float32)
    m.forward(x, training=False)
    m.forward(x[:1], training=True)
    assert "_plan" not in m.__dict__
    m.batch1_plan = False
    m.forward(x[:1], training=False)
    assert "_plan" not in m.__dict__


def test_threads_or_the_caller_alone_give_the_same_numbers(threads):
    """The plan runs its threads' shares on the threads or one after the other in the caller, whichever was
    faster lately; the work and so the numbers are the same."""
    m = _model("proposed", SMALL)
    x = np.random.default_rng(7).standard_normal((1, 3, SMALL, SMALL)).astype(np.float32)
    m.forward(x, training=False)
    got = {}
    for parallel in (True, False):
        m._plan.choice.parallel = lambda parallel=parallel: parallel
        got[parallel] = m.trunk_forward(x, False)[0]
    np.testing.assert_array_equal(got[True], got[False])


def test_the_thread_choice_follows_the_faster_way():
    from squeezenp.models.plan import _ThreadChoice
    choice = _ThreadChoice(2)
    ways = []
    for _ in range(6):                                     # first each way 3 times
        ways.append(choice.parallel())
        choice.record(ways[-1], 1.0 if ways[-1] else 2.0)
    assert ways == [True] * 3 + [False] * 3
    runs = [choice.parallel() for _ in range(32)]
    assert runs.count(False) == 2 and runs.count(True) == 30  # the faster, and the other every 16th run
    assert not _ThreadChoice(1).parallel()


def test_a_failing_stage_raises_and_the_next_call_works(threads):
    m = _model("squeezenet", SMALL)
    x = np.random.default_rng(6).standard_normal((1, 3, SMALL, SMALL)).astype(np.float32)
    want = m.forward(x, training=False)
    plan = m._plan
    plan.choice.parallel = lambda: True
    stages = list(plan.stages)

    def broken(t):
        if t == threads - 1:
            raise RuntimeError("stage failed")
        stages[5](t)
    plan.stages[5] = broken
    with pytest.raises(RuntimeError, match="stage failed"):
        m.forward(x, training=False)
    plan.stages[:] = stages
    np.testing.assert_array_equal(m.forward(x, training=False), want)


@pytest.mark.parametrize("padding", [0, 1])
def test_conv1_padding_and_the_last_pool_window(padding, threads):
    """conv1 with padding too, and the ceil-mode pool's last window hanging over the edge (size 37: conv1 18 rows,
    pool1 9)."""
    m = _model("squeezenet_bypass", 37)
    m.conv1.padding = (padding, padding)
    _compare(m, np.random.default_rng(8).standard_normal((1, 3, 37, 37)).astype(np.float32))
