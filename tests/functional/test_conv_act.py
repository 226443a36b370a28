"""conv2d_act_pool_forward / conv2d_act_pool_backward (conv -> ReLU or ELU -> max pool, training): float64
gradient checks of x, w and b over drawn shapes, strides, paddings and pool settings (ceil mode too), and the
backward without the input gradient."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.functional import conv2d_act_pool_backward, conv2d_act_pool_forward, pool_output_size
from strategies import seeds


@st.composite
def stem_cases(draw):
    """(N, C_in, C_out, H, W, K, S, P, pool kernel, pool stride, ceil mode) whose conv output holds a pool window."""
    K, S, P = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 1))
    pk, ps, ceil = draw(st.integers(2, 3)), draw(st.integers(1, 2)), draw(st.booleans())
    lo = (pk - 1) * S + K - 2 * P                    # conv output >= pk
    H, W = draw(st.integers(lo, lo + 5)), draw(st.integers(lo, lo + 5))
    return draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)), H, W, K, S, P, pk, ps, ceil


@settings(deadline=None, max_examples=25)
@given(case=stem_cases(), activation=st.sampled_from(["relu", "elu"]), seed=seeds)
def test_conv_act_pool_gradients(case, activation, seed):
    N, C, K_out, H, W, K, S, P, pk, ps, ceil = case
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((K_out, C, K, K)), rng.standard_normal(K_out)
    out, dout, grads = check_function_gradients(conv2d_act_pool_forward, conv2d_act_pool_backward,
                                                (x, w, b, S, P, activation, 0.7, pk, ps, ceil),
                                                {0: 0, 1: 1, 2: 2}, rng)
    OH = (H + 2 * P - K) // S + 1
    assert out.shape[2] == pool_output_size(OH, pk, ps, ceil)
    _, cache = conv2d_act_pool_forward(x, w, b, S, P, activation, 0.7, pk, ps, ceil)
    dx, dw, db = conv2d_act_pool_backward(dout, cache, input_grad=False)
    assert dx is None
    np.testing.assert_array_equal(dw, grads[1])
    np.testing.assert_array_equal(db, grads[2])
