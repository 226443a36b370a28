"""The fused inference kernel scale * x + bias -> activation (squeezenp/ops/bias.py) against its reference."""
import numpy as np
import pytest

from squeezenp.ops.bias import scale_bias_act, scale_bias_act_reference


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", "elu"])
@pytest.mark.parametrize("with_scale", [False, True])
@pytest.mark.parametrize("strided", [False, True])
def test_scale_bias_act_kernel_matches_reference(dtype, activation, with_scale, strided):
    rng = np.random.default_rng(3)
    full = (rng.standard_normal((3, 11, 37)) * 4).astype(dtype)
    full[0, 0, :5] = [-30.0, -1e-8, 0.0, 1e-8, 25.0]
    x = full[:, 2:9] if strided else full[:, :7].copy()      # a channel slice of a larger output, or contiguous
    C = x.shape[1]
    scale = rng.uniform(0.2, 2.0, C).astype(dtype) if with_scale else None
    bias = rng.standard_normal(C).astype(dtype)
    ref = scale_bias_act_reference(x.copy(), scale, bias, activation, 0.7)
    before = full.copy()
    got = scale_bias_act(x, scale, bias, activation, 0.7)
    assert got is x
    tol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    if strided:    # channels outside the slice untouched
        np.testing.assert_array_equal(full[:, :2], before[:, :2])
        np.testing.assert_array_equal(full[:, 9:], before[:, 9:])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", "elu"])
def test_scale_bias_act_image_kernel_matches_reference(dtype, activation):
    """The per-image epilogue of the GEMMs (one image's (C, P) output, possibly a channel slice)."""
    from squeezenp.ops.bias import epilogue_code, scale_bias_act_image, scale_bias_act_image_reference
    rng = np.random.default_rng(4)
    full = (rng.standard_normal((2, 9, 23)) * 4).astype(dtype)
    full[0, 1, :5] = [-30.0, -1e-8, 0.0, 1e-8, 25.0]
    x = full[0, 1:6]
    scale = rng.uniform(0.2, 2.0, 5).astype(dtype)
    bias = rng.standard_normal(5).astype(dtype)
    code, alpha = epilogue_code(activation, dtype), dtype(0.7)
    ref = scale_bias_act_image_reference(x.copy(), scale, bias, code, alpha)
    np.testing.assert_allclose(ref, scale_bias_act_reference(x[None].copy(), scale, bias, activation, 0.7)[0])
    before = full.copy()
    scale_bias_act_image(x, scale, bias, code, alpha)
    tol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(x, ref, rtol=tol, atol=tol)
    np.testing.assert_array_equal(full[0, :1], before[0, :1])
    np.testing.assert_array_equal(full[0, 6:], before[0, 6:])
    np.testing.assert_array_equal(full[1], before[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", "elu"])
@pytest.mark.parametrize("start,stop", [(0, 23), (7, 16), (16, 23), (5, 5)])
def test_scale_bias_act_columns_kernel_matches_reference(dtype, activation, start, stop):
    """A thread's band of map rows in the batch-1 plan: the columns start:stop of every row, the rest untouched."""
    from squeezenp.ops.bias import epilogue_code, scale_bias_act_columns, scale_bias_act_columns_reference
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((6, 23)) * 4).astype(dtype)
    x[1, 7:12] = [-30.0, -1e-8, 0.0, 1e-8, 25.0]
    scale = rng.uniform(0.2, 2.0, 6).astype(dtype)
    bias = rng.standard_normal(6).astype(dtype)
    code, alpha = epilogue_code(activation, dtype), dtype(0.7)
    ref = scale_bias_act_columns_reference(x.copy(), start, stop, scale, bias, code, alpha)
    want = x.copy()
    want[:, start:stop] = scale_bias_act_reference(x[None, :, start:stop].copy(), scale, bias, activation, 0.7)[0]
    np.testing.assert_array_equal(ref, want)
    got = scale_bias_act_columns(x, start, stop, scale, bias, code, alpha)
    tol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    np.testing.assert_array_equal(got[:, :start], ref[:, :start])
    np.testing.assert_array_equal(got[:, stop:], ref[:, stop:])
