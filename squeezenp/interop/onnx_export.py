"""Export any of the four networks as an ONNX inference graph of standard operators.

Teaches: the same network written a second time, as a dataflow graph: every layer becomes one ONNX node
whose weights are initializers named by the state-dict key (``fire3.expand3x3.weight``), and the graph is
checked by running it in onnxruntime next to our own forward pass. Polsinelli et al. (2020) exported their
networks to ONNX from Matlab. Usage and what is verified: ``docs/onnx.md``. Tests: ``tests/interop/test_onnx.py``.

Graph (evaluation mode; dropout is the identity and is omitted)::

    input (batch, C, H, W) float32
      -> Conv conv1 -> Relu -> MaxPool (3/2, ceil_mode=1)
      -> Fire:       Conv squeeze1x1 -> Relu -> [Conv expand1x1 -> Relu | Conv expand3x3 (pad 1) -> Relu] -> Concat
         CustomFire: Conv squeeze1x1 -> BatchNormalization -> Elu -> [... Elu | ... Elu] -> Concat
         bypass:     Add(fire output, fire input) around fire3, fire5, fire7, fire9 (networks 2, 3)
      -> SqueezeNet: Conv conv10 -> Relu -> GlobalAveragePool -> Flatten                  = logits
         proposed:   ConvTranspose upconv -> Elu -> Slice/Pad to fire3's size -> Concat [fire3 | up]
                     -> Conv conv_fuse -> Elu -> Conv conv10 -> GlobalAveragePool -> Flatten = logits
      -> Softmax (axis 1)                                                                     = probabilities

The batch dimension is symbolic (``batch``); H and W are fixed at export (the crop/pad amounts depend on
them). ``onnx`` is imported only here and only when a function runs (``pip install squeezenp[onnx]``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__
from ..core.atomic import atomic_write

DEFAULT_OPSET = 17
MIN_OPSET = 13              # Slice/Pad with tensor inputs, Softmax on one axis
INPUT_NAME, PROBS_NAME, LOGITS_NAME = "input", "probabilities", "logits"
INSTALL_HINT = "pip install squeezenp[onnx]"


class OnnxUnavailableError(ImportError):
    """The optional ``onnx`` package is not installed."""


def require_onnx(what: str = "ONNX export"):
    """Import and return the ``onnx`` package, or raise ``OnnxUnavailableError`` saying how to install it."""
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as e:
        raise OnnxUnavailableError(f"{what} needs the 'onnx' package: {INSTALL_HINT} ({e})") from None
    return onnx


def _max_opset(onnx) -> int:
    return int(onnx.defs.onnx_opset_version())


class _GraphBuilder:
    """Collects nodes and initializers; each method takes input tensor names and returns the output name.

    Spatial sizes are tracked alongside (``self.hw``) so that the crop/pad amounts are known at export."""

    def __init__(self, onnx):
        self.onnx, self.h = onnx, onnx.helper
        self.nodes, self.inits, self._names = [], [], set()

    def _out(self, name):
        """A unique tensor name derived from ``name``."""
        out, k = name, 1
        while out in self._names:
            k += 1
            out = f"{name}_{k}"
        self._names.add(out)
        return out

    def const(self, name, array):
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name=name))
        self._names.add(name)
        return name

    def node(self, op, inputs, name, output=None, **attrs):
        out = self._out(output or name)
        self.nodes.append(self.h.make_node(op, list(inputs), [out], name=name, **attrs))
        return out

    # --- layers ---------------------------------------------------------------------------------
    def conv(self, x, layer, key):
        ins = [x, self.const(f"{key}.weight", layer.params["weight"].astype(np.float32))]
        if "bias" in layer.params:
            ins.append(self.const(f"{key}.bias", layer.params["bias"].astype(np.float32)))
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
        return self.node("Conv", ins, key, kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw],
                         dilations=[1, 1], group=1)

    def conv_transpose(self, x, layer, key):
        ins = [x, self.const(f"{key}.weight", layer.params["weight"].astype(np.float32))]
        if "bias" in layer.params:
            ins.append(self.const(f"{key}.bias", layer.params["bias"].astype(np.float32)))
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
        return self.node("ConvTranspose", ins, key, kernel_shape=[kh, kw], strides=[sh, sw],
                         pads=[ph, pw, ph, pw], dilations=[1, 1], group=1)

    def batchnorm(self, x, layer, key):
        ins = [x] + [self.const(f"{key}.{k}", src[k].astype(np.float32)) for src, k in
                     ((layer.params, "weight"), (layer.params, "bias"),
                      (layer.buffers, "running_mean"), (layer.buffers, "running_var"))]
        return self.node("BatchNormalization", ins, key, epsilon=float(layer.eps))

    def act(self, x, layer, key):
        if type(layer).__name__ == "ELU":
            return self.node("Elu", [x], key, alpha=float(layer.alpha))
        if type(layer).__name__ == "ReLU":
            return self.node("Relu", [x], key)
        raise TypeError(f"ONNX export: no mapping for activation {layer!r} ({key})")

    def maxpool(self, x, layer, key):
        k, s = layer.kernel_size, layer.stride
        return self.node("MaxPool", [x], key, kernel_shape=[k, k], strides=[s, s], pads=[0, 0, 0, 0],
                         ceil_mode=int(layer.ceil_mode))

    def crop_or_pad(self, x, from_hw, to_hw, key):
        """Crop (Slice) and/or zero-pad (Pad) at the bottom/right from ``from_hw`` to ``to_hw``."""
        (H, W), (TH, TW) = from_hw, to_hw
        if (H, W) == (TH, TW):
            return x
        if H > TH or W > TW:
            h, w = min(H, TH), min(W, TW)
            x = self.node("Slice", [x, self.const(f"{key}.starts", np.array([0, 0], np.int64)),
                                    self.const(f"{key}.ends", np.array([h, w], np.int64)),
                                    self.const(f"{key}.axes", np.array([2, 3], np.int64))], f"{key}_slice")
            H, W = h, w
        if H < TH or W < TW:
            pads = np.array([0, 0, 0, 0, 0, 0, TH - H, TW - W], np.int64)   # begins N C H W, ends N C H W
            x = self.node("Pad", [x, self.const(f"{key}.pads", pads)], f"{key}_pad", mode="constant")
        return x


def _fire(b, x, fire, key):
    s = b.conv(x, fire.squeeze1x1, f"{key}.squeeze1x1")
    if fire.custom:
        s = b.batchnorm(s, fire.bn, f"{key}.bn")
    s = b.act(s, fire.act_s, f"{key}.{fire.act_names[0]}")
    e1 = b.act(b.conv(s, fire.expand1x1, f"{key}.expand1x1"), fire.act_e1, f"{key}.{fire.act_names[1]}")
    e3 = b.act(b.conv(s, fire.expand3x3, f"{key}.expand3x3"), fire.act_e3, f"{key}.{fire.act_names[2]}")
    return b.node("Concat", [e1, e3], f"{key}.concat", axis=1)


def _trunk(b, model, x, hw):
    """conv1 .. fire9 in the order of ``Model.trunk_forward``; returns (output, {layer name: (tensor, hw)})."""
    from ..models.networks import FIRE_SPECS, POOL_AFTER
    taps = {}

    def spatial(name, x, hw):
        layer = model.children[name]
        op = b.conv if type(layer).__name__ == "Conv2d" else b.maxpool
        x, hw = op(x, layer, name), layer.output_shape((1, 1) + tuple(hw))[2:]
        taps[name] = (x, hw)
        return x, hw

    x, hw = spatial("conv1", x, hw)
    x = b.act(x, model.relu_conv1, "relu_conv1")
    x, hw = spatial("pool1", x, hw)
    for name in FIRE_SPECS:                          # Fire / CustomFire keep the size
        y = _fire(b, x, model.children[name], name)
        bypass = f"bypass{name[4:]}"
        x = b.node("Add", [y, x], bypass) if bypass in model.children else y
        taps[name] = (x, hw)
        if name in POOL_AFTER:
            x, hw = spatial(POOL_AFTER[name], x, hw)
    return x, taps


def _head(b, model, x, hw, taps):
    """Everything after fire9 up to the logits (N, num_classes)."""
    if type(model).__name__ == "ProposedCNN":
        skip, skip_hw = taps[model.SKIP_FROM]
        up = b.conv_transpose(x, model.upconv, "upconv")
        up_hw = model.upconv.output_shape((1, 1) + tuple(hw))[2:]
        up = b.act(up, model.elu_upconv, "elu_upconv")
        up = b.crop_or_pad(up, up_hw, skip_hw, "crop_upconv")
        h = b.node("Concat", [skip, up], "concat", axis=1)
        h = b.act(b.conv(h, model.conv_fuse, "conv_fuse"), model.elu_fuse, "elu_fuse")
        maps = b.conv(h, model.conv10, "conv10")
    else:
        maps = b.act(b.conv(x, model.conv10, "conv10"), model.relu_conv10, "relu_conv10")
    pooled = b.node("GlobalAveragePool", [maps], "pool10")
    return b.node("Flatten", [pooled], "flatten", output=LOGITS_NAME, axis=1)


def metadata(model, input_size, class_names=None) -> dict[str, str]:
    """The ``metadata_props`` written into the file (all values are strings; lists and dicts are JSON)."""
    from ..data import CLASS_NAMES, NORMALISATION
    if class_names is None:
        class_names = list(CLASS_NAMES) if model.num_classes == len(CLASS_NAMES) else \
            [f"class{i}" for i in range(model.num_classes)]
    class_names = [str(c) for c in class_names]
    if len(class_names) != model.num_classes:
        raise ValueError(f"export_onnx: {len(class_names)} class names given for {model.num_classes} classes: "
                         f"{class_names}")
    pre = dict(model.config.get("preprocessing", {}))
    pre["size"] = [int(input_size), int(input_size)]
    pre["grayscale_normalisation"] = dict(NORMALISATION)   # what squeezenp.data.to_network_input applies
    return {
        "model_name": str(model.name),
        "class_names": json.dumps(class_names),
        "num_classes": str(model.num_classes),
        "input_size": json.dumps([int(input_size), int(input_size)]),
        "in_channels": str(model.in_channels),
        "preprocessing": json.dumps(pre, sort_keys=True),
        "normalisation": json.dumps({"mean": NORMALISATION["mean"], "std": NORMALISATION["std"],
                                     "formula": "(pixel / 255 - mean) / std, gray copied to every channel"}),
        "squeezenp_version": __version__,
        "config": json.dumps(model.config, sort_keys=True, default=str),
    }


def build_onnx_model(model, opset: int = DEFAULT_OPSET, logits: bool = True, input_size: int | None = None,
                     class_names=None):
    """The ``onnx.ModelProto`` of ``model`` (not checked, not written); arguments as ``export_onnx``."""
    onnx = require_onnx()
    from ..models import MIN_INPUT_SIZE, Model
    if not isinstance(model, Model):
        raise TypeError(f"export_onnx: expected a squeezenp network (squeezenp.models.create), "
                        f"got {type(model).__name__}")
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or \
            not MIN_OPSET <= int(opset) <= _max_opset(onnx):
        raise ValueError(f"export_onnx: opset must be an int in [{MIN_OPSET}, {_max_opset(onnx)}] "
                         f"(the installed onnx {onnx.__version__} goes up to {_max_opset(onnx)}), got {opset!r}")
    size = model.input_size if input_size is None else int(input_size)
    if size < MIN_INPUT_SIZE:
        raise ValueError(f"export_onnx: input_size must be >= {MIN_INPUT_SIZE}, got {size}")

    b = _GraphBuilder(onnx)
    x, taps = _trunk(b, model, INPUT_NAME, (size, size))
    logits_out = _head(b, model, x, taps["fire9"][1], taps)
    b.node("Softmax", [logits_out], "softmax", output=PROBS_NAME, axis=1)

    T = onnx.TensorProto.FLOAT
    vi = onnx.helper.make_tensor_value_info
    inputs = [vi(INPUT_NAME, T, ["batch", model.in_channels, size, size])]
    outputs = [vi(PROBS_NAME, T, ["batch", model.num_classes])]
    if logits:
        outputs.append(vi(LOGITS_NAME, T, ["batch", model.num_classes]))
    graph = onnx.helper.make_graph(b.nodes, str(model.name), inputs, outputs, initializer=b.inits)
    opsets = [onnx.helper.make_opsetid("", int(opset))]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="squeezenp",
                                   producer_version=__version__,
                                   doc_string=f"squeezenp {model.name}: {model!r}; evaluation mode, dropout omitted")
    # the oldest IR version that knows this opset, so older runtimes can read the file
    proto.ir_version = int(onnx.helper.find_min_ir_version_for(opsets))
    onnx.helper.set_model_props(proto, metadata(model, size, class_names))
    return proto


def export_onnx(model, path, opset: int = DEFAULT_OPSET, logits: bool = True, input_size: int | None = None,
                class_names=None, check: bool = True) -> Path:
    """Write ``model`` (any of the four networks, evaluation mode) to ``path`` as ONNX; returns the path.

    Parameters
    ----------
    model : squeezenp.models.Model
    path : str or Path
        Written atomically (temporary file in the same folder, fsync, ``os.replace``).
    opset : int
        ONNX opset of the default domain, 13 .. the newest the installed ``onnx`` knows (default 17).
    logits : bool
        Also output ``logits`` (batch, num_classes) next to ``probabilities``.
    input_size : int, optional
        H = W of the graph's input; default ``model.input_size``. The batch dimension is always dynamic.
    class_names : list of str, optional
        Stored in the metadata; default ``("NonCOVID", "COVID")`` for two classes, else ``class0..``.
    check : bool
        Run ``onnx.checker.check_model(full_check=True)`` before writing.

    Raises
    ------
    OnnxUnavailableError (an ImportError) if ``onnx`` is not installed; ValueError for a bad opset or size.
    """
    onnx = require_onnx()
    proto = build_onnx_model(model, opset=opset, logits=logits, input_size=input_size, class_names=class_names)
    if check:
        onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    return atomic_write(path, lambda f: f.write(data))


def verify_onnx(model, path, x) -> dict[str, float]:
    """Run the exported file in onnxruntime on ``x`` (N, C, H, W) and compare with ``model``.

    Returns ``{"probabilities": max abs difference, "logits": ... (if the file outputs them)}``.
    Raises ImportError if onnxruntime is absent (``pip install onnxruntime``).
    """
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ImportError(f"verifying an ONNX export needs onnxruntime: pip install onnxruntime ({e})") from None
    from ..functional import softmax
    x = np.ascontiguousarray(x, dtype=np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, {INPUT_NAME: x})))
    logits = model.forward(x, training=False)
    diff = {PROBS_NAME: float(np.max(np.abs(got[PROBS_NAME] - softmax(logits))))}
    if LOGITS_NAME in got:
        diff[LOGITS_NAME] = float(np.max(np.abs(got[LOGITS_NAME] - logits)))
    return diff


__all__ = ["export_onnx", "verify_onnx", "build_onnx_model", "metadata", "require_onnx", "OnnxUnavailableError",
           "DEFAULT_OPSET", "INPUT_NAME", "PROBS_NAME", "LOGITS_NAME"]
