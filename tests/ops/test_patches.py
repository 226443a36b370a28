"""Folding non-overlapping patches (squeezenp/ops/patches.py): the Numba kernel against its NumPy reference, both
against the textbook col2im plus bias (and activation), into a channel slice of a larger output."""
import numpy as np
import pytest

from squeezenp import functional
from squeezenp.ops.bias import scale_bias_act_reference
from squeezenp.ops.patches import fold_patches, fold_patches_reference


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", "elu"])
@pytest.mark.parametrize("geometry", [(4, 4, 3, 5), (2, 3, 1, 1), (1, 1, 2, 3)])
def test_fold_patches_kernel_and_reference_against_col2im(dtype, activation, geometry):
    kh, kw, H, W = geometry
    C = 3
    rng = np.random.default_rng(7)
    cols = (rng.standard_normal((C * kh * kw, H * W)) * 3).astype(dtype)
    bias = rng.standard_normal(C).astype(dtype)
    y = functional.col2im(cols[None], (1, C, H * kh, W * kw), kh, kw, kh, kw, 0, 0)
    want = scale_bias_act_reference(y.reshape(1, C, -1).copy(), None, bias, activation, 0.7).reshape(y.shape)[0]
    tol = 2e-6 if dtype == np.float32 else 1e-12
    ref = fold_patches_reference(cols, kh, kw, H, W, bias, activation, 0.7)
    np.testing.assert_allclose(ref, want, rtol=tol, atol=tol)
    full = np.full((C + 2, H * kh, W * kw), np.nan, dtype)
    got = fold_patches(cols, kh, kw, H, W, bias, activation, 0.7, out=full[1:C + 1])
    assert got.dtype == dtype
    np.testing.assert_allclose(full[1:C + 1], want, rtol=tol, atol=tol)
    assert np.isnan(full[0]).all() and np.isnan(full[C + 1]).all()
