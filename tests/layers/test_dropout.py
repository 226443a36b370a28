"""Dropout: gradient with a fixed mask (layer.rng reseeded before every forward pass), inverted scaling,
and identity in evaluation."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.layers import Dropout
from strategies import any_shapes, seeds
from squeezenp.core.gradcheck import check_layer_gradients

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(shape=any_shapes(), p=st.floats(0.0, 0.9), seed=seeds)
def test_dropout_train_gradient_fixed_mask(shape, p, seed):
    rng = np.random.default_rng(seed)
    layer = Dropout(p)
    mask_seed = seed + 1

    def reseed():
        layer.rng = np.random.default_rng(mask_seed)

    x = rng.standard_normal(shape)
    out, dout, dx = check_layer_gradients(layer, x, rng, training=True, before_forward=reseed)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-6)   # inverted dropout (mask drawn in float32)
    np.testing.assert_array_equal(dx[~kept], 0)


@SETTINGS
@given(shape=any_shapes(), p=st.floats(0.0, 0.9), seed=seeds)
def test_dropout_eval_is_identity(shape, p, seed):
    rng = np.random.default_rng(seed)
    layer = Dropout(p, rng=seed)
    x = rng.standard_normal(shape)
    out, dout, dx = check_layer_gradients(layer, x, rng, training=False)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(dx, dout)


def test_dropout_keep_rate():
    layer = Dropout(0.3, rng=0)
    out = layer.forward(np.ones((100, 100), np.float32), training=True)
    assert abs((out != 0).mean() - 0.7) < 0.02
    assert np.isclose(out.mean(), 1.0, atol=0.03)
