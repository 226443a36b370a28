"""Winograd F(2x2, 3x3) (squeezenp/ops/winograd.py): the textbook reference and the fast kernel against a direct
convolution (scipy), against each other and against the im2col path; float64 central-difference gradients;
the fused epilogue; the transforms' adjoint identities."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from squeezenp.ops import winograd as wg
from squeezenp.ops.bias import scale_bias_act_reference
from squeezenp.core.gradcheck import assert_grad_close, numerical_grad

SETTINGS = settings(deadline=None, max_examples=20)
shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 7), st.integers(1, 7))


def direct_conv(x, w, b=None):
    """Stride 1, padding 1, by scipy's direct correlation (float64)."""
    N, C, H, W = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.array([[sum(signal.correlate(xp[n, c], w[k, c], mode="valid", method="direct") for c in range(C))
                     for k in range(w.shape[0])] for n in range(N)])
    return out if b is None else out + b[None, :, None, None]


def case(shape, seed, dtype=np.float64):
    N, C, K, H, W = shape
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, C, H, W)).astype(dtype), rng.standard_normal((K, C, 3, 3)).astype(dtype),
            rng.standard_normal(K).astype(dtype), rng.standard_normal((N, K, H, W)).astype(dtype))


@SETTINGS
@given(shape=shapes, seed=st.integers(0, 2**31))
def test_forward_reference_and_kernel_match_direct_convolution(shape, seed):
    x, w, b, _ = case(shape, seed)
    want = direct_conv(x, w, b)
    np.testing.assert_allclose(wg.winograd_conv3x3_reference(x, w, b), want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wg.winograd_conv3x3(x, w, b), want, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(shape=shapes, seed=st.integers(0, 2**31))
def test_backward_reference_and_kernel_match_direct_gradients(shape, seed):
    x, w, _, dout = case(shape, seed)
    # direct: dx = conv(dout, flipped filter); dW[k, c] = correlate(x_padded[c], dout[k]) summed over images
    dx_want = direct_conv(dout, wg.flipped_filter(w))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    dw_want = np.einsum("nkhw,nchiwj->kcij", dout,
                        np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3)).transpose(0, 1, 2, 4, 3, 5))
    for fn in (wg.winograd_conv3x3_backward_reference, wg.winograd_conv3x3_backward):
        dx, dw = fn(x, w, dout)
        np.testing.assert_allclose(dx, dx_want, rtol=1e-10, atol=1e-10, err_msg=fn.__name__)
        np.testing.assert_allclose(dw, dw_want, rtol=1e-10, atol=1e-10, err_msg=fn.__name__)


@pytest.mark.parametrize("shape", [(2, 3, 2, 5, 4), (1, 2, 3, 1, 1), (2, 1, 2, 3, 6)])
def test_gradients_float64_central_differences(shape):
    """dx and dW of the fast kernel against central differences of the fast forward itself."""
    x, w, b, dout = case(shape, 5)
    dx, dw = wg.winograd_conv3x3_backward(x, w, dout)
    assert_grad_close(dx, numerical_grad(lambda v: wg.winograd_conv3x3(v, w, b), x, dout), "dx")
    assert_grad_close(dw, numerical_grad(lambda v: wg.winograd_conv3x3(x, v, b), w, dout), "dweight")


def test_backward_with_kept_input_transforms_and_without_dx():
    x, w, b, dout = case((3, 4, 5, 6, 5), 2)
    V = wg.planes(3, 4, 3 * 3, np.float64)
    wg.winograd_conv3x3(x, w, b, V=V)
    dx1, dw1 = wg.winograd_conv3x3_backward(x, w, dout, V=V)
    dx2, dw2 = wg.winograd_conv3x3_backward(x, w, dout)
    none, dw3 = wg.winograd_conv3x3_backward(x, w, dout, V=V, need_dx=False)
    np.testing.assert_allclose(dx1, dx2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw1, dw2, rtol=1e-12, atol=1e-12)
    assert none is None and np.array_equal(dw1, dw3)


@pytest.mark.parametrize("activation", [None, "relu", "elu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_epilogue_into_a_channel_slice(activation, dtype):
    """out = act(scale * conv + bias) written into the channels 2..2+K of a larger array, the rest untouched."""
    x, w, b, _ = case((2, 3, 4, 7, 6), 9, dtype)
    scale = np.linspace(0.5, 2.0, 4).astype(dtype)
    big = np.full((2, 9, 7, 6), 7.0, dtype)
    wg.winograd_conv3x3(x, w, b, out=big[:, 2:6], scale=scale, activation=activation, alpha=0.7)
    want = direct_conv(x, w) .reshape(2, 4, -1)
    want = scale_bias_act_reference(want, scale.astype(np.float64), b.astype(np.float64), activation, 0.7)
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(big[:, 2:6].reshape(2, 4, -1), want, rtol=tol, atol=tol)
    assert (big[:, :2] == 7).all() and (big[:, 6:] == 7).all()


@pytest.mark.parametrize("C,K,H", [(16, 64, 56), (64, 256, 14), (48, 192, 7)])
def test_float32_agrees_with_im2col_path(C, K, H):
    """The expand3x3 shapes (227 and 128 px inputs): float32 Winograd vs float32 im2col, both against float64.
    The docs state the measured max abs error (``docs/benchmarks.md``)."""
    from squeezenp.ops.conv2d import conv2d_forward as im2col_conv2d_forward
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((K, C, 3, 3)) * np.sqrt(2.0 / (9 * C))).astype(np.float32)   # He-normal
    exact = wg.winograd_conv3x3_reference(x.astype(np.float64), w.astype(np.float64))
    err_w = np.abs(wg.winograd_conv3x3(x, w) - exact).max()
    err_i = np.abs(im2col_conv2d_forward(x, w, None, 1, 1)[0] - exact).max()
    scale = np.abs(exact).max()
    assert err_w < 2e-6 * scale and err_w < 4 * max(err_i, 1e-7 * scale)


def test_transform_adjoints():
    """<filter_transform(g), dU> == <g, filter_grad_transform(dU)>, and the same for the input transform."""
    rng = np.random.default_rng(1)
    g, dU = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((16, 3, 2))
    assert np.isclose(np.sum(wg.filter_transform(g) * dU), np.sum(g * wg.filter_grad_transform(dU)))
    x, dV = rng.standard_normal((2, 5, 7)), rng.standard_normal((16, 2, 3 * 4))
    V = np.empty((16, 2, 12))
    wg.input_transform_image(x, V)
    dx = np.empty_like(x)
    wg.input_transform_adjoint_image(dV, dx)
    assert np.isclose(np.sum(V * dV), np.sum(x * dx))


@pytest.mark.parametrize("H,W", [(8, 6), (7, 5), (12, 10)])
@pytest.mark.parametrize("activation", [None, "elu"])
def test_transforms_of_a_band_of_rows_match_the_whole_map(H, W, activation):
    """The batch-1 plan's threads transform bands of whole tile rows: the input transform of tile rows ty0 ..
    is that slice of the whole map's, and the output transform writes exactly the band's rows from ``row0`` on."""
    from squeezenp.ops.bias import epilogue_code
    rng = np.random.default_rng(3)
    C, K = 3, 4
    th, tw = (H + 1) // 2, (W + 1) // 2
    x = rng.standard_normal((C, H, W)).astype(np.float32)
    V = np.empty((16, C, th * tw), np.float32)
    wg.input_transform_image(x, V)
    M = rng.standard_normal((16, K, th * tw)).astype(np.float32)
    scale, bias = rng.uniform(0.5, 2, K).astype(np.float32), rng.standard_normal(K).astype(np.float32)
    code, alpha = epilogue_code(activation, np.float32), np.float32(0.8)
    whole = np.empty((K, H, W), np.float32)
    wg.output_transform_image(M, whole, scale, bias, code, alpha)
    banded = np.full((K, H, W), np.nan, np.float32)
    for t0, t1 in [(0, th // 2), (th // 2, th)]:
        Vb = wg.planes(1, C, (t1 - t0) * tw, np.float32)[0]
        wg.input_transform_rows(x, t0, Vb)
        np.testing.assert_array_equal(Vb, V[:, :, t0 * tw:t1 * tw])
        Mb = wg.planes(1, K, (t1 - t0) * tw, np.float32)[0]
        Mb[...] = M[:, :, t0 * tw:t1 * tw]
        wg.output_transform_image(Mb, banded, scale, bias, code, alpha, 2 * t0)
    np.testing.assert_allclose(banded, whole, rtol=1e-6, atol=1e-6)


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match=r"winograd_conv3x3: expected x \(N, C, H, W\) and weight \(K, C, 3, 3\)"):
        wg.winograd_conv3x3(np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 5, 5)))
    with pytest.raises(ValueError, match="winograd_conv3x3"):
        wg.winograd_conv3x3_reference(np.zeros((1, 2, 4, 4)), np.zeros((3, 1, 3, 3)))

