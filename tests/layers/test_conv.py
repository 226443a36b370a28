"""Conv2d: forward against scipy.signal.correlate, output size formula, and central-difference gradients of
the input, weight and bias over drawn shapes (stride larger than kernel and padding included)."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from scipy import signal

from squeezenp.layers import Conv2d
from squeezenp.ops.conv2d import WinogradCache
from strategies import ConvCase, conv_cases, seeds
from squeezenp.core.gradcheck import check_layer_gradients

SETTINGS = settings(deadline=None, max_examples=25)


def make_conv(case, rng, bias=True):
    layer = Conv2d(case.C_in, case.C_out, case.K, stride=case.S, padding=case.P, bias=bias, rng=rng)
    layer.astype(np.float64)
    if bias:
        layer.params["bias"][...] = rng.standard_normal(case.C_out)
    return layer


def conv_oracle(x, W, b, S, P):
    """Loop over n and c_out, sum the 'valid' cross-correlations over c_in on the zero-padded input, subsample."""
    N, C_in = x.shape[:2]
    C_out = W.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    rows = []
    for n in range(N):
        maps = []
        for co in range(C_out):
            acc = sum(signal.correlate(xp[n, ci], W[co, ci], mode="valid", method="direct") for ci in range(C_in))
            maps.append(acc[::S, ::S] + (0.0 if b is None else b[co]))
        rows.append(maps)
    return np.array(rows)


@SETTINGS
@given(case=conv_cases(), seed=seeds)
@example(case=ConvCase(2, 3, 2, 7, 6, 2, 4, 1), seed=0)     # stride > kernel, padding
@example(case=ConvCase(1, 4, 3, 5, 5, 1, 1, 0), seed=1)     # pointwise fast path
def test_conv2d_forward_matches_scipy(case, seed):
    rng = np.random.default_rng(seed)
    layer = make_conv(case, rng)
    x = rng.standard_normal(case.x_shape)
    out = layer.forward(x)
    assert out.shape == (case.N, case.C_out) + case.out_hw
    assert out.shape[2:] == ((case.H + 2 * case.P - case.K) // case.S + 1, (case.W + 2 * case.P - case.K) // case.S + 1)
    np.testing.assert_allclose(out, conv_oracle(x, layer.params["weight"], layer.params["bias"], case.S, case.P),
                               rtol=1e-10, atol=1e-10)


@SETTINGS
@given(case=conv_cases(), seed=seeds)
@example(case=ConvCase(2, 3, 2, 7, 6, 2, 4, 1), seed=0)
@example(case=ConvCase(3, 2, 2, 4, 4, 1, 1, 0), seed=1)     # pointwise
def test_conv2d_gradients(case, seed):
    rng = np.random.default_rng(seed)
    layer = make_conv(case, rng, bias=bool(seed % 4))        # without bias now and then
    check_layer_gradients(layer, rng.standard_normal(case.x_shape), rng)


def test_conv2d_rectangular_kernel_stride_padding():
    rng = np.random.default_rng(0)
    layer = Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), rng=rng).astype(np.float64)
    layer.params["bias"][...] = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 6, 5))
    out = layer.forward(x)
    assert out.shape == (2, 3, (6 + 2 - 3) // 2 + 1, (5 - 2) // 1 + 1)
    check_layer_gradients(layer, x, rng)


def test_conv2d_input_smaller_than_kernel():
    with pytest.raises(ValueError, match=r"Conv2d: input of shape \(1, 1, 2, 2\) is smaller than the kernel"):
        Conv2d(1, 1, 3).forward(np.zeros((1, 1, 2, 2), np.float32))


@pytest.mark.parametrize("algorithm", ["winograd", "im2col"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 6), (1, 2, 3, 7, 7), (3, 1, 2, 1, 2)])
def test_conv2d_3x3_algorithms_forward_and_gradients(algorithm, shape):
    """Stride-1 pad-1 3x3: each algorithm forced, against scipy and central differences (float64, random
    upstream gradient), the backward reading the forced algorithm's cache."""
    N, C, K, H, W = shape
    rng = np.random.default_rng(4)
    layer = Conv2d(C, K, 3, padding=1, rng=rng, algorithm=algorithm).astype(np.float64)
    layer.params["bias"][...] = rng.standard_normal(K)
    x = rng.standard_normal((N, C, H, W))
    np.testing.assert_allclose(layer.forward(x), conv_oracle(x, layer.params["weight"], layer.params["bias"], 1, 1),
                               rtol=1e-10, atol=1e-10)
    assert isinstance(layer._cache, WinogradCache) == (algorithm == "winograd")
    check_layer_gradients(layer, x, rng)


def test_conv2d_algorithm_argument():
    assert repr(Conv2d(2, 3, 3, padding=1, algorithm="winograd")).endswith("algorithm='winograd')")
    assert "algorithm" not in repr(Conv2d(2, 3, 3, padding=1))
    with pytest.raises(ValueError, match="Conv2d: algorithm must be one of"):
        Conv2d(1, 1, 3, algorithm="fft")
