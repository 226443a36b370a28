"""MaxPool2d (floor and ceil mode, overlapping windows, stride > kernel) and GlobalAvgPool2d: gradients
by central differences, with distinct input values so that no max-pool tie sits near x."""
import numpy as np
from hypothesis import example, given, settings

from squeezenp.layers import GlobalAvgPool2d, MaxPool2d
from strategies import PoolCase, nchw_shapes, pool_cases, seeds
from squeezenp.core.gradcheck import check_layer_gradients, distinct_values

SETTINGS = settings(deadline=None, max_examples=30)


@SETTINGS
@given(case=pool_cases(), seed=seeds)
@example(case=PoolCase(2, 3, 7, 6, 3, 2, True), seed=0)      # SqueezeNet's 3x3/2 ceil pool, overhanging
@example(case=PoolCase(1, 2, 7, 5, 2, 4, False), seed=1)     # stride > kernel
@example(case=PoolCase(1, 2, 5, 5, 1, 3, True), seed=2)      # ceil mode, last window dropped
def test_maxpool_gradients(case, seed):
    rng = np.random.default_rng(seed)
    layer = MaxPool2d(case.K, case.S, ceil_mode=case.ceil_mode)
    x = distinct_values(case.x_shape, rng)
    out, _, _ = check_layer_gradients(layer, x, rng)
    assert out.shape == (case.N, case.C) + case.out_hw
    assert layer.output_shape(x.shape) == out.shape


def test_maxpool_ceil_mode_by_hand():
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    np.testing.assert_array_equal(MaxPool2d(2, 2, ceil_mode=False).forward(x)[0, 0], [[6, 8], [16, 18]])
    np.testing.assert_array_equal(MaxPool2d(2, 2, ceil_mode=True).forward(x)[0, 0],
                                  [[6, 8, 9], [16, 18, 19], [21, 23, 24]])


def test_maxpool_stride_defaults_to_kernel():
    assert MaxPool2d(3).stride == 3


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_global_avg_pool_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    out, _, _ = check_layer_gradients(GlobalAvgPool2d(), x, rng)
    assert out.shape == shape[:2]
    np.testing.assert_allclose(out, x.mean(axis=(2, 3)), rtol=1e-12)
