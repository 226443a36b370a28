"""Low-level operations, each as a readable NumPy reference and a Numba kernel with the same signature.

The layers call the functions exported here. They dispatch to the Numba kernels by default; inside
``with reference_backend():`` (or after ``set_backend("reference")``) every layer runs on the plain NumPy
references instead, which is how a student can step through the whole network and how the tests check
that both paths give the same numbers.

=================  ==========================  ===================================
operation          reference                   kernel
=================  ==========================  ===================================
im2col / col2im    ``im2col.im2col_reference``  ``im2col.im2col``
max pooling        ``pooling.maxpool_*_reference``  ``pooling.maxpool_*`` (``_values``: inference, no argmax)
batch norm         ``batchnorm.batchnorm_*_reference``  ``batchnorm.batchnorm_*``
ELU                ``activations.elu_*_reference``  ``activations.elu_*``
bias add / grad    ``bias.add_bias_reference``, ``bias.bias_grad_reference``  ``bias.add_bias``, ``bias.bias_grad``
fused (inference)  ``bias.scale_bias_act_reference``  ``bias.scale_bias_act``
=================  ==========================  ===================================
"""
from __future__ import annotations

import contextlib

from . import activations, batchnorm, bias, im2col as _im2col, pooling
from .im2col import conv_output_size
from .pooling import pool_output_size

_BACKENDS = ("numba", "reference")
_backend = "numba"


def set_backend(name: str) -> None:
    """Choose ``"numba"`` (fast kernels, the default) or ``"reference"`` (plain NumPy)."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: expected one of {_BACKENDS}, got {name!r}")
    _backend = name


def get_backend() -> str:
    return _backend


@contextlib.contextmanager
def reference_backend():
    """Run the enclosed code on the NumPy references."""
    previous = _backend
    set_backend("reference")
    try:
        yield
    finally:
        set_backend(previous)


def _dispatch(module, name):
    fast, ref = getattr(module, name), getattr(module, name + "_reference")

    def op(*args, **kwargs):
        return (ref if _backend == "reference" else fast)(*args, **kwargs)

    op.__name__, op.__doc__ = name, ref.__doc__
    return op


im2col = _dispatch(_im2col, "im2col")
col2im = _dispatch(_im2col, "col2im")
maxpool_forward = _dispatch(pooling, "maxpool_forward")
maxpool_backward = _dispatch(pooling, "maxpool_backward")
maxpool_forward_values = _dispatch(pooling, "maxpool_forward_values")
batchnorm_forward = _dispatch(batchnorm, "batchnorm_forward")
batchnorm_backward = _dispatch(batchnorm, "batchnorm_backward")
elu_forward = _dispatch(activations, "elu_forward")
elu_backward = _dispatch(activations, "elu_backward")
add_bias = _dispatch(bias, "add_bias")
bias_grad = _dispatch(bias, "bias_grad")
scale_bias_act = _dispatch(bias, "scale_bias_act")
relu_forward = activations.relu_forward
relu_backward = activations.relu_backward

__all__ = ["set_backend", "get_backend", "reference_backend", "conv_output_size", "pool_output_size",
           "im2col", "col2im", "maxpool_forward", "maxpool_forward_values", "maxpool_backward", "batchnorm_forward",
           "batchnorm_backward", "elu_forward", "elu_backward", "add_bias", "bias_grad", "scale_bias_act", "relu_forward", "relu_backward"]
