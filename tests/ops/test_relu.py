"""ReLU: the Numba twin against the textbook function (float32 and float64, any shape, strided inputs), the
caches interchangeable, inputs unchanged."""
import numpy as np
from hypothesis import given, settings

from squeezenp import functional
from squeezenp.ops import relu as fast
from strategies import any_shapes, float_dtypes, seeds

SETTINGS = settings(deadline=None, max_examples=30)


@SETTINGS
@given(shape=any_shapes(), dtype=float_dtypes, seed=seeds)
def test_relu_kernels_match_the_textbook(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:2] = 0.0                              # the kink: ReLU'(0) = 0 on both paths
    dout = rng.standard_normal(shape).astype(dtype)
    copies = (x.copy(), dout.copy())
    ref, ref_cache = functional.relu_forward(x)
    out, cache = fast.relu_forward(x)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)
    want = functional.relu_backward(dout, ref_cache)
    for got in (fast.relu_backward(dout, cache), fast.relu_backward(dout, ref_cache),
                functional.relu_backward(dout, cache)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(dout, copies[1])


def test_relu_strided_input_and_nan():
    x = np.arange(-12.0, 12.0).reshape(2, 3, 4)[:, ::2, 1:]
    np.testing.assert_array_equal(fast.relu_forward(x)[0], np.maximum(x, 0))
    dout = np.ones((4, 6))[::2, ::2]
    np.testing.assert_array_equal(fast.relu_backward(dout, x[0]), functional.relu_backward(dout, x[0]))
    y = np.array([np.nan, -1.0, 2.0], np.float32)
    np.testing.assert_array_equal(fast.relu_forward(y)[0], np.maximum(y, 0))
