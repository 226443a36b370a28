"""Concat and Add: the gradient of every input by central differences."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.layers import Add, Concat
from strategies import batch, channels, seeds, spatial
from squeezenp.core.gradcheck import assert_grad_close, numerical_grad

SETTINGS = settings(deadline=None, max_examples=25)


@st.composite
def merge_inputs(draw, same_channels):
    N, H, W, k = draw(batch), draw(spatial), draw(spatial), draw(st.integers(1, 3))
    if same_channels:
        C = draw(channels)
        return [(N, C, H, W)] * k
    return [(N, draw(channels), H, W) for _ in range(k)]


def check_multi_input(layer, xs, rng):
    copies = [x.copy() for x in xs]
    out = layer.forward(*xs)
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    dxs = layer.backward(dout)
    assert isinstance(dxs, tuple) and len(dxs) == len(xs)
    dxs = [d.copy() for d in dxs]
    for i, x in enumerate(xs):
        num = numerical_grad(lambda _: layer.forward(*xs), x, dout)
        assert dxs[i].shape == x.shape and dxs[i].dtype == np.float64
        assert_grad_close(dxs[i], num, f"input {i}")
    for x, c in zip(xs, copies):
        np.testing.assert_array_equal(x, c)
    np.testing.assert_array_equal(dout, dout_copy)
    return out


@SETTINGS
@given(shapes=merge_inputs(same_channels=False), seed=seeds)
def test_concat_gradients(shapes, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in shapes]
    out = check_multi_input(Concat(), xs, rng)
    np.testing.assert_array_equal(out, np.concatenate(xs, axis=1))


@SETTINGS
@given(shapes=merge_inputs(same_channels=True), seed=seeds)
def test_add_gradients(shapes, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in shapes]
    out = check_multi_input(Add(), xs, rng)
    np.testing.assert_allclose(out, sum(xs), rtol=1e-12)


def test_concat_mismatch_names_shapes():
    a, b = np.zeros((2, 3, 4, 4)), np.zeros((2, 1, 5, 4))
    with pytest.raises(ValueError, match=r"Concat: .*\(2, 3, 4, 4\).*\(2, 1, 5, 4\)"):
        Concat().forward(a, b)
    with pytest.raises(ValueError, match=r"Concat: .*float64.*float32"):
        Concat().forward(a, a.astype(np.float32))
    with pytest.raises(ValueError, match=r"Concat: expected a 4-D input, got shape \(2, 3\)"):
        Concat().forward(a, np.zeros((2, 3)))


def test_add_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"Add: .*\(2, 3, 4, 4\).*\(2, 3, 4, 5\)"):
        Add().forward(np.zeros((2, 3, 4, 4)), np.zeros((2, 3, 4, 5)))
