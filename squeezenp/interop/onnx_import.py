"""Import the weights of an ONNX SqueezeNet 1.1 (ONNX model zoo, torchvision export, or our own export).

Teaches: matching weights by graph structure instead of by name. Initializer names differ between exporters
(``features.0.weight`` from ``torch.onnx.export``, ``squeezenet0_conv0_weight`` in the model zoo,
``onnx::Conv_123`` from newer torch), but the graph of SqueezeNet 1.1 is always the same: 26 Conv nodes in
topological order ::

    conv1 (3x3/2, 64) | fire2..fire9: squeeze1x1, then expand1x1 and expand3x3 fed by the squeeze | conv10 (1x1)

so we walk the Conv nodes in order, check that the two expand convs of every fire read the squeeze conv's
output (through Relu, Elu, BatchNormalization, ...), tell them apart by kernel size (1x1 / 3x3), and check every
shape against SqueezeNet 1.1 before copying anything. Tests: ``tests/interop/test_onnx.py``; usage ``docs/onnx.md``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .onnx_export import require_onnx

FIRES = [f"fire{i}" for i in range(2, 10)]
N_CONVS = 2 + 3 * len(FIRES)     # conv1, 3 per fire, conv10 = 26
# single-input ops that may sit between a squeeze conv and the expand convs (activation, norm, no-op)
_PASS_THROUGH = {"Relu", "Elu", "LeakyRelu", "Clip", "BatchNormalization", "Identity", "Dropout", "Sigmoid"}


def _label(node):
    return repr(node.name or node.output[0])


def _expected_shapes():
    """Weight shapes of SqueezeNet 1.1 (torchvision squeezenet1_1), classifier excepted; conv1's input
    channels are free (None): 3 for ImageNet, 1 for a gray-input squeezenp network."""
    from ..models.networks import FIRE_SPECS
    shapes = {"conv1": (64, None, 3, 3)}
    for f, (cin, s, e1, e3) in FIRE_SPECS.items():
        shapes.update({f"{f}.squeeze1x1": (s, cin, 1, 1), f"{f}.expand1x1": (e1, s, 1, 1),
                       f"{f}.expand3x3": (e3, s, 3, 3)})
    return shapes


def _load(onnx, path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX file not found: {path}")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:   # DecodeError on random bytes or a truncated file, ...
        raise ValueError(f"{path} is not a readable ONNX model (expected an ONNX ModelProto of SqueezeNet 1.1): "
                         f"{type(e).__name__}: {e}") from None
    if not proto.HasField("graph") or len(proto.graph.node) == 0:
        raise ValueError(f"{path}: expected an ONNX model of SqueezeNet 1.1, found a file with no graph nodes "
                         f"(not an ONNX model, or an empty one)")
    return proto


def _constants(onnx, graph, path):
    """Every initializer and Constant-node tensor by name, as float32/int arrays."""
    out = {}
    for t in graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ValueError(f"{path}: initializer {t.name!r} is stored in an external data file; "
                             f"expected weights inside the .onnx file")
        try:
            out[t.name] = onnx.numpy_helper.to_array(t)
        except Exception as e:
            raise ValueError(f"{path}: initializer {t.name!r} cannot be read (truncated or corrupt file?): "
                             f"{type(e).__name__}: {e}") from None
    for node in graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    out[node.output[0]] = onnx.numpy_helper.to_array(a.t)
    return out


def _topological(graph):
    """Nodes in a topological order (graph order where it already is one; ONNX requires that)."""
    produced = {}
    for i, n in enumerate(graph.node):
        for o in n.output:
            produced[o] = i
    deps = [{produced[x] for x in n.input if x in produced and produced[x] != i} for i, n in enumerate(graph.node)]
    done, order, pending = set(), [], list(range(len(graph.node)))
    while pending:
        rest = [i for i in pending if not deps[i] <= done]
        ready = [i for i in pending if deps[i] <= done]
        if not ready:
            raise ValueError("the ONNX graph has a cycle; expected a feed-forward SqueezeNet 1.1")
        order += ready
        done.update(ready)
        pending = rest
    return [graph.node[i] for i in order]


def _attrs(onnx, node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _check_conv(onnx, node, key, path):
    """Stride/padding/group/dilation of SqueezeNet 1.1's convs: conv1 3x3/2 pad 0, expand3x3 pad 1, rest 1x1."""
    a = _attrs(onnx, node)
    strides = list(a.get("strides", [1, 1]))
    want_stride = [2, 2] if key == "conv1" else [1, 1]
    pad = 1 if key.endswith("expand3x3") else 0
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER") and pad == 1 and strides == [1, 1]:
        pads = [1, 1, 1, 1]
    elif auto == "VALID":
        pads = [0, 0, 0, 0]
    else:
        pads = list(a.get("pads", [0, 0, 0, 0]))
    problems = []
    if strides != want_stride:
        problems.append(f"strides {want_stride} expected, found {strides}")
    if pads != [pad] * 4:
        problems.append(f"pads {[pad] * 4} expected, found {pads}")
    if int(a.get("group", 1)) != 1:
        problems.append(f"group 1 expected, found {a['group']}")
    if list(a.get("dilations", [1, 1])) != [1, 1]:
        problems.append(f"dilations [1, 1] expected, found {list(a['dilations'])}")
    if problems:
        raise ValueError(f"{path}: Conv node {_label(node)} (SqueezeNet 1.1's {key}): "
                         + "; ".join(problems))


def read_onnx_squeezenet(path) -> dict[str, np.ndarray]:
    """The 52 weights of an ONNX SqueezeNet 1.1 under squeezenp's state-dict keys (``conv1.weight``, ...,
    ``fire9.expand3x3.bias``, ``conv10.weight``), float32; conv10 may have any number of classes.

    Raises ValueError naming what was expected and found (unreadable file, wrong Conv count, structure, shape).
    """
    onnx = require_onnx("ONNX import")
    proto = _load(onnx, path)
    graph = proto.graph
    consts = _constants(onnx, graph, path)
    nodes = _topological(graph)
    producer = {o: n for n in nodes for o in n.output}
    convs = [n for n in nodes if n.op_type == "Conv"]
    if len(convs) != N_CONVS:
        ops = sorted({n.op_type for n in nodes})
        raise ValueError(f"{path}: expected an ONNX SqueezeNet 1.1 with {N_CONVS} Conv nodes (conv1, 8 fire "
                         f"modules x 3, conv10), found {len(convs)} Conv nodes among {len(nodes)} nodes "
                         f"(operators: {', '.join(ops)})")

    def weights(node, key):
        if len(node.input) < 2 or node.input[1] not in consts:
            raise ValueError(f"{path}: the weight of Conv node {_label(node)} ({key}) is not a "
                             f"constant (initializer or Constant node); expected stored weights")
        W = np.asarray(consts[node.input[1]])
        b = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if b is None:
            b = np.zeros(W.shape[0], dtype=np.float32)
        if W.dtype.kind != "f" or np.asarray(b).dtype.kind != "f":
            raise ValueError(f"{path}: {key}: expected float weights, found {W.dtype} / {np.asarray(b).dtype}")
        return W.astype(np.float32), np.asarray(b, dtype=np.float32)

    def source_conv(tensor):
        """The Conv node whose output reaches ``tensor`` through single-input pass-through ops."""
        while tensor in producer:
            n = producer[tensor]
            if n.op_type == "Conv":
                return n
            if n.op_type not in _PASS_THROUGH:
                return None
            tensor = n.input[0]
        return None

    out = {}

    def take(node, key):
        _check_conv(onnx, node, key, path)
        out[f"{key}.weight"], out[f"{key}.bias"] = weights(node, key)

    take(convs[0], "conv1")
    for k, fire in enumerate(FIRES):
        squeeze, pair = convs[1 + 3 * k], convs[2 + 3 * k:4 + 3 * k]
        for e in pair:
            if source_conv(e.input[0]) is not squeeze:
                raise ValueError(f"{path}: expected Conv node {_label(e)} to be an expand conv of {fire} reading "
                                 f"the squeeze conv {_label(squeeze)}, found it reads {e.input[0]!r} "
                                 f"(Conv nodes {2 + 3 * k}-{3 + 3 * k} of {N_CONVS}); not a SqueezeNet 1.1 fire module")
        kernels = [tuple(consts[e.input[1]].shape[2:]) if e.input[1] in consts else None for e in pair]
        if sorted(kernels, key=str) != [(1, 1), (3, 3)]:
            raise ValueError(f"{path}: {fire}: expected one 1x1 and one 3x3 expand conv, found kernels {kernels}")
        e1, e3 = pair if kernels[0] == (1, 1) else pair[::-1]
        _check_concat_order(producer, nodes, e1, e3, fire, path)
        take(squeeze, f"{fire}.squeeze1x1")
        take(e1, f"{fire}.expand1x1")
        take(e3, f"{fire}.expand3x3")
    take(convs[-1], "conv10")

    shapes = _expected_shapes()
    problems = []
    for key, shape in shapes.items():
        W = out[f"{key}.weight"]
        want = shape if shape[1] is not None else (shape[0], W.shape[1]) + shape[2:]
        if W.shape != want:
            problems.append(f"{key}.weight: expected {want}, found {W.shape}")
        if out[f"{key}.bias"].shape != (W.shape[0],):
            problems.append(f"{key}.bias: expected ({W.shape[0]},), found {out[f'{key}.bias'].shape}")
    W10 = out["conv10.weight"]
    if W10.ndim != 4 or W10.shape[1:] != (512, 1, 1):
        problems.append(f"conv10.weight: expected (num_classes, 512, 1, 1), found {W10.shape}")
    if problems:
        raise ValueError(f"{path}: not SqueezeNet 1.1 shapes: " + "; ".join(problems))
    return out


def _check_concat_order(producer, nodes, e1, e3, fire, path):
    """The fire's Concat must put expand1x1 first (torchvision, Caffe, Matlab); the next layer's weights
    assume that channel order."""
    reach = {}
    for n in nodes:
        if n.op_type == "Concat":
            srcs = []
            for t in n.input:
                while t in producer and producer[t].op_type in _PASS_THROUGH:
                    t = producer[t].input[0]
                srcs.append(producer.get(t))
            if any(s is e1 for s in srcs) and any(s is e3 for s in srcs):
                reach = {id(s): k for k, s in enumerate(srcs)}
                break
    if reach and reach.get(id(e1), 0) > reach.get(id(e3), 1):
        raise ValueError(f"{path}: {fire}: expected the Concat to put expand1x1 before expand3x3 (SqueezeNet "
                         f"1.1's channel order), found expand3x3 first")


def import_onnx_squeezenet(model, path) -> dict:
    """Copy the weights of an ONNX SqueezeNet 1.1 into ``model`` (a squeezenp network), in place.

    A second pretrained source next to ``squeezenp.models.load_torchvision_squeezenet``. Every conv of the
    trunk (conv1, fire2..fire9) must match in shape (ValueError otherwise); conv10 is copied when its shape
    matches the model's classifier and reported as skipped otherwise (e.g. ImageNet's 1000 classes into a
    2-class network). In the proposed network the batch norms, upconv, conv_fuse and its 128-channel conv10
    keep their values and are reported as skipped.

    Returns
    -------
    report : dict
        ``loaded``: our keys copied; ``skipped``: ``{our key: reason}``; ``path``; ``source``: ``"onnx"``.
        Also stored as ``model.pretrained_report``; ``model.config["pretrained"]`` is set to the path.
    """
    from ..models import Model
    if not isinstance(model, Model):
        raise TypeError(f"import_onnx_squeezenet: expected a squeezenp network, got {type(model).__name__}")
    src = read_onnx_squeezenet(path)
    own = model.state_dict()
    mismatch = [f"{k}: model has {own[k].shape}, file has {v.shape}" for k, v in src.items()
                if not k.startswith("conv10.") and k in own and own[k].shape != v.shape]
    if mismatch:
        raise ValueError(f"{path}: the ONNX SqueezeNet does not fit {model.name!r}: " + "; ".join(mismatch))
    loaded, skipped = [], {}
    for k, v in src.items():
        weight = k.rsplit(".", 1)[0] + ".weight"   # a layer's weight and bias go together
        if k not in own:
            skipped[k] = "not in this network"
        elif own[weight].shape != src[weight].shape:
            skipped[k] = (f"{weight} has shape {src[weight].shape} in the file, {own[weight].shape} in the model "
                          f"(classifier kept)")
        else:
            own[k][...] = v
            loaded.append(k)
    for k in own:
        if k not in loaded and k not in skipped:
            skipped[k] = "no counterpart in SqueezeNet 1.1 (kept its initial value)"
    report = {"loaded": loaded, "skipped": skipped, "path": str(path), "source": "onnx"}
    model.pretrained_report = report
    model.config["pretrained"] = str(path)
    return report


__all__ = ["import_onnx_squeezenet", "read_onnx_squeezenet", "N_CONVS"]
