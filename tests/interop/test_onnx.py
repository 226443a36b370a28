"""ONNX export and import: onnxruntime against squeezenp on every network, the graph's interface and
metadata, atomic writing, the missing-``onnx`` message, the SqueezeNet 1.1 import by graph structure and its
errors. Small inputs (64x64, 72x72 where the ceil-mode pools round up; one 227x227 run of the proposed net)."""
import builtins
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (pip install squeezenp[onnx])")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install squeezenp[test])")
from onnx import helper, numpy_helper  # noqa: E402

from squeezenp import __version__  # noqa: E402
from squeezenp.app.cli import main  # noqa: E402
from squeezenp.data import CLASS_NAMES, NORMALISATION, make_phantom_dataset, to_network_input  # noqa: E402
from squeezenp.functional import softmax  # noqa: E402
from squeezenp.models import SqueezeNet, available, create, default_pretrained_path, save_model  # noqa: E402
from squeezenp.interop.onnx_export import OnnxUnavailableError, export_onnx, verify_onnx  # noqa: E402
from squeezenp.interop.onnx_import import import_onnx_squeezenet, read_onnx_squeezenet  # noqa: E402

TOL = 1e-4
SIZE = 64
ALLOWED_OPS = {"Conv", "ConvTranspose", "BatchNormalization", "Elu", "Relu", "MaxPool", "Concat", "Add",
               "GlobalAveragePool", "Flatten", "Softmax", "Slice", "Pad"}
MAX_DIFF = {}   # network -> largest |onnxruntime - squeezenp| seen (printed at the end with -s)


def _trained_like(model, seed=0):
    """Weights that look trained: batch-norm statistics away from (0, 1) (so BatchNormalization is really
    exercised) and a classifier scaled to the features, with a positive bias before SqueezeNet's ReLU, so that
    the logits spread over a few units and the probabilities are far from 1/2 (an untrained conv10 gives
    SqueezeNet logits of exactly 0, which would make the comparison vacuous)."""
    rng = np.random.default_rng(seed)
    for k, v in model.state_dict().items():
        if k.endswith("running_var"):
            v[...] = rng.uniform(0.5, 2.0, v.shape)
        elif k.endswith(("running_mean", "bn.bias")):
            v[...] = rng.normal(0.0, 0.3, v.shape)
        elif k.endswith("bn.weight"):
            v[...] = rng.uniform(0.5, 1.5, v.shape)
    feats = model.features(_phantom_batch(2, model.input_size))
    W = model.conv10.params["weight"]
    rms = np.sqrt(np.mean(feats.astype(np.float64) ** 2))
    W[...] = rng.normal(0.0, 1.0 / (rms * np.sqrt(W.shape[1])), W.shape)
    model.conv10.params["bias"][...] = 0.0 if model.name == "proposed" else 2.0
    return model


def _network(name, size=SIZE, seed=1):
    if name == "squeezenet_bypass_transfer" and default_pretrained_path() is not None:
        model = create(name, input_size=size, seed=seed)      # network 3 = network 2 + ImageNet weights
    elif name == "squeezenet_bypass_transfer":
        model = SqueezeNet(bypass=True, name=name, input_size=size, seed=seed)
    else:
        model = create(name, input_size=size, seed=seed)
    return _trained_like(model)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{name: (model, path, session)} for the four networks at 64x64."""
    root = tmp_path_factory.mktemp("onnx")
    out = {}
    for name in available():
        model = _network(name)
        path = export_onnx(model, root / f"{name}.onnx")
        out[name] = (model, path, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    return out


def _compare(name, model, sess, x):
    probs, logits = sess.run(["probabilities", "logits"], {"input": x})
    ours = model.forward(x, training=False)
    d = max(float(np.abs(probs - softmax(ours)).max()), float(np.abs(logits - ours).max()))
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), d)
    assert probs.shape == logits.shape == (x.shape[0], model.num_classes)
    assert np.abs(ours).max() > 0.1, "vacuous comparison: the logits are all near 0"
    np.testing.assert_allclose(probs, softmax(ours), rtol=0, atol=TOL)
    np.testing.assert_allclose(logits, ours, rtol=0, atol=TOL)
    return probs


def _phantom_batch(n, size, seed=0):
    images, _, _ = make_phantom_dataset(n, size=96, seed=seed)   # n NonCOVID then n COVID
    return np.stack([to_network_input(g, size) for g in images])


# --- onnxruntime == squeezenp -------------------------------------------------------------------------
@pytest.mark.parametrize("name", available())
@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_matches_squeezenp_on_random_inputs(exported, name, batch):
    model, _, sess = exported[name]
    x = np.random.default_rng(batch).normal(size=(batch, 3, SIZE, SIZE)).astype(np.float32)
    probs = _compare(name, model, sess, x)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("name", available())
def test_onnxruntime_matches_squeezenp_on_phantoms(exported, name):
    model, _, sess = exported[name]
    x = _phantom_batch(2, SIZE)
    _compare(name, model, sess, x[:3])
    _compare(name, model, sess, x[3:])


@pytest.mark.parametrize("name,size", [("proposed", 227), ("proposed", 72), ("squeezenet_bypass", 72)])
def test_other_input_sizes(tmp_path, name, size):
    """227: the paper's size, the upconv output matches fire3 exactly (no Pad); 72: the pools' ceil mode
    rounds up (8 -> 4) and the proposed net pads the upconv output 16 -> 17."""
    model = _network(name, size=size)
    path = export_onnx(model, tmp_path / "m.onnx")
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    if name == "proposed":
        assert ("Pad" in ops) == (size != 227)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(3, 3, size, size)).astype(np.float32)
    _compare(f"{name}@{size}", model, sess, x)
    _compare(f"{name}@{size}", model, sess, _phantom_batch(1, size)[:1])


def test_crop_branch_when_the_upconv_is_larger(tmp_path):
    """Force the Slice path: export at a size where the 4x upconv output exceeds fire3's map."""
    from squeezenp.interop.onnx_export import _GraphBuilder
    b = _GraphBuilder(onnx)
    y = b.crop_or_pad("x", (20, 12), (17, 15), "crop")
    vi = helper.make_tensor_value_info
    g = helper.make_graph(b.nodes, "crop", [vi("x", onnx.TensorProto.FLOAT, [2, 3, 20, 12])],
                          [vi(y, onnx.TensorProto.FLOAT, [2, 3, 17, 15])], initializer=b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    from squeezenp.layers import CropOrPad2d
    x = np.random.default_rng(0).normal(size=(2, 3, 20, 12)).astype(np.float32)
    got = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, CropOrPad2d().forward(x, (17, 15)))


# --- the file ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", available())
def test_file_passes_the_full_checker_and_uses_standard_operators(exported, name):
    model, path, _ = exported[name]
    onnx.checker.check_model(str(path), full_check=True)
    m = onnx.load(str(path))
    ops = {n.op_type for n in m.graph.node}
    assert ops <= ALLOWED_OPS, ops - ALLOWED_OPS
    assert "Dropout" not in ops
    assert ("BatchNormalization" in ops) == (name == "proposed")
    assert ("ConvTranspose" in ops) == (name == "proposed")
    assert ("Add" in ops) == name.startswith("squeezenet_bypass")
    pools = [n for n in m.graph.node if n.op_type == "MaxPool"]
    assert len(pools) == 3 and all(helper.get_attribute_value(a) == 1 for p in pools for a in p.attribute
                                   if a.name == "ceil_mode")
    inits = {t.name for t in m.graph.initializer}
    assert set(model.state_dict()) <= inits        # initializers carry the state-dict names
    assert m.opset_import[0].version == 17


def test_interface_dynamic_batch_and_metadata(exported):
    model, path, sess = exported["proposed"]
    m = onnx.load(str(path))
    (inp,) = m.graph.input
    dims = inp.type.tensor_type.shape.dim
    assert inp.name == "input" and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, SIZE, SIZE]
    assert [o.name for o in m.graph.output] == ["probabilities", "logits"]
    assert [o.name for o in sess.get_outputs()] == ["probabilities", "logits"]
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["model_name"] == "proposed"
    assert json.loads(meta["class_names"]) == list(CLASS_NAMES)
    assert json.loads(meta["input_size"]) == [SIZE, SIZE]
    assert meta["squeezenp_version"] == __version__
    assert json.loads(meta["normalisation"])["mean"] == NORMALISATION["mean"]
    pre = json.loads(meta["preprocessing"])
    assert pre["size"] == [SIZE, SIZE] and len(pre["mean"]) == 3
    assert json.loads(meta["config"])["name"] == "proposed"
    assert m.producer_name == "squeezenp"


def test_no_logits_opset_13_and_bad_arguments(tmp_path):
    model = _network("squeezenet")
    path = export_onnx(model, tmp_path / "p.onnx", opset=13, logits=False, class_names=["healthy", "covid"])
    m = onnx.load(str(path))
    assert [o.name for o in m.graph.output] == ["probabilities"] and m.opset_import[0].version == 13
    assert json.loads({p.key: p.value for p in m.metadata_props}["class_names"]) == ["healthy", "covid"]
    x = np.random.default_rng(0).normal(size=(3, 3, SIZE, SIZE)).astype(np.float32)
    assert verify_onnx(model, path, x)["probabilities"] < TOL
    with pytest.raises(ValueError, match="opset must be an int in"):
        export_onnx(model, tmp_path / "q.onnx", opset=12)
    with pytest.raises(ValueError, match="3 class names given for 2 classes"):
        export_onnx(model, tmp_path / "q.onnx", class_names=["a", "b", "c"])
    with pytest.raises(TypeError, match="squeezenp network"):
        export_onnx(object(), tmp_path / "q.onnx")
    assert not (tmp_path / "q.onnx").exists()


def test_write_is_atomic(tmp_path, monkeypatch):
    model = _network("squeezenet")
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")

    def fail(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        export_onnx(model, target)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    monkeypatch.undo()
    export_onnx(model, target)
    onnx.checker.check_model(str(target), full_check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


# --- onnx missing ---------------------------------------------------------------------------------------
@pytest.fixture
def no_onnx(monkeypatch):
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake)


def test_missing_onnx_says_how_to_install(tmp_path, no_onnx, capsys):
    model = _network("squeezenet")
    hint = r"needs the 'onnx' package: pip install squeezenp\[onnx\]"
    with pytest.raises(OnnxUnavailableError, match="ONNX export " + hint):
        export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ImportError, match="ONNX import " + hint):
        import_onnx_squeezenet(model, tmp_path / "m.onnx")
    assert main(["export", "squeezenet", "--input-size", "40", "--onnx", str(tmp_path / "c.onnx")]) == 1
    assert "pip install squeezenp[onnx]" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_squeezenp_does_not_import_onnx_until_asked():
    code = ("import sys, squeezenp.interop.onnx_export, squeezenp.interop.onnx_import, squeezenp.models, "
            "squeezenp.app.cli;"
            "squeezenp.app.cli.build_parser(); print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- command line --------------------------------------------------------------------------------------
def test_cli_exports_a_saved_model(tmp_path, capsys):
    model = _network("proposed")
    save_model(model, tmp_path / "model.npz")
    out = tmp_path / "sub" / "model.onnx"
    assert main(["export", str(tmp_path / "model.npz"), "--onnx", str(out), "--verify"]) == 0
    text = capsys.readouterr().out
    assert "wrote" in text and "probabilities" in text and "max abs difference" in text
    m = onnx.load(str(out))
    assert {p.key: p.value for p in m.metadata_props}["model_name"] == "proposed"
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    _compare("proposed", model, sess, _phantom_batch(1, SIZE)[:1])
    assert main(["export", "squeezenet_bypass", "--input-size", "40", "--no-logits", "--onnx",
                 str(tmp_path / "u.onnx")]) == 0
    assert [o.name for o in onnx.load(str(tmp_path / "u.onnx")).graph.output] == ["probabilities"]
    assert main(["export", str(tmp_path / "missing.npz"), "--onnx", str(tmp_path / "x.onnx")]) == 1


# --- import -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["squeezenet", "squeezenet_bypass"])
def test_round_trip_import_gives_identical_outputs(exported, source):
    src_model, path, _ = exported[source]
    target = create(source, input_size=SIZE, seed=7)
    report = import_onnx_squeezenet(target, path)
    assert len(report["loaded"]) == 52 and report["skipped"] == {} and report["source"] == "onnx"
    assert target.pretrained_report is report and target.config["pretrained"] == str(path)
    for k, v in src_model.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[k], v, err_msg=k)
    x = _phantom_batch(2, SIZE)
    np.testing.assert_array_equal(target.forward(x, training=False), src_model.forward(x, training=False))


def test_import_into_the_proposed_network_copies_the_trunk_only(exported):
    _, path, _ = exported["squeezenet"]
    model = create("proposed", input_size=SIZE, seed=3)
    report = import_onnx_squeezenet(model, path)
    assert len(report["loaded"]) == 50          # conv1 + 8 x 3 convs, weight and bias
    assert "classifier kept" in report["skipped"]["conv10.weight"]
    assert "upconv.weight" in report["skipped"] and "fire2.bn.running_var" in report["skipped"]


def _rebuild(path, edit):
    """Load ``path``, apply ``edit(model_proto)``, return the serialised bytes."""
    m = onnx.load(str(path))
    edit(m)
    return m.SerializeToString()


def _rename_like_model_zoo(m):
    """Model-zoo style: arbitrary initializer and tensor names, a Dropout before conv10, graph order of
    expand3x3 and expand1x1 swapped in fire5 (still a topological order)."""
    names = {}
    for i, t in enumerate(m.graph.initializer):
        names[t.name] = f"squeezenet0_conv{i // 2}_{'weight' if i % 2 == 0 else 'bias'}"
        t.name = names[t.name]
    for j, n in enumerate(m.graph.node):
        n.name = f"squeezenet0_node{j}"
        for k, x in enumerate(n.input):
            n.input[k] = names.get(x, x)
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    c10 = convs[-1]
    drop_out = "squeezenet0_dropout0_fwd"
    drop = helper.make_node("Dropout", [c10.input[0]], [drop_out], name="squeezenet0_dropout0")
    c10.input[0] = drop_out
    nodes = list(m.graph.node)
    nodes.insert(nodes.index(c10), drop)
    e1, e3 = convs[1 + 3 * 3 + 1], convs[1 + 3 * 3 + 2]
    i1, i3 = nodes.index(e1), nodes.index(e3)       # [e1, relu, e3, relu] -> [e3, relu, e1, relu]
    assert i3 == i1 + 2
    nodes[i1:i1 + 4] = nodes[i3:i3 + 2] + nodes[i1:i1 + 2]
    del m.graph.node[:]
    m.graph.node.extend(nodes)


def test_import_matches_by_structure_not_by_name(exported, tmp_path):
    src_model, path, _ = exported["squeezenet"]
    zoo = tmp_path / "zoo.onnx"
    zoo.write_bytes(_rebuild(path, _rename_like_model_zoo))
    onnx.checker.check_model(str(zoo), full_check=True)
    assert not any(t.name.startswith(("conv1", "fire")) for t in onnx.load(str(zoo)).graph.initializer)
    target = create("squeezenet", input_size=SIZE, seed=9)
    import_onnx_squeezenet(target, zoo)
    for k, v in src_model.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[k], v, err_msg=k)


def _single_gemm(m):
    del m.graph.node[:], m.graph.initializer[:], m.graph.input[:], m.graph.output[:]
    m.graph.initializer.append(numpy_helper.from_array(np.ones((4, 2), np.float32), "W"))
    m.graph.node.append(helper.make_node("Gemm", ["x", "W"], ["y"]))
    m.graph.input.append(helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4]))
    m.graph.output.append(helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2]))


def _drop_fire9(m):
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    for n in convs[22:25]:
        m.graph.node.remove(n)


def _widen_fire4_squeeze(m):
    for t in m.graph.initializer:
        if t.name == "fire4.squeeze1x1.weight":
            t.CopyFrom(numpy_helper.from_array(np.zeros((33, 128, 1, 1), np.float32), t.name))


def _swap_concat(m):
    concat = next(n for n in m.graph.node if n.op_type == "Concat")
    concat.input[0], concat.input[1] = concat.input[1], concat.input[0]


def _stride_expand(m):
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    for a in convs[3].attribute:
        if a.name == "pads":
            a.CopyFrom(helper.make_attribute("pads", [0, 0, 0, 0]))


@pytest.mark.parametrize("kind,match", [
    ("random", r"not a readable ONNX model \(expected an ONNX ModelProto"),
    ("truncated", r"not a readable ONNX model|expected an ONNX model of SqueezeNet 1.1|cannot be read"),
    ("empty", r"found a file with no graph nodes"),
    ("gemm", r"expected an ONNX SqueezeNet 1.1 with 26 Conv nodes .* found 0 Conv nodes .*Gemm"),
    ("fewer", r"with 26 Conv nodes .* found 23 Conv nodes"),
    ("proposed", r"with 26 Conv nodes .* found 27 Conv nodes .*ConvTranspose"),
    ("shape", r"fire4.squeeze1x1.weight: expected \(32, 128, 1, 1\), found \(33, 128, 1, 1\)"),
    ("concat", r"fire2: expected the Concat to put expand1x1 before expand3x3"),
    ("pads", r"fire2.expand3x3\): pads \[1, 1, 1, 1\] expected, found \[0, 0, 0, 0\]"),
])
def test_bad_or_foreign_files_raise_value_error(exported, tmp_path, kind, match):
    path = exported["squeezenet"][1]
    data = path.read_bytes()
    bad = tmp_path / f"{kind}.onnx"
    bad.write_bytes({
        "random": lambda: np.random.default_rng(0).bytes(4096),
        "truncated": lambda: data[:len(data) // 3],
        "empty": lambda: b"",
        "gemm": lambda: _rebuild(path, _single_gemm),
        "fewer": lambda: _rebuild(path, _drop_fire9),
        "proposed": lambda: exported["proposed"][1].read_bytes(),
        "shape": lambda: _rebuild(path, _widen_fire4_squeeze),
        "pads": lambda: _rebuild(path, _stride_expand),
        "concat": lambda: _rebuild(path, _swap_concat),
    }[kind]())
    model = create("squeezenet", input_size=SIZE, seed=5)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=match):
        import_onnx_squeezenet(model, bad)
    for k, v in model.state_dict().items():    # nothing half-loaded
        np.testing.assert_array_equal(v, before[k])


def test_import_errors_for_the_target(exported, tmp_path):
    path = exported["squeezenet"][1]
    with pytest.raises(FileNotFoundError, match="ONNX file not found"):
        import_onnx_squeezenet(create("squeezenet", input_size=SIZE), tmp_path / "nope.onnx")
    gray = create("squeezenet", input_size=SIZE, in_channels=1)
    with pytest.raises(ValueError, match=r"conv1.weight: model has \(64, 1, 3, 3\), file has \(64, 3, 3, 3\)"):
        import_onnx_squeezenet(gray, path)
    assert read_onnx_squeezenet(path)["conv10.weight"].shape == (2, 512, 1, 1)


def test_print_max_differences(exported):
    """Every network's largest difference is float32 rounding (docs/onnx.md states them, all below 1e-6), well
    inside the 1e-4 that the other tests allow; with ``pytest -s`` prints them (on phantoms, plus whatever the
    tests before it measured)."""
    for name in available():
        model, _, sess = exported[name]
        _compare(name, model, sess, _phantom_batch(2, SIZE, seed=3))
    assert set(MAX_DIFF) >= set(available())
    for name, d in sorted(MAX_DIFF.items()):
        print(f"max |onnxruntime - squeezenp| {name}: {d:.2e}")
        assert d <= 1e-5, (name, d)


def test_import_of_a_torch_export_of_a_hand_built_squeezenet(tmp_path):
    """torchvision's squeezenet1_1 written out (torchvision itself is not needed), exported by torch.onnx
    (initializers named ``features.3.squeeze.weight``), imported by structure; outputs equal torch's."""
    torch = pytest.importorskip("torch", reason="torch is not installed (optional: pip install torch==2.13.0)")
    nn = torch.nn

    class Fire(nn.Module):
        def __init__(self, c, s, e1, e3):
            super().__init__()
            self.squeeze, self.expand1x1 = nn.Conv2d(c, s, 1), nn.Conv2d(s, e1, 1)
            self.expand3x3 = nn.Conv2d(s, e3, 3, padding=1)

        def forward(self, x):
            x = torch.relu(self.squeeze(x))
            return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)

    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)   # noqa: E731
    features = nn.Sequential(nn.Conv2d(3, 64, 3, stride=2), nn.ReLU(), pool(), Fire(64, 16, 64, 64),
                             Fire(128, 16, 64, 64), pool(), Fire(128, 32, 128, 128), Fire(256, 32, 128, 128),
                             pool(), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                             Fire(512, 64, 256, 256))
    classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(512, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                               nn.Flatten())
    torch.manual_seed(0)
    net = nn.Sequential()
    net.features, net.classifier = features, classifier      # torchvision's state-dict names
    with torch.no_grad():
        classifier[1].weight.mul_(20.0)
        classifier[1].bias.fill_(1.0)
    net.eval()
    x = torch.from_numpy(_phantom_batch(1, 72)).float()     # 72: the ceil-mode pools round up (8 -> 4)
    path = tmp_path / "torch_squeezenet.onnx"
    with warnings.catch_warnings():   # "legacy TorchScript-based ONNX export": the new one needs onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(path), input_names=["x"], output_names=["y"], opset_version=17,
                          dynamo=False)
    assert any(t.name == "features.3.squeeze.weight" for t in onnx.load(str(path)).graph.initializer)
    ours = create("squeezenet", input_size=72, seed=5)
    report = import_onnx_squeezenet(ours, path)
    assert len(report["loaded"]) == 52
    with torch.no_grad():
        ref = net(x).numpy()
    assert np.abs(ref).max() > 0.1
    np.testing.assert_allclose(ours.forward(x.numpy(), training=False), ref, rtol=0, atol=TOL)
