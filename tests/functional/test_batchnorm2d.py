"""batchnorm2d_forward / backward: float64 gradient checks of x, gamma and beta with batch statistics
(training) and with running statistics (evaluation), and the training output's per-channel mean."""
import numpy as np
from hypothesis import given, settings

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import batchnorm2d_backward, batchnorm2d_forward
from strategies import nchw_shapes, seeds

SETTINGS = settings(deadline=None, max_examples=25)


def _args(shape, rng):
    C = shape[1]
    x = rng.standard_normal(shape) * rng.uniform(0.5, 2.0) + rng.uniform(-1, 1)
    gamma = rng.uniform(0.5, 2.0, C) * rng.choice([-1, 1], C)
    return x, gamma, rng.standard_normal(C)


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_batchnorm2d_training_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    x, gamma, beta = _args(shape, rng)
    out, _, _ = check_function_gradients(batchnorm2d_forward, batchnorm2d_backward, (x, gamma, beta, 1e-5),
                                         {0: 0, 1: 1, 2: 2}, rng)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-10)


@SETTINGS
@given(shape=nchw_shapes(), seed=seeds)
def test_batchnorm2d_evaluation_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    x, gamma, beta = _args(shape, rng)
    mean, var = rng.standard_normal(shape[1]), rng.uniform(0.5, 2.0, shape[1])
    out, _, _ = check_function_gradients(batchnorm2d_forward, batchnorm2d_backward,
                                         (x, gamma, beta, 1e-5, mean, var), {0: 0, 1: 1, 2: 2}, rng)
    expected = gamma[None, :, None, None] * (x - mean[None, :, None, None]) / \
        np.sqrt(var[None, :, None, None] + 1e-5) + beta[None, :, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
