"""The fused training backward of an activation and the bias gradient (squeezenp/ops/bias.py), kernel against
reference, both against the textbook activation backward and a separate bias-gradient sum."""
import numpy as np
import pytest

from squeezenp import functional
from squeezenp.ops.bias import (ACTIVATIONS, act_backward_bias_grad, act_backward_bias_grad_image,
                                act_backward_bias_grad_reference)


@pytest.mark.parametrize("activation", [None, "relu", "elu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_reference_and_separate_passes(activation, dtype):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((3, 5, 17)) * 2).astype(dtype)
    z[0, 0, :3] = [0.0, -1e-9, 1e-9]
    if activation == "relu":
        out, cache = functional.relu_forward(z)
    elif activation == "elu":
        out, cache = functional.elu_forward(z, 0.7)
    else:
        out = z
    dout = rng.standard_normal(z.shape).astype(dtype)
    full = np.zeros((3, 9, 17), dtype)                       # a channel slice of a larger gradient
    full[:, 2:7] = dout
    dz_ref, db_ref = act_backward_bias_grad_reference(full[:, 2:7], out, activation, 0.7)
    dz, db = act_backward_bias_grad(full[:, 2:7], out, activation, 0.7)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dz, dz_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(db, db_ref, rtol=tol, atol=tol)
    want = dout
    if activation == "relu":
        want = functional.relu_backward(dout, cache)
    elif activation == "elu":
        want = functional.elu_backward(dout, cache)
    np.testing.assert_allclose(dz, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(db, want.sum(axis=(0, 2)), rtol=tol, atol=10 * tol)
    assert dz.dtype == dtype and db.dtype == dtype and dz.flags.c_contiguous


@pytest.mark.parametrize("activation", [None, "relu", "elu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_image_kernel_matches_reference_in_place(activation, dtype):
    """The one-image kernel of the fused head's backward, writing dz over dout; outputs exactly 0 (ReLU's kink:
    no gradient); a NaN upstream stays NaN."""
    rng = np.random.default_rng(1)
    dout = rng.standard_normal((2, 6, 23)).astype(dtype)
    out = rng.standard_normal((2, 6, 23)).astype(dtype)
    out[:, :, ::3] = 0
    dout[0, 0, 0] = np.nan
    want, _ = act_backward_bias_grad_reference(dout, out, activation, 0.7)
    code, a = ACTIVATIONS[activation], np.dtype(dtype).type(0.7)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for n in range(2):
        d, sums = dout[n].copy(), np.empty(6)
        act_backward_bias_grad_image(d, out[n], code, a, d, sums)
        np.testing.assert_allclose(d, want[n], rtol=tol, atol=tol)
        np.testing.assert_allclose(sums, want[n].astype(np.float64).sum(axis=1), rtol=tol, atol=tol)
    assert np.isnan(want[0, 0, 0])
