"""The fused head of the proposed CNN (squeezenp/ops/head.py) against its textbook twin
(squeezenp/functional/head.py): logits, CAM features and class maps, float32 and float64, batch 1 (channels split
over threads) and larger, one and two threads; a skip of the wrong size is a clear error."""
import numba
import numpy as np
import pytest

from squeezenp import functional
from squeezenp.ops import head as fast


@pytest.fixture(autouse=True)
def numba_threads_restored():
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


def case(N, dtype, rng):
    C9, Cu, Cs, F, nc, k, h, w = 6, 4, 5, 7, 3, 4, 2, 3
    x9 = rng.standard_normal((N, C9, h, w)).astype(dtype)
    skip = rng.standard_normal((N, Cs, h * k, w * k)).astype(dtype)

    def conv(shape, out_channels):
        return rng.standard_normal(shape).astype(dtype), rng.standard_normal(out_channels).astype(dtype)
    return x9, skip, conv((C9, Cu, k, k), Cu), conv((F, Cs + Cu, 1, 1), F), conv((nc, F, 1, 1), nc)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_head_matches_textbook(dtype, N, threads):
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(9)
    args = case(N, dtype, rng)
    want = functional.proposed_head_inference(*args, 0.7, 1.3)
    workspace = {}
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for _ in range(2):                                   # the second call reuses the workspace
        got = fast.proposed_head_inference(*args, 0.7, 1.3, workspace=workspace)
        for g, w, name in zip(got, want, ("logits", "features", "class_maps")):
            assert g.dtype == w.dtype and g.shape == w.shape, name
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=name)
    assert (want[1] < 0).any()                           # the ELUs are there


def test_skip_of_the_wrong_size_is_an_error():
    x9, skip, up, fuse, c10 = case(2, np.float64, np.random.default_rng(0))
    for fn in (functional.proposed_head_inference, fast.proposed_head_inference):
        with pytest.raises(ValueError, match="does not have the skip's size"):
            fn(x9, skip[:, :, 1:], up, fuse, c10)


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_upconv_fuse_training_pair_matches_textbook(dtype, N):
    rng = np.random.default_rng(10)
    x9, skip, up, fuse, _ = case(N, dtype, rng)
    want, cache = functional.upconv_fuse_forward(x9, skip, up, fuse, 0.7, 1.3)
    dout = rng.standard_normal(want.shape).astype(dtype)
    want_grads = functional.upconv_fuse_backward(dout, cache)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    workspace = {}
    for _ in range(2):
        got, fast_cache = fast.upconv_fuse_forward(x9, skip, up, fuse, 0.7, 1.3, workspace=workspace)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        grads = fast.upconv_fuse_backward(dout, fast_cache, workspace=workspace)
        for g, w, name in zip(grads, want_grads, ("dx9", "dskip", "dw_up", "db_up", "dw_fuse", "db_fuse")):
            assert g.dtype == w.dtype and g.shape == w.shape, name
            np.testing.assert_allclose(g, w, rtol=tol, atol=10 * tol, err_msg=name)
    with pytest.raises(ValueError, match="fast forward's cache"):
        fast.upconv_fuse_backward(dout, cache)
