"""``create(name, ...)``: the four networks by name, seeded, optionally with ImageNet weights, fused
(``Layer.fuse``). Tests: ``tests/models/test_networks.py``."""
from __future__ import annotations

from .networks import Model, ProposedCNN, SqueezeNet
from .pretrained import default_pretrained_path, load_torchvision_squeezenet

_NAMES = {
    "squeezenet": "1: SqueezeNet v1.1 without bypass (Matlab's squeezenet)",
    "squeezenet_bypass": "2: SqueezeNet v1.1 with simple bypass around fire3, fire5, fire7, fire9",
    "squeezenet_bypass_transfer": "3: network 2 initialised from torchvision's ImageNet squeezenet1_1",
    "proposed": "4: the paper's light CNN (CustomFire + transposed-conv skip from fire9 to fire3)",
}


def available() -> list[str]:
    """Names accepted by ``create``, in the paper's order (networks 1-4)."""
    return list(_NAMES)


def describe(name: str) -> str:
    return _NAMES[_check_name(name)]


def _check_name(name):
    if name not in _NAMES:
        raise ValueError(f"unknown model {name!r}; available: {available()}")
    return name


def build(name, num_classes=2, input_size=227, in_channels=3, seed=0, init="default",
           input_normalization="none") -> Model:
    """The architecture with its seeded initialisation (``init``: ``initialisation.SCHEMES``) and input
    normalisation (``input_normalization.MODES``; a ``zerocenter`` mean image starts at zero), no weights loaded."""
    from .initialisation import initialise
    _check_name(name)
    kw = dict(num_classes=num_classes, input_size=input_size, in_channels=in_channels, seed=seed, name=name)
    model = ProposedCNN(**kw) if name == "proposed" else SqueezeNet(bypass=name != "squeezenet", **kw)
    if init != "default":
        initialise(model, init, seed)
    if input_normalization != "none":
        model.set_input_normalization(input_normalization)
    return model.fuse()   # the Fire modules' fused forwards (squeezenp/ops/fire.py); model.fuse(False) undoes it


def create(name, num_classes=2, input_size=227, in_channels=3, seed=0, pretrained=None, init="default",
           input_normalization="none") -> Model:
    """Build network ``name``.

    ``init``: ``"default"`` (He normal, squeezenp's classifier starts) or ``"glorot"`` (Matlab's default for
    every convolution, biases 0; ``initialisation.py``); ImageNet weights, when loaded, replace it where they fit.
    ``input_normalization``: ``"none"`` (the pipeline's tensor as it is), ``"zerocenter"`` or ``"imagenet"``
    (Matlab's input layer; ``input_normalization.py``). A ``zerocenter`` network needs its mean image set
    (``model.input_norm.set_mean(mean_image(x_train))``) before training.

    ``pretrained``: path of torchvision's squeezenet1_1 ImageNet ``.npz``. For ``squeezenet_bypass_transfer`` it
    defaults to ``default_pretrained_path()`` (``$SQUEEZENP_SHARED/weights/`` or ``<repo>/../shared/weights/``)
    and a missing file is an error; for the other networks the weights are loaded only if a path is given
    (into every layer whose shape matches). ``model.pretrained_report`` lists what was loaded and skipped.
    ImageNet weights need ``in_channels == 3``.
    """
    model = build(name, num_classes, input_size, in_channels, seed, init, input_normalization)
    if name == "squeezenet_bypass_transfer" and pretrained is None:
        pretrained = default_pretrained_path()
        if pretrained is None:
            raise FileNotFoundError(
                "squeezenet_bypass_transfer needs ImageNet weights: pass pretrained=<path to "
                "squeezenet1_1_imagenet.npz> or set $SQUEEZENP_SHARED to the shared folder holding "
                "weights/squeezenet1_1_imagenet.npz (looked in $SQUEEZENP_SHARED and <repo>/../shared)")
    if pretrained is not None:
        if in_channels != 3:
            raise ValueError(f"ImageNet weights need in_channels=3, got {in_channels}")
        load_torchvision_squeezenet(model, pretrained)
        model.config["pretrained"] = str(pretrained)
    return model
