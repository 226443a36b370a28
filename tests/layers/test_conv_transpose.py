"""ConvTranspose2d: the adjoint of Conv2d (<conv(x), y> == <x, conv_transpose(y)>), its output-size formula
and central-difference gradients of the input, weight and bias."""
import numpy as np
from hypothesis import example, given, settings

from squeezenp.layers import Conv2d, ConvTranspose2d
from strategies import ConvCase, ConvTCase, adjoint_cases, conv_transpose_cases, seeds
from squeezenp.core.gradcheck import check_layer_gradients

SETTINGS = settings(deadline=None, max_examples=25)


@SETTINGS
@given(case=adjoint_cases(), seed=seeds)
@example(case=ConvCase(2, 3, 2, 9, 5, 1, 4, 0), seed=0)      # stride > kernel: gaps in the output
def test_conv_transpose_is_adjoint_of_conv(case, seed):
    rng = np.random.default_rng(seed)
    conv = Conv2d(case.C_in, case.C_out, case.K, stride=case.S, padding=case.P, bias=False, rng=rng).astype(np.float64)
    convt = ConvTranspose2d(case.C_out, case.C_in, case.K, stride=case.S, padding=case.P, bias=False).astype(np.float64)
    convt.params["weight"][...] = conv.params["weight"]      # (C_out, C_in, K, K) is the transpose's (C_in', C_out', K, K)
    x = rng.standard_normal(case.x_shape)
    cx = conv.forward(x)
    y = rng.standard_normal(cx.shape)
    ty = convt.forward(y)
    assert ty.shape == x.shape                               # the sizes round-trip
    np.testing.assert_allclose(np.sum(cx * y), np.sum(x * ty), rtol=1e-10, atol=1e-10)
    # and the transpose's forward is the conv's input gradient
    np.testing.assert_allclose(conv.backward(y), ty, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(case=conv_transpose_cases(), seed=seeds)
@example(case=ConvTCase(2, 3, 2, 4, 3, 2, 4, 1), seed=0)     # stride > kernel, padding
def test_conv_transpose_output_size_and_gradients(case, seed):
    rng = np.random.default_rng(seed)
    layer = ConvTranspose2d(case.C_in, case.C_out, case.K, stride=case.S, padding=case.P,
                            bias=bool(seed % 4), rng=rng).astype(np.float64)
    if "bias" in layer.params:
        layer.params["bias"][...] = rng.standard_normal(case.C_out)
    x = rng.standard_normal(case.x_shape)
    out, _, _ = check_layer_gradients(layer, x, rng)
    assert out.shape == (case.N, case.C_out, (case.H - 1) * case.S - 2 * case.P + case.K,
                         (case.W - 1) * case.S - 2 * case.P + case.K)


def test_conv_transpose_by_hand():
    """A single pixel paints the kernel; stride 2 with a 2x2 kernel tiles without overlap."""
    layer = ConvTranspose2d(1, 1, 2, stride=2, bias=False).astype(np.float64)
    layer.params["weight"][...] = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = layer.forward(np.array([[[[1.0, 10.0]]]]))
    np.testing.assert_array_equal(out, [[[[1, 2, 10, 20], [3, 4, 30, 40]]]])
