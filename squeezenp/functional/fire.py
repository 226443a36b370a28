"""A Fire module's evaluation forward, and its expand branches' training pair, written with the functions of this package (Iandola et al. 2016;
CustomFire: Polsinelli, Cinque and Placidi 2020)::

    Fire       : squeeze 1x1 -> ReLU -> [expand 1x1 -> ReLU | expand 3x3 (pad 1) -> ReLU] -> concat
    CustomFire : squeeze 1x1 -> BN (running statistics) -> ELU -> [... ELU | ... ELU] -> concat

Shapes: x (N, C_in, H, W) -> out (N, e1 + e3, H, W). The layer ``squeezenp.models.Fire`` trains with its
children; this function is the specification of the fused inference in ``squeezenp/ops/fire.py`` (three
matrix products, each image's output followed at once by its bias, folded batch norm and activation), which has
the same signature.

The training forward of a Fire module's two expand branches and its backward, for the fused Fire training::

    fire_expand_forward : s -> [expand1x1 -> act | expand3x3 (pad 1) -> act] -> concat
    fire_expand_backward: split dout; each branch's activation backward, then its convolution's backward; the two
                          gradients of s add (s fanned out to both branches)

Shapes: s (N, S, H, W) -> out (N, e1 + e3, H, W). The fast twins in ``squeezenp/ops/fire.py`` write both
branches into one output with bias and activation applied per image, and run both activations' backward and both
bias gradients in one pass. Tests: ``tests/ops/test_fire.py``, ``tests/functional/test_fire.py``.
"""
from __future__ import annotations

from .batchnorm2d import batchnorm2d_forward
from .concat import concat_backward, concat_forward
from .conv2d import conv2d_backward, conv2d_forward
from .elu import elu_backward, elu_forward
from .relu import relu_backward, relu_forward


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


def fire_expand_forward(s, expand1x1, expand3x3, activation="relu", alpha=1.0):
    """Training forward of a (Custom)Fire module's expand branches.

    Parameters
    ----------
    s : (N, S, H, W), the squeeze branch's activated output
    expand1x1, expand3x3 : ``(w, b)`` of the two convolutions, w (e1, S, 1, 1) and (e3, S, 3, 3) (padded by 1)
    activation : ``"relu"`` or ``"elu"`` (with ``alpha``)

    Returns
    -------
    out : (N, e1 + e3, H, W), [act(expand1x1(s)) | act(expand3x3(s))];  cache : for ``fire_expand_backward``
    """
    def act(t):
        return relu_forward(t) if activation == "relu" else elu_forward(t, alpha)

    a, conv_a = conv2d_forward(s, *expand1x1)
    a, act_a = act(a)
    b, conv_b = conv2d_forward(s, *expand3x3, padding=1)
    b, act_b = act(b)
    out, concat_cache = concat_forward([a, b], axis=1)
    return out, (conv_a, act_a, conv_b, act_b, concat_cache, activation)


def fire_expand_backward(dout, cache):
    """Gradients of ``fire_expand_forward``.

    Returns
    -------
    ds : (N, S, H, W);  dw1, db1 : of expand1x1;  dw3, db3 : of expand3x3
    """
    conv_a, act_a, conv_b, act_b, concat_cache, activation = cache
    act_backward = relu_backward if activation == "relu" else elu_backward
    da, db = concat_backward(dout, concat_cache)
    ds_a, dw1, db1 = conv2d_backward(act_backward(da, act_a), conv_a)
    ds_b, dw3, db3 = conv2d_backward(act_backward(db, act_b), conv_b)
    return ds_a + ds_b, dw1, db1, dw3, db3              # s fanned out to both branches: the gradients add
