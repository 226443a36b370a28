"""The layers of squeezenp: thin stateful wrappers (parameters, gradients, buffers, cache) over the functions of
``squeezenp.functional``, called through ``squeezenp.ops``. One concern per file; each follows
``squeezenp.core.Layer``."""
from .activations import ELU, ReLU
from .batchnorm import BatchNorm2d
from .conv import Conv2d, weight_and_bias
from .conv_transpose import ConvTranspose2d
from .crop import CropOrPad2d
from .dropout import Dropout
from .linear import Flatten, Linear
from .loss import SoftmaxCrossEntropy
from .merge import Add, Concat
from .pooling import GlobalAvgPool2d, MaxPool2d

__all__ = ["Conv2d", "ConvTranspose2d", "BatchNorm2d", "ReLU", "ELU", "MaxPool2d", "GlobalAvgPool2d",
           "Dropout", "Concat", "Add", "Linear", "Flatten", "SoftmaxCrossEntropy", "CropOrPad2d", "weight_and_bias"]
