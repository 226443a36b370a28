"""The convolutions' matrix products, one per image, run on squeezenp's own threads with a single-threaded BLAS
under each.

Teaches: who owns the cores. A convolution at batch N is N independent GEMMs (one per image, written straight
into the NCHW output). Handing each to a multi-threaded OpenBLAS makes its threads meet at a barrier after every
small GEMM; on a loaded 2-core machine a descheduled BLAS thread then stalls the other one (the proposed CNN's
batch-8 inference measured 2.6 img/s with 2 BLAS threads against 50 img/s with one, at load average 5;
``benchmarks/bench_threads.py`` shows the related fight between Numba's and the BLAS's threads). So the images
are split over ``numba.get_num_threads()`` Python threads (NumPy releases the GIL inside ``matmul``), each calling
the BLAS with one thread; with fewer images than threads (batch-1 inference) the rows of ``A`` are split instead,
and products too small to pay for a hand-off (``SMALL_GEMM``) stay in the caller.
The BLAS thread count is set to 1 only for the duration of the call (``threadpoolctl``) and restored after.
With one squeezenp thread (``numba.set_num_threads(1)``) the loop runs in the caller with the BLAS as set.

Each function has its NumPy reference beside it (same signature, ``_reference``); tests in
``tests/ops/test_gemm.py``:

- ``matmul_per_image(A, B, out, bias=None, scale=None, activation=None, alpha=1.0)``:
  ``out[n] = act(scale[:, None] * (A @ B[n]) + bias[:, None])``
- ``matmul_sum_per_image(A, B, out, tmp)``:    ``out = sum_n A[n] @ B[n].T``
- ``im2col_matmul_per_image(A, x, geometry, cols, out, bias=None, scale=None, activation=None, alpha=1.0)``:
  ``cols = im2col(x)``, then the same product and epilogue, each image unfolded and multiplied by the same
  thread, so its columns are still in cache

The optional epilogue (the bias; a per-channel scale, i.e. a batch norm folded for evaluation; ReLU or ELU) is
applied by the thread that ran the image's GEMM, right after it, while that image's output is still in cache
(``bias.scale_bias_act_image``): a separate pass over the whole batch's output afterwards cost up to half as much
as the GEMM itself at SqueezeNet's small 1x1 layers (14x14, 64 input channels).
"""
from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from ..functional.im2col import conv_output_size
from ..functional.im2col import im2col as textbook_im2col
from .bias import epilogue_code, scale_bias_act_image, scale_bias_act_reference
from .im2col import im2col, im2col_image

# Below this many multiply-adds (about 20 us of one core) the products run in the caller: handing half of them to
# another thread costs as much (a SqueezeNet's batch-1 conv10: 2 x 512 x 196)
SMALL_GEMM = 1 << 20

_lock = threading.RLock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas = None          # list of threadpoolctl library controllers for the BLAS, or [] when unavailable


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            _blas = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:           # threadpoolctl unable to inspect this BLAS: keep it as it is
            _blas = []
    return _blas


def _workers() -> int:
    return max(1, int(numba.get_num_threads()))


@contextlib.contextmanager
def single_thread_blas():
    """The BLAS on one thread inside the block (threadpoolctl), its thread count restored after: a multi-threaded
    BLAS stalls on small products while other processes keep the cores busy."""
    libs = _blas_controllers()
    previous = [lc.num_threads for lc in libs]
    for lc in libs:
        lc.set_num_threads(1)
    try:
        yield
    finally:
        for lc, n in zip(libs, previous):
            lc.set_num_threads(n)


def run_parts(fns):
    """Run the parts of one job: concurrently (:func:`_run_parallel`) when there are several, else in the caller."""
    if len(fns) > 1:
        _run_parallel(fns)
    else:
        fns[0]()


def _run_parallel(fns):
    """Run callables concurrently (the first in the caller), the BLAS on one thread meanwhile."""
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < len(fns) - 1:
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool_size = max(len(fns) - 1, 1)
            _pool = ThreadPoolExecutor(max_workers=_pool_size, thread_name_prefix="squeezenp-gemm")
        with single_thread_blas():
            futures = [_pool.submit(f) for f in fns[1:]]
            fns[0]()
            for f in futures:
                f.result()


def _chunks(n, parts):
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def matmul_per_image_reference(A, B, out, bias=None, scale=None, activation=None, alpha=1.0):
    """``out[n] = act(scale[:, None] * (A @ B[n]) + bias[:, None])``: A (M, K), B (N, K, P), out (N, M, P),
    bias and scale (M,) or None, activation None, "relu" or "elu" (with ``alpha``). Returns ``out``."""
    out[...] = np.matmul(A, B)
    if bias is not None or scale is not None or activation is not None:
        zero = np.zeros(A.shape[0], out.dtype)
        scale_bias_act_reference(out, scale, zero if bias is None else bias, activation, alpha)
    return out


def _epilogue(M, dtype, bias, scale, activation, alpha):
    """``(scale, bias, code, alpha)`` for ``bias.scale_bias_act_image``, or None when there is nothing to apply."""
    if bias is None and scale is None and activation is None:
        return None
    for name, v in (("bias", bias), ("scale", scale)):
        if v is not None and np.shape(v) != (M,):
            raise ValueError(f"{name} of shape {np.shape(v)} does not match the {M} output rows")
    sc = np.ones(M, dtype) if scale is None else np.ascontiguousarray(scale, dtype=dtype)
    b = np.zeros(M, dtype) if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    return sc, b, epilogue_code(activation, dtype), np.dtype(dtype).type(alpha)


def _image_gemm(A, B_n, out_n, epi, lo=0, hi=None):
    """One image: ``out_n = A @ B_n``, then the epilogue of rows ``lo:hi`` while ``out_n`` is in cache."""
    np.matmul(A, B_n, out=out_n)
    if epi is not None:
        sc, b, code, a = epi
        scale_bias_act_image(out_n, sc[lo:hi], b[lo:hi], code, a)


def matmul_per_image(A, B, out, bias=None, scale=None, activation=None, alpha=1.0):
    """Fast twin of :func:`matmul_per_image_reference`: one BLAS GEMM per image, images split over threads,
    each followed by its epilogue.

    (A single broadcast ``np.matmul(A, B, out=out)`` measured up to 2x slower with NumPy 2.4, never faster.)
    """
    N, M = B.shape[0], A.shape[0]
    epi = _epilogue(M, out.dtype, bias, scale, activation, alpha)
    T = _workers()
    if T == 1 or not _blas_controllers() or N * M < 2 or N * M * A.shape[1] * B.shape[2] < SMALL_GEMM:
        for n in range(N):
            _image_gemm(A, B[n], out[n], epi)
        return out
    if N >= T:
        def work(lo, hi):
            def f():
                for n in range(lo, hi):
                    _image_gemm(A, B[n], out[n], epi)
            return f
        _run_parallel([work(lo, hi) for lo, hi in _chunks(N, T)])
    else:                       # fewer images than threads: split A's rows (contiguous output rows)
        def work_rows(lo, hi):
            def f():
                for n in range(N):
                    _image_gemm(A[lo:hi], B[n], out[n, lo:hi], epi, lo, hi)
            return f
        _run_parallel([work_rows(lo, hi) for lo, hi in _chunks(M, T)])
    return out


def matmul_accumulate(A, B, acc, buf, first):
    """``acc = A @ B`` when ``first``, else ``acc += A @ B`` through ``buf`` (acc's shape): the running sum of
    per-image products (a weight gradient) kept by one thread of a per-image loop. Returns ``acc``."""
    if first:
        return np.matmul(A, B, out=acc)
    np.matmul(A, B, out=buf)
    return np.add(acc, buf, out=acc)


def matmul_sum_per_image_reference(A, B, out, tmp=None):
    """``out = sum_n A[n] @ B[n].T``: A (N, M, P), B (N, K, P), out (M, K). Returns ``out``."""
    out[...] = np.einsum("nmp,nkp->mk", A, B)
    return out


def matmul_sum_per_image(A, B, out, tmp=None):
    """Fast twin of :func:`matmul_sum_per_image_reference`. ``tmp`` (T, 2, M, K) optional scratch, where
    T = ``numba.get_num_threads()``: each thread accumulates its images in ``tmp[t, 0]``."""
    N = A.shape[0]
    T = min(_workers(), N)
    shape = (max(T, 1), 2) + out.shape
    if tmp is None or tmp.shape != shape:
        tmp = np.empty(shape, dtype=out.dtype)
    if T == 1 or not _blas_controllers():
        for n in range(N):
            matmul_accumulate(A[n], B[n].T, out, tmp[0, 1], n == 0)
        return out
    chunks = _chunks(N, T)

    def work(t, lo, hi):
        def f():
            for n in range(lo, hi):
                matmul_accumulate(A[n], B[n].T, tmp[t, 0], tmp[t, 1], n == lo)
        return f
    _run_parallel([work(t, lo, hi) for t, (lo, hi) in enumerate(chunks)])
    np.sum(tmp[:len(chunks), 0], axis=0, out=out)
    return out


def im2col_matmul_per_image_reference(A, x, geometry, cols, out, bias=None, scale=None, activation=None, alpha=1.0):
    """``cols = im2col(x)``, then ``out[n] = act(scale[:, None] * (A @ cols[n]) + bias[:, None])``.
    ``geometry = (kh, kw, sh, sw, ph, pw)``."""
    cols[...] = textbook_im2col(x, *geometry)
    return matmul_per_image_reference(A, cols, out, bias, scale, activation, alpha)


def im2col_matmul_per_image(A, x, geometry, cols, out, bias=None, scale=None, activation=None, alpha=1.0):
    """Fast twin of :func:`im2col_matmul_per_image_reference`: one thread unfolds an image (serial Numba
    kernel) and runs its GEMM, images split over the threads. Writing 10-60 MB of columns for the whole
    batch and reading them back from memory cost as much as the GEMM itself at SqueezeNet's 3x3 layers."""
    N, C, H, W = x.shape
    kh, kw, sh, sw, ph, pw = geometry
    OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    x = np.ascontiguousarray(x)
    T = _workers()
    if T == 1:          # one thread: each image unfolded and multiplied while its columns are in cache
        epi = _epilogue(A.shape[0], out.dtype, bias, scale, activation, alpha)
        for n in range(N):
            im2col_image(x[n], kh, kw, sh, sw, ph, pw, OH, OW, cols[n])
            _image_gemm(A, cols[n], out[n], epi)
        return out
    if not _blas_controllers() or N < T:
        if N == 1:      # one image: unfolded serially (a parallel region for one image only adds a hand-off)
            im2col_image(x[0], kh, kw, sh, sw, ph, pw, OH, OW, cols[0])
        else:
            im2col(x, *geometry, out=cols)
        return matmul_per_image(A, cols, out, bias, scale, activation, alpha)
    epi = _epilogue(A.shape[0], out.dtype, bias, scale, activation, alpha)

    def work(lo, hi):
        def f():
            for n in range(lo, hi):
                im2col_image(x[n], kh, kw, sh, sw, ph, pw, OH, OW, cols[n])
                _image_gemm(A, cols[n], out[n], epi)
        return f
    _run_parallel([work(lo, hi) for lo, hi in _chunks(N, T)])
    return out
