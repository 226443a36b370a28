"""The textbook layer: every operation of the networks as a pair of pure NumPy functions, CS231n style::

    out, cache = <op>_forward(x, ...)          grads = <op>_backward(dout, cache)

No state, no threads, no reused buffers: each file holds one operation, its shapes and its forward and
backward formulas, and can be read (and gradient-checked) on its own. The layers (``squeezenp/layers``) are
thin stateful wrappers that call these functions through ``squeezenp.ops``, which swaps in a fast twin of the
same signature where one exists (``squeezenp/ops``) and runs these functions themselves inside
``ops.reference_backend()``.

=========================  =============================================  ==============================
file                       functions                                      backward returns
=========================  =============================================  ==============================
``im2col.py``              ``im2col``, ``col2im``, ``conv_output_size``    (helpers of the convolutions)
``conv2d.py``              ``conv2d_forward/backward``                    dx, dw, db
``conv_act.py``            ``conv2d_act_inference`` (conv + activation),  --
                           ``conv2d_act_pool_inference`` (+ max pool),
                           ``conv2d_act_pool_forward/backward``           dx (or None), dw, db
``conv_transpose2d.py``    ``conv_transpose2d_forward/backward``          dx, dw, db
``batchnorm2d.py``         ``batchnorm2d_forward/backward``               dx, dgamma, dbeta
``relu.py``, ``elu.py``    ``relu_forward/backward``, ``elu_...``         dx
``maxpool2d.py``           ``maxpool2d_forward/backward/inference``       dx
``global_avg_pool.py``     ``global_avg_pool_forward/backward``           dx
``concat.py``, ``add.py``  ``concat_...``, ``add_...``                    (dx1, ..., dxk)
``linear.py``              ``linear_forward/backward``                    dx, dw, db
``dropout.py``             ``dropout_forward/backward``                   dx
``crop_or_pad2d.py``       ``crop_or_pad2d_forward/backward``             dx
``softmax_cross_entropy``  ``softmax_cross_entropy_forward/backward``     dlogits
``fire.py``                ``fire_inference`` (a Fire module, evaluation)  --
``fire.py``                ``fire_expand_forward/backward`` (training)     ds, dw1, db1, dw3, db3
``head.py``                ``proposed_head_inference`` (evaluation)       --
``head.py``                ``upconv_fuse_forward/backward`` (training)    dx9, dskip, dw_up, db_up, dw_f, db_f
=========================  =============================================  ==============================

Tests: ``tests/functional/`` (a float64 gradient check of every pair, ``squeezenp.core.gradcheck``).
"""
from .add import add_backward, add_forward, add_inference
from .batchnorm2d import batchnorm2d_backward, batchnorm2d_forward
from .concat import concat_backward, concat_forward
from .conv2d import conv2d_backward, conv2d_forward
from .conv_act import (conv2d_act_inference, conv2d_act_pool_backward, conv2d_act_pool_forward,
                       conv2d_act_pool_inference)
from .conv_transpose2d import conv_transpose2d_backward, conv_transpose2d_forward, conv_transpose_output_size
from .crop_or_pad2d import crop_or_pad2d_backward, crop_or_pad2d_forward
from .dropout import dropout_backward, dropout_forward
from .elu import elu_backward, elu_forward
from .fire import fire_expand_backward, fire_expand_forward, fire_inference
from .global_avg_pool import global_avg_pool_backward, global_avg_pool_forward
from .head import proposed_head_inference, upconv_fuse_backward, upconv_fuse_forward
from .im2col import col2im, conv_output_size, im2col
from .linear import linear_backward, linear_forward
from .maxpool2d import maxpool2d_backward, maxpool2d_forward, maxpool2d_inference, pool_output_size
from .relu import relu_backward, relu_forward
from .softmax_cross_entropy import (log_softmax, softmax, softmax_cross_entropy_backward,
                                    softmax_cross_entropy_forward)

__all__ = ["im2col", "col2im", "conv_output_size", "conv_transpose_output_size", "pool_output_size",
           "conv2d_forward", "conv2d_backward", "conv_transpose2d_forward", "conv_transpose2d_backward",
           "batchnorm2d_forward", "batchnorm2d_backward", "relu_forward", "relu_backward", "elu_forward",
           "elu_backward", "maxpool2d_forward", "maxpool2d_backward", "maxpool2d_inference",
           "global_avg_pool_forward", "global_avg_pool_backward", "concat_forward", "concat_backward",
           "add_forward", "add_backward", "add_inference", "linear_forward", "linear_backward", "dropout_forward",
           "dropout_backward", "crop_or_pad2d_forward", "crop_or_pad2d_backward", "log_softmax", "softmax",
           "softmax_cross_entropy_forward", "softmax_cross_entropy_backward", "fire_inference",
           "fire_expand_forward", "fire_expand_backward", "proposed_head_inference",
           "upconv_fuse_forward", "upconv_fuse_backward", "conv2d_act_inference", "conv2d_act_pool_inference",
           "conv2d_act_pool_forward", "conv2d_act_pool_backward"]
