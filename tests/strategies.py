"""Hypothesis strategies shared by the op and layer tests: small NCHW shapes and layer settings.

Shapes stay small (N <= 3, C <= 4, H, W <= 7) so that central-difference gradient checks, which run two
forward passes per input element, finish quickly. Every strategy returns a plain named tuple so that a
failing case prints readably and can be pinned with ``@example``.
"""
from __future__ import annotations

from typing import NamedTuple

from hypothesis import assume
from hypothesis import strategies as st

from squeezenp.ops import conv_output_size, pool_output_size

batch = st.integers(1, 3)
channels = st.integers(1, 4)
spatial = st.integers(1, 7)          # odd and even sizes
kernel = st.integers(1, 4)
stride = st.integers(1, 4)           # includes stride > kernel
padding = st.integers(0, 2)
seeds = st.integers(0, 2**32 - 1)
float_dtypes = st.sampled_from(["float32", "float64"])


class ConvCase(NamedTuple):
    N: int
    C_in: int
    C_out: int
    H: int
    W: int
    K: int
    S: int
    P: int

    @property
    def x_shape(self):
        return (self.N, self.C_in, self.H, self.W)

    @property
    def out_hw(self):
        return (conv_output_size(self.H, self.K, self.S, self.P), conv_output_size(self.W, self.K, self.S, self.P))


class ConvTCase(NamedTuple):
    N: int
    C_in: int
    C_out: int
    H: int
    W: int
    K: int
    S: int
    P: int

    @property
    def x_shape(self):
        return (self.N, self.C_in, self.H, self.W)

    @property
    def out_hw(self):
        return ((self.H - 1) * self.S - 2 * self.P + self.K, (self.W - 1) * self.S - 2 * self.P + self.K)


class PoolCase(NamedTuple):
    N: int
    C: int
    H: int
    W: int
    K: int
    S: int
    ceil_mode: bool

    @property
    def x_shape(self):
        return (self.N, self.C, self.H, self.W)

    @property
    def out_hw(self):
        return (pool_output_size(self.H, self.K, self.S, self.ceil_mode),
                pool_output_size(self.W, self.K, self.S, self.ceil_mode))


@st.composite
def conv_cases(draw, max_hw: int = 7):
    """A Conv2d / im2col setting whose output has at least one pixel: H + 2P >= K."""
    K, S, P = draw(kernel), draw(stride), draw(padding)
    lo = max(1, K - 2 * P)
    assume(lo <= max_hw)
    H, W = draw(st.integers(lo, max_hw)), draw(st.integers(lo, max_hw))
    return ConvCase(draw(batch), draw(channels), draw(channels), H, W, K, S, P)


@st.composite
def conv_transpose_cases(draw, max_hw: int = 5):
    """A ConvTranspose2d setting whose output, (H - 1)S - 2P + K, has at least one pixel."""
    K, S, P = draw(kernel), draw(stride), draw(padding)
    H, W = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    case = ConvTCase(draw(batch), draw(channels), draw(channels), H, W, K, S, P)
    assume(min(case.out_hw) >= 1)
    return case


@st.composite
def adjoint_cases(draw):
    """A Conv2d setting whose input size round-trips: (H + 2P - K) % S == 0, so that the transposed conv of
    a conv-sized tensor has the conv's input size again. Drawn through the conv output size OH."""
    K, S, P = draw(kernel), draw(stride), draw(padding)
    OH, OW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H, W = (OH - 1) * S - 2 * P + K, (OW - 1) * S - 2 * P + K
    assume(H >= 1 and W >= 1 and max(H, W) <= 10)
    return ConvCase(draw(batch), draw(channels), draw(channels), H, W, K, S, P)


@st.composite
def pool_cases(draw, max_hw: int = 7):
    """A MaxPool2d setting with the window inside the input (H, W >= K)."""
    K, S, ceil_mode = draw(kernel), draw(stride), draw(st.booleans())
    H, W = draw(st.integers(K, max_hw)), draw(st.integers(K, max_hw))
    return PoolCase(draw(batch), draw(channels), H, W, K, S, ceil_mode)


@st.composite
def nchw_shapes(draw, max_hw: int = 7):
    return (draw(batch), draw(channels), draw(spatial), draw(spatial))


@st.composite
def any_shapes(draw):
    """1 to 4 dimensions, batch first: for the elementwise layers."""
    ndim = draw(st.integers(1, 4))
    return tuple([draw(batch)] + [draw(st.integers(1, 5)) for _ in range(ndim - 1)])
