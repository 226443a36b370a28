"""SoftmaxCrossEntropy: dlogits by central differences, with and without class weights; stability."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.functional import log_softmax
from squeezenp.layers import SoftmaxCrossEntropy
from strategies import batch, seeds
from squeezenp.core.gradcheck import assert_grad_close

SETTINGS = settings(deadline=None, max_examples=30)


@SETTINGS
@given(N=batch, K=st.integers(2, 5), weighted=st.booleans(), seed=seeds)
def test_softmax_cross_entropy_dlogits(N, K, weighted, seed):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.2, 3.0, K) if weighted else None
    loss = SoftmaxCrossEntropy(class_weights=weights)
    z = rng.standard_normal((N, K)) * 3
    y = rng.integers(0, K, N)
    z_copy, y_copy = z.copy(), y.copy()
    value = loss.forward(z, y)
    dz = loss.backward()
    assert dz.shape == z.shape and dz.dtype == np.float64
    # the definition: weighted mean of -log p[n, y_n]
    w = np.ones(N) if weights is None else weights[y]
    logp = np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, -(w * logp[np.arange(N), y]).sum() / w.sum(), rtol=1e-10)
    h = 1e-6
    num = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        old = z[i]
        z[i] = old + h
        lp = SoftmaxCrossEntropy(weights).forward(z, y)
        z[i] = old - h
        lm = SoftmaxCrossEntropy(weights).forward(z, y)
        z[i] = old
        num[i] = (lp - lm) / (2 * h)
    assert_grad_close(dz, num, "dlogits")
    # with an upstream scalar gradient, dlogits scales
    g = rng.standard_normal()
    assert_grad_close(loss.backward(g), g * num, "dlogits * dout")
    np.testing.assert_array_equal(z, z_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_softmax_cross_entropy_large_logits_are_stable():
    z = np.array([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]], dtype=np.float32)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(z, np.array([0, 2]))
    assert np.isfinite(value) and np.isclose(value, 1e4 / 2)
    dz = loss.backward()
    assert dz.dtype == np.float32 and np.all(np.isfinite(dz))
    assert np.all(np.isfinite(log_softmax(z)))


def test_softmax_cross_entropy_bad_labels():
    loss = SoftmaxCrossEntropy()
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy: expected integer labels of shape \(2,\), got float64"):
        loss.forward(z, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy: labels must lie in \[0, 3\)"):
        loss.forward(z, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy: expected 3 class weights, got shape \(2,\)"):
        SoftmaxCrossEntropy([1.0, 2.0]).forward(z, np.array([0, 1]))


@SETTINGS
@given(N=batch, K=st.integers(2, 5), eps=st.floats(0.01, 0.5), weighted=st.booleans(), seed=seeds)
def test_label_smoothing_loss_and_dlogits(N, K, eps, weighted, seed):
    """Targets (1 - e) onehot + e / K: the loss by definition and its gradient p - t by central differences."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.2, 3.0, K) if weighted else None
    z = rng.standard_normal((N, K)) * 3
    y = rng.integers(0, K, N)
    loss = SoftmaxCrossEntropy(weights, label_smoothing=eps)
    value = loss.forward(z, y)
    t = np.full((N, K), eps / K)
    t[np.arange(N), y] += 1 - eps
    w = np.ones(N) if weights is None else weights[y]
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, -(w * (t * logp).sum(axis=1)).sum() / w.sum(), rtol=1e-10)
    g = rng.standard_normal()
    dz = loss.backward(g)
    h = 1e-6
    num = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        old = z[i]
        z[i] = old + h
        lp = SoftmaxCrossEntropy(weights, label_smoothing=eps).forward(z, y)
        z[i] = old - h
        lm = SoftmaxCrossEntropy(weights, label_smoothing=eps).forward(z, y)
        z[i] = old
        num[i] = g * (lp - lm) / (2 * h)
    assert_grad_close(dz, num, "dlogits with label smoothing")
    assert value > SoftmaxCrossEntropy(weights).forward(100 * np.eye(K)[y], y)   # smoothing: a floor above 0
