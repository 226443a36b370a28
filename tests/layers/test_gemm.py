"""The threaded per-image GEMMs of squeezenp/layers/_gemm.py against their NumPy references."""
import numba
import numpy as np
import pytest

from squeezenp.layers import _gemm


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("N,M,K,P", [(1, 16, 9, 50), (1, 1, 4, 7), (3, 8, 5, 11), (5, 64, 144, 196)])
def test_matmul_per_image(threads, N, M, K, P):
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    A = rng.standard_normal((M, K), dtype=np.float32)
    B = rng.standard_normal((N, K, P), dtype=np.float32)
    got = _gemm.matmul_per_image(A, B, np.empty((N, M, P), np.float32))
    ref = _gemm.matmul_per_image_reference(A, B, np.empty((N, M, P), np.float32))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)
    got_t = _gemm.matmul_per_image(A.T.copy().T, B, np.empty((N, M, P), np.float32))   # strided A (W.T)
    np.testing.assert_allclose(got_t, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("N", [1, 2, 5])
def test_matmul_sum_per_image(threads, N):
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(1)
    A = rng.standard_normal((N, 12, 30), dtype=np.float32)
    B = rng.standard_normal((N, 7, 30), dtype=np.float32)
    got = _gemm.matmul_sum_per_image(A, B, np.empty((12, 7), np.float32))
    ref = _gemm.matmul_sum_per_image_reference(A, B, np.empty((12, 7), np.float32))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def test_blas_threads_restored():
    from threadpoolctl import threadpool_info
    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    A = np.ones((4, 3), np.float32)
    _gemm.matmul_per_image(A, np.ones((3, 3, 5), np.float32), np.empty((3, 4, 5), np.float32))
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == before
