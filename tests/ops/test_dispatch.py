"""The ops dispatch: inside ``ops.reference_backend()`` every layer of every network runs on the textbook
functions alone, GEMMs included (every fast function, Numba kernel and the thread pool are replaced by traps
here, and nothing springs one); outside it the fast twins run (the same traps do spring). Also: speed-only
keywords are dropped on the way to a textbook function, and ``register`` refuses a name with no textbook twin."""
import inspect
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest

from squeezenp import functional, ops
from squeezenp.layers import Linear
from squeezenp.models import create
from squeezenp.ops import (batchnorm2d, bias, conv2d, conv_act, conv_transpose2d, elu, fire, gemm, head, im2col,
                           maxpool2d, patches, relu, winograd)

FAST_MODULES = (gemm, im2col, bias, relu, elu, batchnorm2d, maxpool2d, winograd, patches, conv2d, conv_act,
                conv_transpose2d, fire, head)


class FastPathEntered(AssertionError):
    pass


def _trap(name):
    def trap(*args, **kwargs):
        raise FastPathEntered(f"{name} was called")
    return trap


@pytest.fixture
def traps(monkeypatch):
    """Replace every function, Numba kernel and fast twin of squeezenp/ops, and the thread pool's submit."""
    names = []
    for module in FAST_MODULES:
        for name, obj in vars(module).items():
            own_function = inspect.isfunction(obj) and obj.__module__ == module.__name__
            if own_function or isinstance(obj, numba.core.dispatcher.Dispatcher):
                monkeypatch.setattr(module, name, _trap(f"{module.__name__}.{name}"))
                names.append(name)
    for name in list(ops._FAST):
        monkeypatch.setitem(ops._FAST, name, _trap(f"fast {name}"))
    monkeypatch.setattr(ThreadPoolExecutor, "submit", _trap("ThreadPoolExecutor.submit"))
    assert {"_run_parallel", "_im2col_kernel", "_bn_forward_kernel", "winograd_conv3x3", "conv2d_forward"} <= set(names)
    return names


def _every_layer_of_every_network():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 35, 35))
    for name in ("squeezenet", "squeezenet_bypass", "proposed"):
        model = create(name, input_size=35).astype(np.float64)     # created fused for evaluation
        model.forward(x, training=False)
        logits = model.forward(x, training=True)
        model.backward(np.ones_like(logits))
        model.fuse(False).forward(x, training=False)
    lin = Linear(4, 3, rng=0)
    lin.backward(np.ones_like(lin.forward(np.ones((2, 4), np.float32))))


def test_reference_backend_enters_no_fast_path(traps):
    with ops.reference_backend():
        _every_layer_of_every_network()


def test_the_traps_spring_on_the_fast_path(traps):
    with pytest.raises(FastPathEntered):
        _every_layer_of_every_network()


def test_speed_only_keywords_are_dropped_for_the_textbook():
    x, w = np.ones((1, 2, 3, 3)), np.ones((4, 2, 1, 1))
    with ops.reference_backend():
        out, _ = ops.conv2d_forward(x, w, None, 1, 0, workspace={})
    np.testing.assert_array_equal(out, functional.conv2d_forward(x, w, None)[0])


def test_register_needs_a_textbook_twin():
    with pytest.raises(ValueError, match="no 'winograd_forward'"):
        ops.register("winograd_forward", lambda *a: None)


def test_backend_names():
    with pytest.raises(ValueError, match="expected one of"):
        ops.set_backend("fast")
    assert ops.get_backend() == "numba"


def test_every_textbook_pair_has_its_dispatch():
    pairs = {n for n in functional.__all__ if n.endswith(("_forward", "_backward", "_inference"))}
    assert set(ops.OPERATIONS) == pairs
    assert set(ops._FAST) <= pairs
    for name in pairs:
        assert getattr(ops, name).__name__ == name
