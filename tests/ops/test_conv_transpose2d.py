"""The fast conv_transpose2d against the textbook one: forward and backward, float32 and float64, with a
workspace reused across calls; the non-overlapping case (stride = kernel, no padding: patches folded once with
the bias) among the drawn cases and pinned."""
import numpy as np
from hypothesis import example, given, settings

from squeezenp import functional
from squeezenp.ops import conv_transpose2d as fast
from strategies import ConvTCase, conv_transpose_cases, float_dtypes, seeds

TOL = {"float32": dict(rtol=1e-4, atol=1e-4), "float64": dict(rtol=1e-10, atol=1e-10)}


@settings(deadline=None, max_examples=30)
@given(case=conv_transpose_cases(), dtype=float_dtypes, seed=seeds)
@example(case=ConvTCase(3, 2, 3, 3, 4, 4, 4, 0), dtype="float64", seed=1)     # stride = kernel, bias
@example(case=ConvTCase(2, 3, 2, 2, 3, 2, 2, 0), dtype="float32", seed=3)     # stride = kernel, no bias
@example(case=ConvTCase(1, 2, 2, 1, 1, 3, 3, 0), dtype="float64", seed=2)     # one input pixel
def test_fast_conv_transpose2d_matches_textbook(case, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal((case.C_in, case.C_out, case.K, case.K)).astype(dtype)
    b = rng.standard_normal(case.C_out).astype(dtype) if seed % 3 else None
    ref, ref_cache = functional.conv_transpose2d_forward(x, w, b, case.S, case.P)
    dout = rng.standard_normal(ref.shape).astype(dtype)
    want = functional.conv_transpose2d_backward(dout, ref_cache)
    workspace = {}
    for _ in range(2):
        out, cache = fast.conv_transpose2d_forward(x, w, b, case.S, case.P, workspace=workspace)
        assert out.dtype == ref.dtype and out.shape == ref.shape
        np.testing.assert_allclose(out, ref, **TOL[dtype])
        got = fast.conv_transpose2d_backward(dout, cache, workspace=workspace)
        for g, r, name in zip(got, want, ("dx", "dw", "db")):
            if r is None:
                assert g is None
            else:
                assert g.dtype == r.dtype and g.shape == r.shape, name
                np.testing.assert_allclose(g, r, err_msg=name, **TOL[dtype])
