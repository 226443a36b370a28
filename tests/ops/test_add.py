"""The evaluation bypass ``add_inference``: the Numba twin against the textbook ``out += x`` (float32 and float64, any
shape, strided inputs on NumPy's path), in place, the second input unchanged; and the bypass networks' fused
evaluation (which adds in place) against their layer path."""
import numpy as np
from hypothesis import given, settings

from squeezenp import functional
from squeezenp.models import create
from squeezenp.ops import add as fast
from strategies import any_shapes, float_dtypes, seeds


@settings(deadline=None, max_examples=30)
@given(shape=any_shapes(), dtype=float_dtypes, seed=seeds)
def test_add_inference_matches_the_textbook_in_place(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    a, x = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    want = functional.add_inference(a.copy(), x)
    got_in = a.copy()
    got = fast.add_inference(got_in, x)
    assert got is got_in
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want, a + x)
    strided = np.repeat(a, 2, axis=-1)[..., ::2]              # not contiguous: NumPy's path, same result
    np.testing.assert_array_equal(fast.add_inference(strided, x), want)


def test_bypass_network_fused_evaluation_equals_the_layer_path():
    m = create("squeezenet_bypass", input_size=48, seed=4)
    m.conv10.params["weight"][...] = np.random.default_rng(1).standard_normal(m.conv10.params["weight"].shape)
    m.eval()
    x = np.random.default_rng(2).standard_normal((3, 3, 48, 48)).astype(np.float32)
    fused = m.forward(x.copy())
    assert m.bypass3._cache is None                           # the shortcut was added in place
    with m.unfused():
        plain = m.forward(x.copy())
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-6)
