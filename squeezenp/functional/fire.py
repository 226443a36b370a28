"""A Fire module's evaluation forward, written with the functions of this package (Iandola et al. 2016;
CustomFire: Polsinelli, Cinque and Placidi 2020)::

    Fire       : squeeze 1x1 -> ReLU -> [expand 1x1 -> ReLU | expand 3x3 (pad 1) -> ReLU] -> concat
    CustomFire : squeeze 1x1 -> BN (running statistics) -> ELU -> [... ELU | ... ELU] -> concat

Shapes: x (N, C_in, H, W) -> out (N, e1 + e3, H, W). The layer ``squeezenp.models.Fire`` trains with its
children; this function is the specification of the fused inference in ``squeezenp/ops/fire.py`` (three
matrix products, each image's output followed at once by its bias, folded batch norm and activation), which has
the same signature. Tests: ``tests/ops/test_fire.py``.
"""
from __future__ import annotations

from .batchnorm2d import batchnorm2d_forward
from .concat import concat_forward
from .conv2d import conv2d_forward
from .elu import elu_forward
from .relu import relu_forward


def fire_inference(x, squeeze, expand1x1, expand3x3, bn=None, activation="relu", alpha=1.0):
    """Evaluation forward of a (Custom)Fire module.

    Parameters
    ----------
    x : (N, C_in, H, W)
    squeeze, expand1x1, expand3x3 : ``(w, b)`` of the three convolutions, w (s, C_in, 1, 1), (e1, s, 1, 1),
        (e3, s, 3, 3); the 3x3 one is padded by 1
    bn : None, or ``(gamma, beta, running_mean, running_var, eps)`` of the batch norm after the squeeze
    activation : ``"relu"`` or ``"elu"`` (with ``alpha``)

    Returns
    -------
    out : (N, e1 + e3, H, W), [expand1x1 | expand3x3] on the channel axis
    """
    def act(t):
        return relu_forward(t)[0] if activation == "relu" else elu_forward(t, alpha)[0]

    s = conv2d_forward(x, *squeeze)[0]
    if bn is not None:
        gamma, beta, running_mean, running_var, eps = bn
        s = batchnorm2d_forward(s, gamma, beta, eps, running_mean, running_var)[0]
    s = act(s)
    e1 = act(conv2d_forward(s, *expand1x1)[0])
    e3 = act(conv2d_forward(s, *expand3x3, padding=1)[0])
    return concat_forward([e1, e3], axis=1)[0]
