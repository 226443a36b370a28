"""fire_expand_forward / fire_expand_backward (the textbook pair of a Fire module's expand branches) and their
fast twins (squeezenp/ops/fire.py): float64 gradient checks of s and of both convolutions' weights and biases,
ReLU and ELU, random upstream gradients; each 3x3 algorithm for the fast twin."""
import numpy as np
import pytest

from squeezenp import functional
from squeezenp.core.gradcheck import check_function_gradients
from squeezenp.ops import fire as fast


def pair(module, **speed):
    """The pair with every array a positional argument, so that each can be perturbed."""
    def forward(s, w1, b1, w3, b3, activation, alpha):
        return module.fire_expand_forward(s, (w1, b1), (w3, b3), activation, alpha, **speed)
    forward.__name__ = f"{module.__name__}.fire_expand_forward"
    return forward, module.fire_expand_backward


@pytest.mark.parametrize("activation", ["relu", "elu"])
@pytest.mark.parametrize("which", ["textbook", "im2col", "winograd"])
@pytest.mark.parametrize("N,H,W", [(2, 4, 5), (1, 3, 3)])
def test_fire_expand_gradients(which, activation, N, H, W):
    rng = np.random.default_rng(11)
    S, E1, E3 = 3, 2, 4
    args = (rng.standard_normal((N, S, H, W)), rng.standard_normal((E1, S, 1, 1)), rng.standard_normal(E1),
            rng.standard_normal((E3, S, 3, 3)), rng.standard_normal(E3), activation, 0.7)
    forward, backward = pair(functional) if which == "textbook" else pair(fast, algorithm=which)
    out, _, grads = check_function_gradients(forward, backward, args, {0: 0, 1: 1, 2: 2, 3: 3, 4: 4}, rng)
    assert out.shape == (N, E1 + E3, H, W) and out.dtype == np.float64
    assert (out < 0).any() == (activation == "elu")
