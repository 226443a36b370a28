"""The one dispatch between the textbook functions and their fast twins.

Every layer computes through this module: ``ops.conv2d_forward(x, w, b, stride, padding)`` and so on, with
exactly the names and signatures of ``squeezenp.functional``. By default a call goes to the fast twin where
one exists (Numba kernels, per-image GEMMs on squeezenp's threads, reused workspaces, fused inference);
inside ``with reference_backend():`` (or after ``set_backend("reference")``) every call goes to the textbook
function itself, GEMMs included, with no Numba kernel and no thread pool involved. That is how a student can
step through the whole network in plain NumPy, and how the tests check that both paths give the same numbers.

Speed-only keyword arguments (``workspace``: a dict of scratch arrays a layer owns and lends to the fast op;
``algorithm``: im2col or Winograd for a 3x3 convolution, ``conv_algorithm.py``) are dropped on the way to a
textbook function.

=======================================  ===============================  ====================================
operation                                textbook (``functional/``)       fast twin (``ops/``)
=======================================  ===============================  ====================================
``conv2d_forward/backward``              ``conv2d.py`` + ``im2col.py``     ``conv2d.py`` (+ gemm, im2col, bias,
                                                                          winograd, conv_algorithm)
``conv2d_act_inference``                 ``conv_act.py``                   ``conv_act.py`` (fused)
``conv2d_act_pool_inference``            ``conv_act.py``                   ``conv_act.py`` (fused, + pool)
``conv2d_act_pool_forward/backward``     ``conv_act.py``                   ``conv_act.py`` (fused training)
``conv_transpose2d_forward/backward``    ``conv_transpose2d.py``           ``conv_transpose2d.py`` (+ patches)
``batchnorm2d_forward/backward``         ``batchnorm2d.py``                ``batchnorm2d.py`` (training)
``relu_forward/backward``                ``relu.py``                       ``relu.py``
``elu_forward/backward``                 ``elu.py``                        ``elu.py``
``maxpool2d_forward/backward/inference``  ``maxpool2d.py``                 ``maxpool2d.py``
``fire_inference``                       ``fire.py``                       ``fire.py`` (fused)
``fire_expand_forward/backward``         ``fire.py``                       ``fire.py`` (fused training)
``proposed_head_inference``              ``head.py``                       ``head.py`` (fused)
``upconv_fuse_forward/backward``         ``head.py``                       ``head.py`` (fused training)
``add_inference`` (in place, bypass)      ``add.py``                        ``add.py``
global_avg_pool, concat, add,            one file each                    -- (NumPy is already fast there)
linear, dropout, crop_or_pad2d,
softmax_cross_entropy
=======================================  ===============================  ====================================

Building blocks of the fast twins, each with its NumPy reference beside it: ``gemm.py`` (threaded per-image
products), ``im2col.py`` (Numba im2col/col2im), ``winograd.py`` (Winograd F(2x2, 3x3) for stride-1, pad-1 3x3
convolutions, chosen per shape by ``conv_algorithm.py``), ``patches.py`` (the col2im of a transposed convolution
whose stride equals its kernel, with the bias), ``bias.py`` (bias add, bias gradient, fused
scale-bias-activation), ``workspace.py``. A new fast path (another convolution algorithm, a fused pair of
layers) is a function with the textbook signature, registered with ``register(name, fast)``.
"""
from __future__ import annotations

import contextlib

from .. import functional
from ..functional import conv_output_size, conv_transpose_output_size, pool_output_size
from . import add, batchnorm2d, conv2d, conv_act, conv_transpose2d, elu, fire, head, maxpool2d, relu

_BACKENDS = ("numba", "reference")
_backend = "numba"
SPEED_ONLY_KEYWORDS = ("workspace", "algorithm")

# operation name -> fast twin; the textbook function of the same name is in squeezenp.functional
_FAST = {}


def set_backend(name: str) -> None:
    """``"numba"`` (the fast twins: Numba kernels, threaded GEMMs; the default) or ``"reference"`` (the textbook
    functions only)."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: expected one of {_BACKENDS}, got {name!r}")
    _backend = name


def get_backend() -> str:
    return _backend


@contextlib.contextmanager
def reference_backend():
    """Run the enclosed code on the textbook functions."""
    previous = _backend
    set_backend("reference")
    try:
        yield
    finally:
        set_backend(previous)


def register(name: str, fast) -> None:
    """Make ``fast`` the fast twin of ``functional.<name>`` (same signature, plus speed-only keywords)."""
    if not hasattr(functional, name):
        raise ValueError(f"register: squeezenp.functional has no {name!r} to be the twin of")
    _FAST[name] = fast


def _op(name):
    textbook = getattr(functional, name)

    def op(*args, **kwargs):
        fast = _FAST.get(name) if _backend == "numba" else None
        if fast is not None:
            return fast(*args, **kwargs)
        for k in SPEED_ONLY_KEYWORDS:
            kwargs.pop(k, None)
        return textbook(*args, **kwargs)

    op.__name__, op.__qualname__, op.__doc__ = name, name, textbook.__doc__
    return op


for _module, _names in ((add, ("add_inference",)),
                         (conv2d, ("conv2d_forward", "conv2d_backward")),
                         (conv_act, ("conv2d_act_inference", "conv2d_act_pool_inference", "conv2d_act_pool_forward",
                                     "conv2d_act_pool_backward")),
                         (conv_transpose2d, ("conv_transpose2d_forward", "conv_transpose2d_backward")),
                         (batchnorm2d, ("batchnorm2d_forward", "batchnorm2d_backward")),
                         (relu, ("relu_forward", "relu_backward")),
                         (elu, ("elu_forward", "elu_backward")),
                         (maxpool2d, ("maxpool2d_forward", "maxpool2d_backward", "maxpool2d_inference")),
                         (fire, ("fire_inference", "fire_expand_forward", "fire_expand_backward")),
                         (head, ("proposed_head_inference", "upconv_fuse_forward", "upconv_fuse_backward"))):
    for _name in _names:
        register(_name, getattr(_module, _name))

# every operation of squeezenp.functional, under the same name: ops.conv2d_forward, ops.elu_backward, ...
OPERATIONS = ("conv2d_forward", "conv2d_backward", "conv_transpose2d_forward", "conv_transpose2d_backward",
              "batchnorm2d_forward", "batchnorm2d_backward", "relu_forward", "relu_backward", "elu_forward",
              "elu_backward", "maxpool2d_forward", "maxpool2d_backward", "maxpool2d_inference",
              "global_avg_pool_forward", "global_avg_pool_backward", "concat_forward", "concat_backward",
              "add_forward", "add_backward", "linear_forward", "linear_backward", "dropout_forward",
              "dropout_backward", "crop_or_pad2d_forward", "crop_or_pad2d_backward", "softmax_cross_entropy_forward",
              "softmax_cross_entropy_backward", "fire_inference", "fire_expand_forward", "fire_expand_backward",
              "proposed_head_inference", "upconv_fuse_forward", "upconv_fuse_backward", "conv2d_act_inference",
              "conv2d_act_pool_inference", "conv2d_act_pool_forward", "conv2d_act_pool_backward", "add_inference")
for _name in OPERATIONS:
    globals()[_name] = _op(_name)

__all__ = ["set_backend", "get_backend", "reference_backend", "register", "conv_output_size",
           "conv_transpose_output_size", "pool_output_size", *OPERATIONS]
