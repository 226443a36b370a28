"""upconv_fuse_forward / upconv_fuse_backward (the proposed CNN's head middle in training) and their fast twins
(squeezenp/ops/head.py): float64 gradient checks of x9, the skip and both layers' weights and biases, random
upstream gradients."""
import numpy as np
import pytest

from squeezenp import functional
from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.ops import head as fast


def pair(module):
    def forward(x9, skip, w_up, b_up, w_f, b_f):
        return module.upconv_fuse_forward(x9, skip, (w_up, b_up), (w_f, b_f), 0.7, 1.3)
    forward.__name__ = f"{module.__name__}.upconv_fuse_forward"
    return forward, module.upconv_fuse_backward


@pytest.mark.parametrize("module", [functional, fast], ids=["textbook", "fast"])
@pytest.mark.parametrize("N,k", [(2, 2), (1, 3)])
def test_upconv_fuse_gradients(module, N, k):
    rng = np.random.default_rng(12)
    C9, Cu, Cs, F, h, w = 3, 2, 2, 3, 2, 1
    args = (rng.standard_normal((N, C9, h, w)), rng.standard_normal((N, Cs, h * k, w * k)),
            rng.standard_normal((C9, Cu, k, k)), rng.standard_normal(Cu), rng.standard_normal((F, Cs + Cu, 1, 1)),
            rng.standard_normal(F))
    forward, backward = pair(module)
    out, _, _ = check_function_gradients(forward, backward, args, {i: i for i in range(6)}, rng)
    assert out.shape == (N, F, h * k, w * k) and (out < 0).any()
