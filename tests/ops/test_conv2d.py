"""The fast conv2d against the textbook one: forward and backward, float32 and float64, with and without a
workspace (reused across calls), each algorithm of a stride-1 pad-1 3x3 convolution (im2col, Winograd, the
automatic choice). The im2col caches are interchangeable (a fast forward's cache feeds the textbook backward and
the other way round); a Winograd forward keeps no columns, so its cache feeds the fast backward, whose three
gradients are checked against the textbook ones. Also: which algorithm runs (argument, environment variable,
measured table, fallback)."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from squeezenp import functional
from squeezenp.ops import conv2d as fast
from squeezenp.ops import conv_algorithm
from strategies import ConvCase, conv_cases, float_dtypes, seeds

SETTINGS = settings(deadline=None, max_examples=30)
TOL = {"float32": dict(rtol=1e-4, atol=1e-4), "float64": dict(rtol=1e-10, atol=1e-10)}


def _close(got, want, dtype, what):
    for g, w, name in zip(got, want, what):
        if w is None:
            assert g is None, name
            continue
        assert g.dtype == w.dtype and g.shape == w.shape, name
        np.testing.assert_allclose(g, w, err_msg=name, **TOL[dtype])


@SETTINGS
@given(case=conv_cases(), dtype=float_dtypes, seed=seeds, algorithm=st.sampled_from(conv_algorithm.ALGORITHMS))
@example(case=ConvCase(2, 3, 2, 7, 6, 2, 4, 1), dtype="float32", seed=0, algorithm="auto")   # stride > kernel
@example(case=ConvCase(3, 4, 3, 5, 5, 1, 1, 0), dtype="float64", seed=1, algorithm="auto")   # pointwise: no im2col
@example(case=ConvCase(2, 3, 4, 5, 6, 3, 1, 1), dtype="float64", seed=1, algorithm="winograd")  # odd H, even W
@example(case=ConvCase(3, 2, 3, 7, 4, 3, 1, 1), dtype="float32", seed=2, algorithm="winograd")
@example(case=ConvCase(2, 3, 4, 5, 6, 3, 1, 1), dtype="float64", seed=4, algorithm="im2col")
def test_fast_conv2d_matches_textbook(case, dtype, seed, algorithm):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal((case.C_out, case.C_in, case.K, case.K)).astype(dtype)
    b = rng.standard_normal(case.C_out).astype(dtype) if seed % 3 else None
    copies = [a.copy() for a in (x, w)]
    ref, ref_cache = functional.conv2d_forward(x, w, b, case.S, case.P)
    dout = rng.standard_normal(ref.shape).astype(dtype)
    want = functional.conv2d_backward(dout, ref_cache)
    ran = fast.algorithm_for(x.shape, w.shape, (case.S, case.S), (case.P, case.P), algorithm)
    if (case.K, case.S, case.P) != (3, 1, 1):
        assert ran == "im2col"
    elif algorithm != "auto":
        assert ran == algorithm
    workspace = {}
    for _ in range(2):                                   # the second call reuses the workspace's arrays
        out, cache = fast.conv2d_forward(x, w, b, case.S, case.P, workspace=workspace, algorithm=algorithm)
        assert isinstance(cache, fast.WinogradCache) == (ran == "winograd")
        _close([out], [ref], dtype, ["out"])
        _close(fast.conv2d_backward(dout, cache, workspace=workspace), want, dtype, ["dx", "dw", "db"])
    if ran == "im2col":
        _close(functional.conv2d_backward(dout, cache), want, dtype, ["dx (fast cache)", "dw", "db"])
    _close(fast.conv2d_backward(dout, ref_cache), want, dtype, ["dx (textbook cache)", "dw", "db"])
    out_nows, cache_nows = fast.conv2d_forward(x, w, b, case.S, case.P, algorithm=algorithm)
    _close([out_nows], [ref], dtype, ["out without a workspace"])
    _close(fast.conv2d_backward(dout, cache_nows), want, dtype, ["dx without a workspace", "dw", "db"])
    for a, c in zip((x, w), copies):
        np.testing.assert_array_equal(a, c)


def test_algorithm_argument_environment_and_shapes(monkeypatch):
    x_shape, w_shape, one = (32, 16, 56, 56), (64, 16, 3, 3), (1, 1)
    monkeypatch.setenv(conv_algorithm.ENV, "im2col")
    assert fast.algorithm_for(x_shape, w_shape, one, one) == "im2col"
    assert fast.algorithm_for(x_shape, w_shape, one, one, "winograd") == "winograd"     # the argument wins
    monkeypatch.setenv(conv_algorithm.ENV, "winograd")
    assert fast.algorithm_for(x_shape, w_shape, one, one) == "winograd"
    assert fast.algorithm_for(x_shape, w_shape, one, one, "im2col") == "im2col"
    assert fast.algorithm_for(x_shape, w_shape, (2, 2), one) == "im2col"                # not a Winograd shape
    assert fast.algorithm_for(x_shape, (64, 16, 1, 1), one, (0, 0), "winograd") == "im2col"
    monkeypatch.setenv(conv_algorithm.ENV, "fast")
    with pytest.raises(ValueError, match="SQUEEZENP_CONV3X3: algorithm must be one of"):
        fast.algorithm_for((1, 16, 8, 8), w_shape, one, one)
    with pytest.raises(ValueError, match="Conv2d: algorithm must be one of"):
        fast.algorithm_for((1, 16, 8, 8), w_shape, one, one, "fft")


def test_auto_follows_the_measured_table_then_the_fallback(monkeypatch):
    monkeypatch.delenv(conv_algorithm.ENV, raising=False)
    table = conv_algorithm._table()
    assert table, "conv3x3_table.json missing or empty"
    for (C, K, H, W, batch), choice in table.items():
        N = 1 if batch == "1" else 32
        assert fast.algorithm_for((N, C, H, W), (K, C, 3, 3), (1, 1), (1, 1)) == choice
    assert conv_algorithm.fallback(16, 64, 5, 5, 8) == "im2col"
    assert conv_algorithm.fallback(16, 64, 5, 5, 1) == "winograd"
    assert fast.algorithm_for((8, 3, 40, 40), (5, 3, 3, 3), (1, 1), (1, 1)) == "winograd"   # not in the table


def test_winograd_writes_into_a_channel_slice():
    """The fused Fire writes its 3x3 branch into a channel slice of the output (``conv2d_gemm_into``)."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    want = functional.conv2d_forward(x, w, b, 1, 1)[0]
    for algorithm in ("im2col", "winograd"):
        out = np.full((2, 7, 30), np.nan)
        ran, kept = fast.conv2d_gemm_into(x, w, (1, 1), (1, 1), out[:, 3:], b, {}, algorithm)
        assert ran == algorithm and (kept is None) == (algorithm == "winograd")
        np.testing.assert_allclose(out[:, 3:].reshape(want.shape), want, **TOL["float64"])
        assert np.isnan(out[:, :3]).all()
