"""Max pooling: the Numba twins against the textbook functions, and the output size (floor and PyTorch's ceil
mode) and forward values against a brute-force oracle written with plain loops."""
import numpy as np
import pytest
from hypothesis import example, given, settings

from squeezenp import functional
from squeezenp.core.gradcheck import distinct_values
from squeezenp.functional import pool_output_size
from squeezenp.ops import maxpool2d as fast
from strategies import PoolCase, float_dtypes, pool_cases, seeds


def maxpool_forward(x, k, s, ceil_mode):
    out, (_, argmax) = fast.maxpool2d_forward(x, k, s, ceil_mode)
    return out, argmax


def maxpool_forward_reference(x, k, s, ceil_mode):
    out, (_, argmax) = functional.maxpool2d_forward(x, k, s, ceil_mode)
    return out, argmax


def maxpool_backward(dout, argmax, x_shape):
    return fast.maxpool2d_backward(dout, (x_shape, argmax))


def maxpool_backward_reference(dout, argmax, x_shape):
    return functional.maxpool2d_backward(dout, (x_shape, argmax))


SETTINGS = settings(deadline=None, max_examples=30)


def window_starts(H, K, S, ceil_mode):
    """Brute force: enumerate window starts 0, S, 2S, ...; floor mode keeps windows wholly inside; ceil mode
    keeps a window that starts inside the input and hangs over the edge by less than a stride (PyTorch)."""
    starts = []
    for p in range(H + 1):
        start = p * S
        if start >= H:
            break
        overhang = start + K - H
        if overhang <= 0 or (ceil_mode and overhang < S):
            starts.append(start)
    return starts


def maxpool_oracle(x, K, S, ceil_mode):
    N, C, H, W = x.shape
    hs, ws = window_starts(H, K, S, ceil_mode), window_starts(W, K, S, ceil_mode)
    out = np.empty((N, C, len(hs), len(ws)), dtype=x.dtype)
    for n, c in np.ndindex(N, C):
        for a, h0 in enumerate(hs):
            for b, w0 in enumerate(ws):
                out[n, c, a, b] = max(x[n, c, h, w] for h in range(h0, min(h0 + K, H))
                                      for w in range(w0, min(w0 + K, W)))
    return out


@pytest.mark.parametrize("H,K,S,ceil_mode,expected", [
    (111, 3, 2, True, 55), (55, 3, 2, True, 27), (27, 3, 2, True, 13),   # SqueezeNet 1.1 trunk (torchvision)
    (112, 3, 2, False, 55), (112, 3, 2, True, 56), (6, 3, 2, True, 3), (6, 3, 2, False, 2),
    (5, 1, 3, True, 2),     # ceil gives 3, but the 3rd window would start at 6 >= 5: dropped (PyTorch)
    (5, 2, 2, True, 3), (5, 2, 2, False, 2), (4, 4, 3, True, 1), (7, 2, 4, True, 2)])
def test_pool_output_size_known_values(H, K, S, ceil_mode, expected):
    assert pool_output_size(H, K, S, ceil_mode) == expected


def test_pool_output_size_matches_brute_force():
    for H in range(1, 30):
        for K in range(1, min(H, 5) + 1):
            for S in range(1, 6):
                for ceil_mode in (False, True):
                    assert pool_output_size(H, K, S, ceil_mode) == len(window_starts(H, K, S, ceil_mode)), \
                        (H, K, S, ceil_mode)


@SETTINGS
@given(case=pool_cases(), dtype=float_dtypes, seed=seeds)
@example(case=PoolCase(2, 3, 7, 6, 2, 3, True), dtype="float32", seed=1)   # stride > kernel, ceil
@example(case=PoolCase(1, 1, 5, 5, 1, 3, True), dtype="float64", seed=2)   # last window dropped
def test_maxpool_forward_kernel_reference_and_oracle(case, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    x_copy = x.copy()
    ref_out, ref_arg = maxpool_forward_reference(x, case.K, case.S, case.ceil_mode)
    out, arg = maxpool_forward(x, case.K, case.S, case.ceil_mode)
    assert out.shape == ref_out.shape == (case.N, case.C) + case.out_hw
    assert out.dtype == ref_out.dtype == x.dtype and arg.dtype == np.int64
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(arg, ref_arg)
    np.testing.assert_array_equal(out, maxpool_oracle(x, case.K, case.S, case.ceil_mode))
    # the argmax points at the value that was passed on
    flat = x.reshape(case.N, case.C, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, arg.reshape(case.N, case.C, -1), 2).reshape(out.shape), out)
    np.testing.assert_array_equal(x, x_copy)


def test_maxpool_ties_go_to_first_maximum():
    x = np.zeros((1, 1, 4, 4))
    for f in (maxpool_forward_reference, maxpool_forward):
        _, arg = f(x, 2, 2, False)
        np.testing.assert_array_equal(arg[0, 0], [[0, 2], [8, 10]])
    # the networks' 3x3 / 2 pools (fixed offsets inside the map, the loop at the ceil-mode edge) on ReLU outputs,
    # where ties are everywhere: the same argmax as the reference
    relu = np.maximum(np.random.default_rng(0).standard_normal((2, 3, 11, 12)), 0).round(1)
    (o1, a1), (o2, a2) = maxpool_forward_reference(relu, 3, 2, True), maxpool_forward(relu, 3, 2, True)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(a1, a2)


@SETTINGS
@given(case=pool_cases(), dtype=float_dtypes, seed=seeds)
@example(case=PoolCase(2, 3, 7, 6, 3, 1, True), dtype="float32", seed=3)    # overlapping windows
def test_maxpool_backward_kernel_matches_reference(case, dtype, seed):
    rng = np.random.default_rng(seed)
    x = distinct_values(case.x_shape, rng).astype(dtype)
    _, arg = maxpool_forward_reference(x, case.K, case.S, case.ceil_mode)
    dout = rng.standard_normal(arg.shape).astype(dtype)
    dout_copy = dout.copy()
    ref = maxpool_backward_reference(dout, arg, x.shape)
    fast = maxpool_backward(dout, arg, x.shape)
    assert ref.dtype == fast.dtype == x.dtype and ref.shape == fast.shape == x.shape
    np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(dout, dout_copy)
    # every upstream entry lands somewhere: the totals agree
    np.testing.assert_allclose(fast.sum(axis=(2, 3)), dout.sum(axis=(2, 3)), rtol=1e-5, atol=1e-5)


@SETTINGS
@given(case=pool_cases(), dtype=float_dtypes, seed=seeds)
@example(case=PoolCase(2, 3, 7, 6, 2, 3, True), dtype="float32", seed=1)   # stride > kernel, ceil
@example(case=PoolCase(1, 1, 5, 5, 1, 3, True), dtype="float64", seed=2)   # last window dropped
def test_maxpool_forward_values_kernel_matches_reference(case, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(case.x_shape).astype(dtype)
    ref = functional.maxpool2d_inference(x, case.K, case.S, case.ceil_mode)
    out = fast.maxpool2d_inference(x, case.K, case.S, case.ceil_mode)
    assert out.dtype == x.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(out, maxpool_oracle(x, case.K, case.S, case.ceil_mode))


@SETTINGS
@given(case=pool_cases(), dtype=float_dtypes, seed=seeds)
@example(case=PoolCase(2, 3, 7, 6, 2, 3, True), dtype="float32", seed=1)   # stride > kernel, ceil
@example(case=PoolCase(1, 4, 7, 7, 3, 2, True), dtype="float32", seed=3)   # the networks' 3/2 ceil pools
def test_maxpool_planes_into_matches_reference(case, dtype, seed):
    """The serial kernel of the batch-1 plan, on a channel slice of one image, against its reference."""
    x = np.random.default_rng(seed).standard_normal(case.x_shape).astype(dtype)
    out_shape = (case.C,) + case.out_hw
    ref = fast.maxpool_planes_into_reference(x[0], case.K, case.S, np.empty(out_shape, dtype))
    np.testing.assert_array_equal(ref, functional.maxpool2d_inference(x, case.K, case.S, case.ceil_mode)[0])
    out = np.full(out_shape, np.nan, dtype)
    lo = case.C // 2
    fast.maxpool_planes_into(x[0, lo:], case.K, case.S, out[lo:])      # a slice, as the plan's threads write
    fast.maxpool_planes_into(x[0, :lo], case.K, case.S, out[:lo])
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("kernel", ["_argmax_scan", "_argmax_two_passes"])
@pytest.mark.parametrize("k,s,ceil_mode", [(3, 2, True), (3, 2, False), (2, 2, True), (3, 1, False)])
@pytest.mark.parametrize("H,W", [(9, 70), (13, 11), (8, 8)])
def test_both_argmax_kernels_match_reference(kernel, k, s, ceil_mode, H, W):
    """The training forward picks one of two argmax kernels by the map's width (``TWO_PASSES_FROM``): each, on
    narrow and wide maps, gives the textbook's values and argmax, ties at 0 after a ReLU included (the first
    maximum in row-major order)."""
    rng = np.random.default_rng(H * W + k)
    x = np.maximum(rng.standard_normal((3, H, W)), 0).astype(np.float32)
    x[:, :4, :5] = 0                                          # windows of zeros: all ties
    want, want_argmax = maxpool_forward_reference(x[None], k, s, ceil_mode)
    out = np.empty(want.shape[1:], np.float32)
    argmax = np.empty(want.shape[1:], np.int32)
    getattr(fast, kernel)(x, k, s, out, argmax)
    np.testing.assert_array_equal(out, want[0])
    np.testing.assert_array_equal(argmax, want_argmax[0])
    assert (want == 0).any() and (want_argmax[0] % W != 0).any()


@SETTINGS
@given(case=pool_cases(), dtype=float_dtypes, seed=seeds)
@example(case=PoolCase(1, 4, 7, 7, 3, 2, True), dtype="float32", seed=3)   # the networks' 3/2 ceil pools
@example(case=PoolCase(1, 2, 9, 5, 2, 3, False), dtype="float64", seed=4)  # stride > kernel
def test_maxpool_rows_into_matches_reference(case, dtype, seed):
    """The batch-1 plan's threads pool bands of output rows: from the whole map (``x_row0`` 0) and from a copy of
    the input rows their band reads (``x_row0`` its first row); the bands together are the textbook's pool."""
    x = np.random.default_rng(seed).standard_normal(case.x_shape).astype(dtype)[0]
    out_shape = (case.C,) + case.out_hw
    want = functional.maxpool2d_inference(x[None], case.K, case.S, case.ceil_mode)[0]
    OH, H = out_shape[1], x.shape[1]
    for cut in sorted({0, OH // 3, OH // 2, OH}):
        bands = [(0, cut), (cut, OH)]
        for kernel in (fast.maxpool_rows_into, fast.maxpool_rows_into_reference):
            whole, banded = np.full(out_shape, np.nan, dtype), np.full(out_shape, np.nan, dtype)
            for first, stop in bands:
                if stop == first:
                    continue
                kernel(x, case.K, case.S, whole, first, stop, 0)
                a = first * case.S                                  # the input rows this band's windows read
                b = min((stop - 1) * case.S + case.K, H)
                kernel(np.ascontiguousarray(x[:, a:b]), case.K, case.S, banded, first, stop, a)
            np.testing.assert_array_equal(whole, want)
            np.testing.assert_array_equal(banded, want)
