"""Winograd F(2x2, 3x3): a stride-1, pad-1 3x3 convolution in 16 small GEMMs instead of one 9x larger one.

Teaches: the minimal-filtering algorithm of Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks"
(CVPR 2016). Each 2x2 block of the output is computed from the 4x4 input tile that covers it::

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A            (.) elementwise, g the 3x3 filter, d the 4x4 tile

          [1  0 -1  0]          [ 1    0    0 ]
    B^T = [0  1  1  0]      G = [1/2  1/2  1/2]      A^T = [1  1  1  0]
          [0 -1  1  0]          [1/2 -1/2  1/2]            [0  1 -1 -1]
          [0  1  0 -1]          [ 0    0    1 ]

The sum over input channels moves inside the brackets, so for every one of the 16 positions xi of a 4x4 tile
it is a matrix product over channels::

    U[xi] = (G g G^T)[xi]      (K, C)    filter transform (once per call; tiny)
    V[xi] = (B^T d B)[xi]      (C, P)    input transform,  P = ceil(H/2) * ceil(W/2) tiles of one image
    M[xi] = U[xi] @ V[xi]      (K, P)    16 GEMMs
    Y     = A^T M A                      output transform: 2x2 outputs per tile

The GEMMs do 2 * K*C * 16 * H*W/4 = 2*K*C*4*H*W flops where im2col does 2*K*C*9*H*W: 2.25x fewer, paid for
with three cheap transforms (about K or C adds per output element each) and memory for V and M.

Backward (both exact adjoints, no approximation):

- ``dx``: the input gradient of a stride-1 pad-1 3x3 convolution is itself such a convolution, of ``dout``
  with the filter rotated by 180 degrees and its two channel axes swapped: ``dx = conv(dout, flip(g)^T)``.
  So it runs through the same forward algorithm.
- ``dW``: differentiate ``Y = A^T (U (.) V) A`` with respect to U: ``dU[xi] = Z[xi] @ V[xi]^T`` summed
  over tiles and images, with ``Z = A dY A^T`` (the 2x2 output-gradient tile spread back to 4x4); then
  ``dg = G^T dU G``.

Shapes::

    x      : (N, C, H, W)       weight : (K, C, 3, 3)       bias : (K,)       out : (N, K, H, W)
    V      : (N, 16, C, P)      M, Z   : (16, K, P)         U, dU : (16, K, C)

Two implementations, same signature ``(x, weight, bias=None) -> out`` and
``(x, weight, dout) -> (dx, dweight)``:

- ``winograd_conv3x3_reference`` / ``winograd_conv3x3_backward_reference``: the matrices above applied to
  every tile with ``einsum``, one readable function each;
- ``winograd_conv3x3`` / ``winograd_conv3x3_backward``: Numba transforms (serial, ``nogil``, one image at a
  time) around BLAS GEMMs, images split over squeezenp's threads with a one-thread BLAS under each (as the
  im2col path in ``ops/gemm.py``), so an image's V and M stay in that core's cache. The output transform
  also applies the layer's bias, an optional per-channel scale (a folded batch norm) and the activation
  (``bias.ACTIVATIONS``) while the tile is in registers: no extra pass over the output.

Tests: ``tests/ops/test_winograd.py`` (against direct convolution and im2col, float64 gradient checks).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .bias import ELU_F32, act_scalar, epilogue_code
from .elu import elu_scalar_f32

BT = np.array([[1, 0, -1, 0],
               [0, 1, 1, 0],
               [0, -1, 1, 0],
               [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0],
              [0.5, 0.5, 0.5],
              [0.5, -0.5, 0.5],
              [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0],
               [0, 1, -1, -1]], dtype=np.float64)
_GG = np.kron(G, G)          # (16, 9): row 4i+j, column 3a+b holds G[i, a] G[j, b]


def tiles(H: int, W: int) -> tuple[int, int]:
    """Number of 2x2 output tiles along each axis: ``(ceil(H/2), ceil(W/2))``."""
    return (H + 1) // 2, (W + 1) // 2


def is_winograd_shape(kernel_size, stride, padding) -> bool:
    """True for the convolutions F(2x2, 3x3) computes here: 3x3 kernel, stride 1, padding 1."""
    return tuple(kernel_size) == (3, 3) and tuple(stride) == (1, 1) and tuple(padding) == (1, 1)


def _check(x, weight):
    if x.ndim != 4 or weight.ndim != 4 or weight.shape[2:] != (3, 3) or weight.shape[1] != x.shape[1]:
        raise ValueError(f"winograd_conv3x3: expected x (N, C, H, W) and weight (K, C, 3, 3), got "
                         f"{x.shape} and {weight.shape}")


def filter_transform(weight):
    """``U[xi] = (G g G^T)[xi]`` for every filter: weight (K, C, 3, 3) -> U (16, K, C), dtype kept."""
    from .gemm import single_thread_blas
    K, C = weight.shape[:2]
    # (G g G^T)[i, j] = sum_ab G[i, a] G[j, b] g[a, b]: one (16, 9) @ (9, K*C) product with kron(G, G). A batched
    # 4x3 @ 3x3 @ 3x4 product runs one tiny GEMM per filter: 3.7 ms for fire8's 256 x 64 filters, at every call;
    # this one 0.3 ms on one BLAS thread (on two, while other processes kept the cores busy: 4-17 ms)
    with single_thread_blas():
        U = _GG @ weight.astype(np.float64).reshape(K * C, 9).T
    return np.ascontiguousarray(U.reshape(16, K, C), dtype=weight.dtype)


def filter_grad_transform(dU):
    """The adjoint of :func:`filter_transform`: ``dg = G^T dU G``; dU (16, K, C) -> (K, C, 3, 3)."""
    _, K, C = dU.shape
    d = dU.astype(np.float64).transpose(1, 2, 0).reshape(K, C, 4, 4)
    return (G.T @ d @ G).astype(dU.dtype)


def flipped_filter(weight):
    """The filter of the input gradient: rotated by 180 degrees, channel axes swapped -> (C, K, 3, 3)."""
    return np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


# --------------------------------------------------------------------------------------------------
# Readable references
# --------------------------------------------------------------------------------------------------
def _input_tiles(x):
    """All 4x4 input tiles (N, C, th, tw, 4, 4) of the zero-padded input, tile (ty, tx) starting at
    padded row 2*ty, column 2*tx (padded by 1 at the top/left, enough at the bottom/right)."""
    N, C, H, W = x.shape
    th, tw = tiles(H, W)
    xp = np.zeros((N, C, 2 * th + 2, 2 * tw + 2), dtype=x.dtype)
    xp[:, :, 1:H + 1, 1:W + 1] = x
    d = np.empty((N, C, th, tw, 4, 4), dtype=x.dtype)
    for i in range(4):
        for j in range(4):
            d[..., i, j] = xp[:, :, i:i + 2 * th:2, j:j + 2 * tw:2]
    return d


def winograd_conv3x3_reference(x, weight, bias=None):
    """``out = conv2d(x, weight, stride 1, padding 1) + bias`` by F(2x2, 3x3), the textbook way.

    x (N, C, H, W), weight (K, C, 3, 3), bias (K,) or None -> out (N, K, H, W), dtype of x."""
    _check(x, weight)
    N, C, H, W = x.shape
    K = weight.shape[0]
    th, tw = tiles(H, W)
    g = weight.astype(np.float64)
    U = np.einsum("ai,kcij,bj->kcab", G, g, G)                        # G g G^T      (K, C, 4, 4)
    V = np.einsum("ai,nctsij,bj->nctsab", BT, _input_tiles(x).astype(np.float64), BT)   # B^T d B
    M = np.einsum("kcab,nctsab->nktsab", U, V)                         # (.) and the sum over channels
    Y = np.einsum("ia,nktsab,jb->nktsij", AT, M, AT)                   # A^T M A      (N, K, th, tw, 2, 2)
    out = Y.transpose(0, 1, 2, 4, 3, 5).reshape(N, K, 2 * th, 2 * tw)[:, :, :H, :W]
    if bias is not None:
        out = out + np.asarray(bias, np.float64)[None, :, None, None]
    return np.ascontiguousarray(out, dtype=x.dtype)


def winograd_conv3x3_backward_reference(x, weight, dout):
    """Gradients of :func:`winograd_conv3x3_reference`'s convolution: ``(dx, dweight)``, dtype of dout.

    With ``Z = A dY A^T`` (each 2x2 gradient tile spread back to 4x4, zero past an odd edge)::

        dU[xi] = sum over images and tiles of Z[xi] V[xi]^T      dweight = G^T dU G
        dV[xi] = U[xi]^T Z[xi]                                   dx = B dV B^T, the 4x4 tiles added where
                                                                 they overlap, the padding dropped
    (The bias gradient is ``dout.sum((0, 2, 3))``.)"""
    _check(x, weight)
    N, C, H, W = x.shape
    K = weight.shape[0]
    th, tw = tiles(H, W)
    U = np.einsum("ai,kcij,bj->kcab", G, weight.astype(np.float64), G)
    V = np.einsum("ai,nctsij,bj->nctsab", BT, _input_tiles(x).astype(np.float64), BT)
    dy = np.zeros((N, K, 2 * th, 2 * tw))                              # outputs past the edge had no gradient
    dy[:, :, :H, :W] = dout
    dyt = dy.reshape(N, K, th, 2, tw, 2).transpose(0, 1, 2, 4, 3, 5)    # (N, K, th, tw, 2, 2) tiles
    Z = np.einsum("ia,nktsij,jb->nktsab", AT, dyt, AT)                 # A dY A^T     (N, K, th, tw, 4, 4)
    dU = np.einsum("nktsab,nctsab->kcab", Z, V)                        # summed over images and tiles
    dweight = np.einsum("ai,kcab,bj->kcij", G, dU, G)                  # G^T dU G
    dV = np.einsum("kcab,nktsab->nctsab", U, Z)                        # U^T Z
    dd = np.einsum("ai,nctsab,bj->nctsij", BT, dV, BT)                 # B dV B^T     (N, C, th, tw, 4, 4)
    dxp = np.zeros((N, C, 2 * th + 2, 2 * tw + 2))
    for i in range(4):
        for j in range(4):
            dxp[:, :, i:i + 2 * th:2, j:j + 2 * tw:2] += dd[..., i, j]   # overlapping tiles add
    dx = dxp[:, :, 1:H + 1, 1:W + 1]
    return np.ascontiguousarray(dx, dtype=dout.dtype), dweight.astype(dout.dtype)


# --------------------------------------------------------------------------------------------------
# Numba transforms, one image at a time (serial, nogil: run concurrently on squeezenp's threads)
# --------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def input_transform_image(x, V):
    """``V[:, c, p] = (B^T d B)`` of the input tile p of channel c: x (C, H, W) -> V (16, C, P)."""
    return input_transform_rows(x, 0, V)


@njit(cache=True, nogil=True)
def input_transform_rows(x, ty0, V):
    """:func:`input_transform_image` of the tile rows ``ty0 ..`` only, as many as ``V`` (16, C, P) has room for
    (``P // tiles across``): one thread's band of the map in the batch-1 plan. ``x`` is the whole map (the band's
    tiles read one row above and below it).

    Row transform first, over whole padded rows (vectorisable), then the column transform per tile."""
    C, H, W = x.shape
    tw = (W + 1) // 2
    th = V.shape[2] // tw
    Wp = 2 * tw + 2
    rows = np.zeros((4, Wp), dtype=x.dtype)       # padded input rows 2*ty .. 2*ty+3
    t = np.empty((4, Wp), dtype=x.dtype)          # B^T applied down the columns
    for c in range(C):
        for ty in range(th):
            for i in range(4):
                h = 2 * (ty0 + ty) + i - 1
                if 0 <= h < H:
                    for w in range(W):
                        rows[i, w + 1] = x[c, h, w]
                    rows[i, 0] = 0.0
                    for w in range(W + 1, Wp):
                        rows[i, w] = 0.0
                else:
                    for w in range(Wp):
                        rows[i, w] = 0.0
            for w in range(Wp):
                r0, r1, r2, r3 = rows[0, w], rows[1, w], rows[2, w], rows[3, w]
                t[0, w] = r0 - r2
                t[1, w] = r1 + r2
                t[2, w] = r2 - r1
                t[3, w] = r1 - r3
            base = ty * tw
            for i in range(4):
                for tx in range(tw):
                    w = 2 * tx
                    a0, a1, a2, a3 = t[i, w], t[i, w + 1], t[i, w + 2], t[i, w + 3]
                    V[4 * i + 0, c, base + tx] = a0 - a2
                    V[4 * i + 1, c, base + tx] = a1 + a2
                    V[4 * i + 2, c, base + tx] = a2 - a1
                    V[4 * i + 3, c, base + tx] = a1 - a3


def output_transform_image(M, out, scale, bias, code, alpha, row0=0):
    """``out[k] = act(scale[k] * (A^T M A) + bias[k])`` tile by tile: M (16, K, P) -> out (K, H, W).

    ``code`` from ``bias.epilogue_code`` (identity, ReLU, ELU with ``alpha``); ``out`` may be a channel slice of a
    larger array. ``M`` may hold the tiles of a band of rows only (a thread's share in the batch-1 plan): its
    ``P // tiles across`` tile rows are written from the map's row ``row0`` on. Even maps (all of the networks'
    at 227) run :func:`_output_transform_even`, given the 16 planes as separate arrays: each (K, P) plane is
    C-contiguous, which Numba can only know of an array passed as such (a plane of ``M``, padded apart by
    :func:`planes`, is not), and that lets its loops vectorise. Odd maps run :func:`_output_transform_general`.
    Releases the GIL in both."""
    K, H, W = out.shape
    rows = 2 * (M.shape[2] // ((W + 1) // 2))
    if row0 + rows <= H and W % 2 == 0 and all(M[i].flags.c_contiguous for i in range(16)):
        _output_transform_even(tuple(M[i] for i in range(16)), out, scale, bias, code, alpha, row0)
    else:
        _output_transform_general(M, out, scale, bias, code, alpha, row0)


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "contract", "arcp"})
def _output_transform_general(M, out, scale, bias, code, alpha, row0):
    """:func:`output_transform_image` for any H and W. Each tile row's two output rows get the activation while
    they are in L1. The edge tiles of an odd H or W write only their rows/columns inside the map."""
    K, H, W = out.shape
    tw = (W + 1) // 2
    th = M.shape[2] // tw
    for k in range(K):
        a, b = scale[k], bias[k]
        for ty in range(th):
            base = ty * tw
            h = row0 + 2 * ty
            h1 = min(h + 1, H - 1)            # an odd H: the second row of the last tiles is computed, then
            for tx in range(tw):              # overwritten by the first (same values where it matters)
                p = base + tx
                s0 = M[0, k, p] + M[4, k, p] + M[8, k, p]                    # A^T M, column by column
                s1 = M[1, k, p] + M[5, k, p] + M[9, k, p]
                s2 = M[2, k, p] + M[6, k, p] + M[10, k, p]
                s3 = M[3, k, p] + M[7, k, p] + M[11, k, p]
                d0 = M[4, k, p] - M[8, k, p] - M[12, k, p]
                d1 = M[5, k, p] - M[9, k, p] - M[13, k, p]
                d2 = M[6, k, p] - M[10, k, p] - M[14, k, p]
                d3 = M[7, k, p] - M[11, k, p] - M[15, k, p]
                w = 2 * tx
                w1 = min(w + 1, W - 1)
                out[k, h1, w1] = a * (d1 - d2 - d3) + b                      # (.) A
                out[k, h1, w] = a * (d0 + d1 + d2) + b
                out[k, h, w1] = a * (s1 - s2 - s3) + b
                out[k, h, w] = a * (s0 + s1 + s2) + b
            if code != 0:
                for r in range(h, h1 + 1):
                    for w in range(W):
                        out[k, r, w] = act_scalar(out[k, r, w], code, alpha)


@njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "contract", "arcp"})
def _output_transform_even(planes, out, scale, bias, code, alpha, row0):
    """:func:`output_transform_image` for even W and no edge tile; ``planes``: the 16 (K, P) planes of M.

    Per channel, two loops that Numba vectorises: ``A^T M A`` of every tile into the four rows of ``t`` (the
    tile's four outputs; 2x faster than writing them straight to their interleaved places), then the rows of
    ``out`` from them with scale and bias, and the activation on each row while it is in L1."""
    K, H, W = out.shape
    P = planes[0].shape[1]
    tw = W // 2
    m0, m1, m2, m3, m4_, m5_, m6_, m7_, m8_, m9_, m10_, m11_, m12, m13, m14, m15 = planes
    t = np.empty((4, P), dtype=out.dtype)
    for k in range(K):
        for p in range(P):
            m4, m5, m6, m7 = m4_[k, p], m5_[k, p], m6_[k, p], m7_[k, p]
            m8, m9, m10, m11 = m8_[k, p], m9_[k, p], m10_[k, p], m11_[k, p]
            s0, s1 = m0[k, p] + m4 + m8, m1[k, p] + m5 + m9                # A^T M, column by column
            s2, s3 = m2[k, p] + m6 + m10, m3[k, p] + m7 + m11
            d0, d1 = m4 - m8 - m12[k, p], m5 - m9 - m13[k, p]
            d2, d3 = m6 - m10 - m14[k, p], m7 - m11 - m15[k, p]
            t[0, p] = s0 + s1 + s2                                          # (.) A
            t[1, p] = s1 - s2 - s3
            t[2, p] = d0 + d1 + d2
            t[3, p] = d1 - d2 - d3
        a, b = scale[k], bias[k]
        for ty in range(P // tw):
            base = ty * tw
            r0, r1 = out[k, row0 + 2 * ty], out[k, row0 + 2 * ty + 1]
            for tx in range(tw):
                r0[2 * tx] = a * t[0, base + tx] + b
                r0[2 * tx + 1] = a * t[1, base + tx] + b
                r1[2 * tx] = a * t[2, base + tx] + b
                r1[2 * tx + 1] = a * t[3, base + tx] + b
            if code == ELU_F32:               # the activation's branch outside the loops, so that they vectorise
                for w in range(W):
                    r0[w] = elu_scalar_f32(r0[w], alpha)
                for w in range(W):
                    r1[w] = elu_scalar_f32(r1[w], alpha)
            elif code == 1:
                for w in range(W):
                    r0[w] = max(r0[w], 0.0)
                for w in range(W):
                    r1[w] = max(r1[w], 0.0)
            elif code != 0:
                for w in range(W):
                    r0[w] = act_scalar(r0[w], code, alpha)
                    r1[w] = act_scalar(r1[w], code, alpha)


@njit(cache=True, nogil=True)
def input_transform_adjoint_image(dV, dx):
    """The adjoint of :func:`input_transform_image`: ``dx[c] = sum over tiles of (B dV B^T)``, the 4x4 tiles
    added where they overlap and the padding dropped: dV (16, C, P) -> dx (C, H, W)."""
    C, H, W = dx.shape
    th, tw = (H + 1) // 2, (W + 1) // 2
    acc = np.empty((2 * th + 2, 2 * tw + 2), dtype=dx.dtype)          # the padded plane of one channel
    e = np.empty((4, 4), dtype=dx.dtype)
    for c in range(C):
        acc[:, :] = 0.0
        for ty in range(th):
            for tx in range(tw):
                p = ty * tw + tx
                for i in range(4):                                         # dV B^T, row by row
                    v0, v1, v2, v3 = dV[4 * i, c, p], dV[4 * i + 1, c, p], dV[4 * i + 2, c, p], dV[4 * i + 3, c, p]
                    e[i, 0] = v0
                    e[i, 1] = v1 - v2 + v3
                    e[i, 2] = v1 + v2 - v0
                    e[i, 3] = -v3
                h, w = 2 * ty, 2 * tx
                for j in range(4):                                         # B (.), column by column
                    acc[h, w + j] += e[0, j]
                    acc[h + 1, w + j] += e[1, j] - e[2, j] + e[3, j]
                    acc[h + 2, w + j] += e[1, j] + e[2, j] - e[0, j]
                    acc[h + 3, w + j] -= e[3, j]
        for hh in range(H):
            for ww in range(W):
                dx[c, hh, ww] = acc[hh + 1, ww + 1]


@njit(cache=True, nogil=True)
def grad_transform_image(dout, Z):
    """``Z[:, k, p] = (A dY A^T)`` of the 2x2 gradient tile p of channel k: dout (K, H, W) -> Z (16, K, P).

    Gradient entries past an odd edge are zero (those outputs were never produced)."""
    K, H, W = dout.shape
    th, tw = (H + 1) // 2, (W + 1) // 2
    rows = np.zeros((2, 2 * tw), dtype=dout.dtype)   # one tile row of dY, zero past an odd edge
    for k in range(K):
        for ty in range(th):
            h = 2 * ty
            for w in range(W):
                rows[0, w] = dout[k, h, w]
            if h + 1 < H:
                for w in range(W):
                    rows[1, w] = dout[k, h + 1, w]
            else:
                rows[1, :] = 0.0
            base = ty * tw
            for tx in range(tw):
                p = base + tx
                y00, y01 = rows[0, 2 * tx], rows[0, 2 * tx + 1]
                y10, y11 = rows[1, 2 * tx], rows[1, 2 * tx + 1]
                # A dY: rows (y0, y0 + y1, y0 - y1, -y1) of each column; then (.) A^T along each row
                u0, v0 = y00, y01
                u1, v1 = y00 + y10, y01 + y11
                u2, v2 = y00 - y10, y01 - y11
                u3, v3 = -y10, -y11
                Z[0, k, p], Z[1, k, p], Z[2, k, p], Z[3, k, p] = u0, u0 + v0, u0 - v0, -v0
                Z[4, k, p], Z[5, k, p], Z[6, k, p], Z[7, k, p] = u1, u1 + v1, u1 - v1, -v1
                Z[8, k, p], Z[9, k, p], Z[10, k, p], Z[11, k, p] = u2, u2 + v2, u2 - v2, -v2
                Z[12, k, p], Z[13, k, p], Z[14, k, p], Z[15, k, p] = u3, u3 + v3, u3 - v3, -v3


# --------------------------------------------------------------------------------------------------
# Fast drivers (same signatures as the references, plus optional workspaces and a fused epilogue)
# --------------------------------------------------------------------------------------------------
def _epilogue(K, dtype, bias, scale, activation, alpha):
    sc = np.ones(K, dtype) if scale is None else np.ascontiguousarray(scale, dtype=dtype)
    b = np.zeros(K, dtype) if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    return sc, b, epilogue_code(activation, dtype), dtype.type(alpha)


def winograd_conv3x3(x, weight, bias=None, out=None, *, scale=None, activation=None, alpha=1.0, V=None,
                     U=None, work=None):
    """Fast twin of :func:`winograd_conv3x3_reference`.

    Extra keywords: ``out`` (N, K, H, W), may be a channel slice of a larger array (each image's slice
    contiguous is best); ``scale``/``activation``/``alpha``: ``out = act(scale * conv + bias)`` in the output
    transform; ``V`` (N, 16, C, P): keep every image's input transform there (for the backward's dW);
    ``U`` (16, K, C): a precomputed :func:`filter_transform` of ``weight``; ``work``: a dict that keeps the
    scratch arrays between calls (make ``V`` with :func:`planes`)."""
    from .gemm import _blas_controllers, _chunks, _run_parallel, _workers, run_parts
    _check(x, weight)
    x = np.ascontiguousarray(x)
    N, C, H, W = x.shape
    K = weight.shape[0]
    dt = x.dtype
    th, tw = tiles(H, W)
    P = th * tw
    if U is None:
        U = filter_transform(weight.astype(dt, copy=False))
    if out is None:
        out = np.empty((N, K, H, W), dtype=dt)
    sc, b, code, a = _epilogue(K, dt, bias, scale, activation, alpha)
    ws = {} if work is None else work
    T = _workers()
    threaded = T > 1 and bool(_blas_controllers())
    if N >= T or not threaded:
        parts = _chunks(N, T) if threaded else [(0, N)]
        Vs = None if V is not None else planes_scratch(ws, "V", len(parts), C, P, dt)
        Ms = planes_scratch(ws, "M", len(parts), K, P, dt)

        def work(t, lo, hi):
            def f():
                for n in range(lo, hi):
                    Vn = V[n] if V is not None else Vs[t]
                    input_transform_image(x[n], Vn)
                    np.matmul(U, Vn, out=Ms[t])
                    output_transform_image(Ms[t], out[n], sc, b, code, a)
            return f
        fns = [work(t, lo, hi) for t, (lo, hi) in enumerate(parts)]
        run_parts(fns)
        return out
    # fewer images than threads (batch-1 inference): each thread takes a block of output channels
    Vn = planes_scratch(ws, "V", 1, C, P, dt)[0] if V is None else None
    M = planes_scratch(ws, "M", 1, K, P, dt)[0]
    blocks = _chunks(K, T)
    for n in range(N):
        Vi = V[n] if V is not None else Vn
        input_transform_image(x[n], Vi)

        def work_rows(lo, hi, Vi=Vi, n=n):
            def f():
                np.matmul(U[:, lo:hi], Vi, out=M[:, lo:hi])
                output_transform_image(M[:, lo:hi], out[n, lo:hi], sc[lo:hi], b[lo:hi], code, a)
            return f
        _run_parallel([work_rows(lo, hi) for lo, hi in blocks])
    return out


def winograd_conv3x3_backward(x, weight, dout, *, V=None, U=None, need_dx=True, work=None):
    """Fast twin of :func:`winograd_conv3x3_backward_reference`: ``(dx, dweight)``.

    Per image, on one thread: ``Z = A dY A^T`` once, then ``dU += Z @ V^T`` and ``dV = U^T @ Z`` (16 GEMMs each)
    and the overlap-add of ``B dV B^T`` into ``dx``. ``V`` (N, 16, C, P): the input transforms kept by the
    forward (recomputed when None); ``U``: a precomputed :func:`filter_transform`; ``need_dx=False`` skips the
    input gradient (returns None for it); ``work``: a dict that keeps the scratch arrays between calls."""
    from .gemm import _blas_controllers, _chunks, _run_parallel, _workers, matmul_accumulate
    _check(x, weight)
    if dout.shape[0] and not dout[0].flags.c_contiguous:    # a channel slice of a larger array is fine as is
        dout = np.ascontiguousarray(dout)
    N, C, H, W = x.shape
    K = weight.shape[0]
    dt = dout.dtype
    th, tw = tiles(H, W)
    P = th * tw
    T = _workers()
    threaded = T > 1 and bool(_blas_controllers()) and N >= T
    parts = _chunks(N, T) if threaded else [(0, N)]
    nt = len(parts)
    ws = {} if work is None else work
    dU = planes_scratch(ws, "dU", nt, K, C, dt)
    buf = planes_scratch(ws, "dU_n", nt, K, C, dt)
    Zs = planes_scratch(ws, "Z", nt, K, P, dt)
    Vs = planes_scratch(ws, "V", nt, C, P, dt) if V is None else None
    xc = np.ascontiguousarray(x) if V is None else None
    dx = np.empty((N, C, H, W), dt) if need_dx else None
    if need_dx:
        UT = np.ascontiguousarray((filter_transform(weight.astype(dt, copy=False)) if U is None else U)
                                  .transpose(0, 2, 1))                 # (16, C, K)
        dVs = planes_scratch(ws, "dV", nt, C, P, dt)

    def work_(t, lo, hi):
        def f():
            for n in range(lo, hi):
                if V is None:
                    input_transform_image(xc[n], Vs[t])
                Vn = V[n] if V is not None else Vs[t]
                grad_transform_image(dout[n], Zs[t])
                matmul_accumulate(Zs[t], Vn.transpose(0, 2, 1), dU[t], buf[t], n == lo)
                if need_dx:
                    np.matmul(UT, Zs[t], out=dVs[t])
                    input_transform_adjoint_image(dVs[t], dx[n])
        return f
    fns = [work_(t, lo, hi) for t, (lo, hi) in enumerate(parts)]
    if _blas_controllers():            # a one-thread BLAS even for one part: a 2-thread one on these small
        _run_parallel(fns)             # GEMMs was up to 50x slower at batch 1
    else:
        fns[0]()
    dweight = filter_grad_transform(dU[0] if nt == 1 else dU.sum(axis=0))
    return dx, dweight


def planes(lead, rows, P, dtype):
    """An empty (lead, 16, rows, P) array whose 16 planes start 64 bytes apart from any 4 KiB multiple.

    The transforms read or write the 16 planes of a tile together; when ``rows * P * itemsize`` is a multiple of
    4 KiB (fire2 at 227: 64 x 784 floats) the 16 addresses share one L1 set and evict each other: the output
    transform measured 3x slower, the gradient transform 5x. One cache line of padding per plane avoids it;
    each plane stays contiguous for the GEMMs."""
    flat = np.empty((lead, 16, rows * P + _PLANE_PAD), dtype)
    return flat[:, :, :rows * P].reshape(lead, 16, rows, P)


_PLANE_PAD = 16          # floats between planes (one 64-byte line in float32)


def planes_scratch(ws, name, lead, rows, P, dtype):
    """``ws[name]``: :func:`planes`, reallocated only when the shape or dtype changes (no page faults per call)."""
    buf = ws.get(name)
    if buf is None or buf.shape != (lead, 16, rows, P) or buf.dtype != dtype:
        buf = ws[name] = planes(lead, rows, P, dtype)
    return buf
