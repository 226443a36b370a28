"""The fast conv2d against the textbook one: forward and backward, float32 and float64, with and without a
workspace (reused across calls), and the caches interchangeable (a fast forward's cache feeds the textbook
backward and the other way round)."""
import numpy as np
from hypothesis import example, given, settings

from squeezenp import functional
from squeezenp.ops import conv2d as fast
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
@given(case=conv_cases(), dtype=float_dtypes, seed=seeds)
@example(case=ConvCase(2, 3, 2, 7, 6, 2, 4, 1), dtype="float32", seed=0)     # stride > kernel, padding
@example(case=ConvCase(3, 4, 3, 5, 5, 1, 1, 0), dtype="float64", seed=1)     # pointwise: no im2col
def test_fast_conv2d_matches_textbook(case, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal((case.C_out, case.C_in, case.K, case.K)).astype(dtype)
    b = rng.standard_normal(case.C_out).astype(dtype) if seed % 3 else None
    copies = [a.copy() for a in (x, w)]
    ref, ref_cache = functional.conv2d_forward(x, w, b, case.S, case.P)
    dout = rng.standard_normal(ref.shape).astype(dtype)
    want = functional.conv2d_backward(dout, ref_cache)
    workspace = {}
    for _ in range(2):                                   # the second call reuses the workspace's arrays
        out, cache = fast.conv2d_forward(x, w, b, case.S, case.P, workspace=workspace)
        _close([out], [ref], dtype, ["out"])
        _close(fast.conv2d_backward(dout, cache, workspace=workspace), want, dtype, ["dx", "dw", "db"])
    _close(functional.conv2d_backward(dout, cache), want, dtype, ["dx (fast cache)", "dw", "db"])
    _close(fast.conv2d_backward(dout, ref_cache), want, dtype, ["dx (textbook cache)", "dw", "db"])
    out_nows, cache_nows = fast.conv2d_forward(x, w, b, case.S, case.P)
    _close([out_nows], [ref], dtype, ["out without a workspace"])
    for a, c in zip((x, w), copies):
        np.testing.assert_array_equal(a, c)
