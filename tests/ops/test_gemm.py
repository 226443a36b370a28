"""The threaded per-image GEMMs of squeezenp/ops/gemm.py against their NumPy references."""
import numba
import numpy as np
import pytest

from squeezenp.ops import gemm


@pytest.fixture(autouse=True)
def numba_threads_restored():
    """These tests choose Numba's thread count; the tests after them get back the one they had."""
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


@pytest.fixture(autouse=True)
def small_products_threaded(monkeypatch):
    """The small shapes below take the threaded branches too (in use, products under SMALL_GEMM stay serial)."""
    monkeypatch.setattr(gemm, "SMALL_GEMM", 0)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("N,M,K,P", [(1, 16, 9, 50), (1, 1, 4, 7), (3, 8, 5, 11), (5, 64, 144, 196)])
def test_matmul_per_image(threads, N, M, K, P):
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    A = rng.standard_normal((M, K), dtype=np.float32)
    B = rng.standard_normal((N, K, P), dtype=np.float32)
    got = gemm.matmul_per_image(A, B, np.empty((N, M, P), np.float32))
    ref = gemm.matmul_per_image_reference(A, B, np.empty((N, M, P), np.float32))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)
    got_t = gemm.matmul_per_image(A.T.copy().T, B, np.empty((N, M, P), np.float32))   # strided A (W.T)
    np.testing.assert_allclose(got_t, ref, rtol=1e-5, atol=1e-4)
    bias = rng.standard_normal(M, dtype=np.float32)
    got_b = gemm.matmul_per_image(A, B, np.full((N, M, P), np.nan, np.float32), bias)
    np.testing.assert_allclose(got_b, np.matmul(A, B) + bias[:, None], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gemm.matmul_per_image_reference(A, B, np.empty((N, M, P), np.float32), bias),
                               got_b, rtol=1e-5, atol=1e-4)


def test_matmul_per_image_rejects_a_bias_of_the_wrong_length():
    with pytest.raises(ValueError, match="bias of shape"):
        gemm.matmul_per_image(np.ones((4, 3), np.float32), np.ones((2, 3, 5), np.float32),
                               np.empty((2, 4, 5), np.float32), np.ones(3, np.float32))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("N", [1, 2, 5])
def test_matmul_sum_per_image(threads, N):
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(1)
    A = rng.standard_normal((N, 12, 30), dtype=np.float32)
    B = rng.standard_normal((N, 7, 30), dtype=np.float32)
    got = gemm.matmul_sum_per_image(A, B, np.empty((12, 7), np.float32))
    ref = gemm.matmul_sum_per_image_reference(A, B, np.empty((12, 7), np.float32))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def test_blas_threads_restored():
    from threadpoolctl import threadpool_info
    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    A = np.ones((4, 3), np.float32)
    gemm.matmul_per_image(A, np.ones((3, 3, 5), np.float32), np.empty((3, 4, 5), np.float32))
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == before


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("N,C,H,W,geometry", [(1, 2, 5, 6, (3, 3, 1, 1, 1, 1)), (4, 3, 9, 7, (3, 2, 2, 1, 0, 2)),
                                              (5, 4, 8, 8, (4, 4, 4, 4, 0, 0)), (3, 1, 6, 5, (1, 3, 3, 2, 2, 1))])
def test_im2col_matmul_per_image(threads, N, C, H, W, geometry):
    from squeezenp.functional import conv_output_size
    from squeezenp.functional import im2col as im2col_reference
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    kh, kw, sh, sw, ph, pw = geometry
    P = conv_output_size(H, kh, sh, ph) * conv_output_size(W, kw, sw, pw)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    A = rng.standard_normal((6, C * kh * kw), dtype=np.float32)
    cols = np.full((N, C * kh * kw, P), np.nan, np.float32)            # stale contents must be overwritten
    got = gemm.im2col_matmul_per_image(A, x, geometry, cols, np.empty((N, 6, P), np.float32))
    ref_cols = im2col_reference(x, *geometry)
    np.testing.assert_array_equal(cols, ref_cols)                      # backward reads these columns
    np.testing.assert_allclose(got, np.matmul(A, ref_cols), rtol=1e-5, atol=1e-4)
    bias = rng.standard_normal(6, dtype=np.float32)
    got_b = gemm.im2col_matmul_per_image(A, x, geometry, cols, np.full((N, 6, P), np.nan, np.float32), bias)
    np.testing.assert_allclose(got_b, np.matmul(A, ref_cols) + bias[:, None], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("activation", [None, "relu", "elu"])
@pytest.mark.parametrize("N,M", [(1, 6), (3, 6), (2, 1)])
def test_epilogue_per_image(threads, activation, N, M):
    """``act(scale * (A @ B[n]) + bias)`` per image, into a channel slice of a larger output (the fused Fire), by
    matmul_per_image and im2col_matmul_per_image against their references, float32 and float64."""
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(5)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        x = rng.standard_normal((N, 3, 5, 4)).astype(dtype)
        geometry = (3, 3, 1, 1, 1, 1)
        A = rng.standard_normal((M, 27)).astype(dtype)
        scale, bias = rng.uniform(0.5, 2, M).astype(dtype), rng.standard_normal(M).astype(dtype)
        cols_ref = np.empty((N, 27, 20), dtype)
        want = gemm.im2col_matmul_per_image_reference(A, x, geometry, cols_ref, np.empty((N, M, 20), dtype), bias,
                                                      scale, activation, 0.7)
        full = np.full((N, M + 3, 20), np.nan, dtype)
        got = gemm.im2col_matmul_per_image(A, x, geometry, np.empty((N, 27, 20), dtype), full[:, 1:M + 1], bias,
                                           scale, activation, 0.7)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        assert np.isnan(full[:, 0]).all() and np.isnan(full[:, M + 1:]).all()
        got = gemm.matmul_per_image(A, cols_ref, full[:, 2:M + 2], None, scale, activation, 0.7)
        want = gemm.matmul_per_image_reference(A, cols_ref, np.empty((N, M, 20), dtype), None, scale, activation, 0.7)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        pre = np.matmul(A, cols_ref) * scale[:, None] + bias[:, None]
        act = {None: pre, "relu": np.maximum(pre, 0), "elu": np.where(pre > 0, pre, 0.7 * np.expm1(np.minimum(pre, 0)))}
        np.testing.assert_allclose(gemm.matmul_per_image_reference(A, cols_ref, np.empty((N, M, 20), dtype), bias,
                                                                   scale, activation, 0.7),
                                   act[activation], rtol=tol, atol=tol)


def test_epilogue_rejects_a_scale_of_the_wrong_length():
    with pytest.raises(ValueError, match="scale of shape"):
        gemm.matmul_per_image(np.ones((4, 3), np.float32), np.ones((2, 3, 5), np.float32),
                               np.empty((2, 4, 5), np.float32), None, np.ones(3, np.float32))


def test_small_products_stay_in_the_caller(monkeypatch):
    """Under SMALL_GEMM multiply-adds no thread hand-off: the pool is never asked."""
    monkeypatch.setattr(gemm, "SMALL_GEMM", 1 << 20)
    monkeypatch.setattr(gemm, "_run_parallel", lambda fns: pytest.fail("handed off a small product"))
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((2, 512), dtype=np.float32), rng.standard_normal((1, 512, 196), dtype=np.float32)
    out = gemm.matmul_per_image(A, B, np.empty((1, 2, 196), np.float32))
    np.testing.assert_allclose(out, gemm.matmul_per_image_reference(A, B, np.empty_like(out)), rtol=1e-5, atol=1e-4)
