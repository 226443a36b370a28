"""The four networks: API contract, shapes, names, parameter counts, determinism, bypass, CAM hooks."""
import re
from pathlib import Path

import numpy as np
import pytest

import squeezenp.models as M
from squeezenp.models import create

from model_testutils import SMALL

NAMES = ["squeezenet", "squeezenet_bypass", "proposed"]      # the transfer net needs the weights file
DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _x(n=2, size=SMALL, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(dtype)


def test_available():
    assert M.available() == ["squeezenet", "squeezenet_bypass", "squeezenet_bypass_transfer", "proposed"]
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        create("nope")


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_shapes_and_config(name):
    m = create(name, num_classes=3, input_size=SMALL)
    assert m.config["name"] == name and m.config["num_classes"] == 3 and m.config["input_size"] == SMALL
    assert m.config["in_channels"] == 3 and len(m.config["preprocessing"]["mean"]) == 3
    x = _x()
    x0 = x.copy()
    logits = m.forward(x)
    assert logits.shape == (2, 3) and logits.dtype == np.float32
    dl = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    dx = m.backward(dl)
    assert dx.shape == x.shape and dx.dtype == np.float32
    np.testing.assert_array_equal(x, x0)
    for k, p, g in m.named_parameters():
        assert g.shape == p.shape and g.dtype == p.dtype, k
    p = m.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    assert m.predict(x).shape == (2,)


def test_state_dict_names():
    keys = list(create("proposed").state_dict())
    assert keys[:2] == ["conv1.weight", "conv1.bias"]
    for k in ("fire3.expand3x3.weight", "fire2.bn.running_mean", "fire9.squeeze1x1.bias", "upconv.weight",
              "conv_fuse.weight", "conv10.bias"):
        assert k in keys
    sq = list(create("squeezenet_bypass").state_dict())
    assert len(sq) == 52 and sq[-2:] == ["conv10.weight", "conv10.bias"] and "fire2.bn.weight" not in sq
    assert set(sq) == set(M.torchvision_name_map().values())


def test_parameter_counts_match_torchvision_and_docs():
    assert create("squeezenet", num_classes=1000).num_parameters() == 1_235_496   # torchvision squeezenet1_1
    assert create("squeezenet").num_parameters() == 723_522
    assert create("squeezenet_bypass").num_parameters() == 723_522
    n = create("proposed").num_parameters()
    documented = re.search(r"Proposed network parameter count \(2 classes\): \*\*([\d,]+)\*\*", DOC.read_text())
    assert documented, "docs/architecture.md must state the proposed network's count"
    assert n == int(documented.group(1).replace(",", ""))
    assert abs(n - 1.26e6) <= 0.05 * 1.26e6


def test_layer_by_layer_table_sums_to_total():
    text = DOC.read_text()
    table = text[text.index("### Parameter count"):text.index("**total**")]
    rows = [int(r.replace(",", "")) for r in re.findall(r"\| ([\d,]+) \|\n", table)]
    assert sum(rows) == create("proposed").num_parameters()


@pytest.mark.parametrize("name", NAMES)
def test_seeded_init_is_deterministic(name):
    a, b, c = create(name, seed=7), create(name, seed=7), create(name, seed=8)
    for (k, v), w, u in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        np.testing.assert_array_equal(v, w, err_msg=k)
    assert not np.array_equal(a.conv1.params["weight"], c.conv1.params["weight"])
    x = _x()
    np.testing.assert_array_equal(a.forward(x, training=True), b.forward(x, training=True))   # dropout rngs too


def test_init_distributions():
    m = create("squeezenet")
    # the ReLU classifier starts at zero with a positive bias (docstring of SqueezeNet); the proposed one N(0, 0.01)
    assert np.all(m.conv10.params["weight"] == 0) and np.all(m.conv10.params["bias"] == np.float32(0.1))
    w10 = create("proposed").conv10.params["weight"]
    assert abs(w10.std() - 0.01) < 0.003 and np.all(create("proposed").conv10.params["bias"] == 0)
    w = create("squeezenet", num_classes=1000).fire9.expand3x3.params["weight"]
    assert abs(w.std() - np.sqrt(2 / (64 * 9))) < 0.003          # He normal
    # networks 1 and 2 share their initial weights (same layer names, same seed)
    for (k, v), w in zip(m.state_dict().items(), create("squeezenet_bypass").state_dict().values()):
        np.testing.assert_array_equal(v, w, err_msg=k)


def _random_classifier(model, seed=0):
    """Networks 1-3 start with conv10 = 0, whose output is the same for every input; tests comparing outputs
    need one that depends on the input."""
    W = model.conv10.params["weight"]
    W[...] = np.random.default_rng(seed).normal(0.0, 0.01, W.shape)
    return model


def test_bypass_adds_identity_around_fire3_5_7_9():
    m1 = _random_classifier(create("squeezenet", input_size=SMALL).eval())
    m2 = _random_classifier(create("squeezenet_bypass", input_size=SMALL).eval())
    x = _x()
    # rebuild network 2's output by hand from network 1's layers (same weights)
    h = m1.pool1.forward(m1.relu_conv1.forward(m1.conv1.forward(x)))
    for k in range(2, 10):
        fire = m1.children[f"fire{k}"]
        h = fire.forward(h) + h if k in (3, 5, 7, 9) else fire.forward(h)
        if k in (3, 5):
            h = m1.children[f"pool{k}"].forward(h)
    expected = m1.pool10.forward(m1.relu_conv10.forward(m1.conv10.forward(h)))
    np.testing.assert_allclose(m2.forward(x), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(m1.forward(x), expected)
    assert [n for n in m2.children if n.startswith("bypass")] == ["bypass3", "bypass5", "bypass7", "bypass9"]


@pytest.mark.parametrize("size", [SMALL, 36, 31])
def test_proposed_skip_path_sizes(size):
    m = create("proposed", input_size=size).eval()
    m.forward(_x(1, size))                                # fused: the fused head where no crop is needed
    assert m.cam_features.shape[1:] == (128,) + m.class_maps.shape[2:]
    # 35 and 36: fire9 2x2 -> 8x8 = fire3's size, fused; 31: fire9 1x1 -> 4x4, fire3 7x7, the layer path (pad)
    assert (m.concat._cache is None) == (size != 31)
    with m.unfused():
        m.forward(_x(1, size))                            # the layer path
    assert m.concat._cache[0] == [128, 64]                # [fire3 | upconv]
    assert m.class_maps.shape[2:] == m.cam_features.shape[2:]
    assert m.upconv.kernel_size == (4, 4) and m.upconv.stride == (4, 4)
    assert m.conv_fuse.out_channels == 128


def test_proposed_is_exact_at_227_without_cropping():
    m = create("proposed")
    assert m.upconv.output_shape((1, 512, 14, 14))[2:] == (56, 56)


@pytest.mark.parametrize("name", NAMES)
def test_class_maps_mean_is_logit(name):
    m = create(name, input_size=SMALL).eval()
    logits = m.forward(_x())
    np.testing.assert_allclose(m.class_maps.mean(axis=(2, 3)), logits, rtol=1e-5, atol=1e-6)
    C = 128 if name == "proposed" else 512
    assert m.cam_features.shape[:2] == (2, C)
    assert m.cam_weights().shape == (2, C) and m.cam_bias().shape == (2,)
    pre = m.cam_features.mean(axis=(2, 3)) @ m.cam_weights().T + m.cam_bias()
    if m.cam_is_linear:
        np.testing.assert_allclose(pre, logits, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(m.features(_x()), m.cam_features)
    else:   # SqueezeNet: the ReLU between conv10 and the pool
        np.testing.assert_array_equal(m.class_maps, np.maximum(m.conv10.forward(m.cam_features), 0))


def test_proposed_cam_linear_in_training_mode_too():
    m = create("proposed", input_size=SMALL).train()
    logits = m.forward(_x(4))
    pre = m.cam_features.mean(axis=(2, 3)) @ m.cam_weights().T + m.cam_bias()
    np.testing.assert_allclose(pre, logits, rtol=1e-4, atol=1e-5)


def test_train_eval_and_dropout_switch():
    m = _random_classifier(create("squeezenet", input_size=SMALL))
    x = _x()
    assert not np.array_equal(m.forward(x, training=True), m.forward(x, training=True))   # dropout draws
    m.set_dropout(False)
    np.testing.assert_array_equal(m.forward(x, training=True), m.forward(x, training=False))
    p = create("proposed", input_size=SMALL).set_dropout(False)
    rm = p.fire2.bn.buffers["running_mean"].copy()
    a = p.forward(x, training=True)
    assert not np.array_equal(rm, p.fire2.bn.buffers["running_mean"])   # BN still in training mode
    assert not np.allclose(a, p.forward(x, training=False), atol=1e-6)
    p.eval()
    assert not p.fire5.bn.training and not p.drop9.training
    p.train()
    assert p.fire5.bn.training


def test_input_validation():
    m = create("proposed", input_size=SMALL)
    with pytest.raises(ValueError, match="at least 31x31"):
        m.forward(np.zeros((1, 3, 30, 40), np.float32))
    with pytest.raises(ValueError, match="3 channels"):
        m.forward(np.zeros((1, 1, 40, 40), np.float32))
    with pytest.raises(ValueError, match="input_size"):
        create("squeezenet", input_size=20)
    g = create("squeezenet", in_channels=1, input_size=SMALL)
    assert g.forward(np.zeros((1, 1, SMALL, SMALL), np.float32)).shape == (1, 2)
    assert g.config["preprocessing"]["mean"] == [0.449]


def test_astype_float64():
    m = create("proposed", input_size=SMALL).astype(np.float64)
    assert all(p.dtype == np.float64 for _, p, _ in m.named_parameters())
    assert m.forward(_x(dtype=np.float64)).dtype == np.float64


def test_transfer_without_weights_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SQUEEZENP_SHARED", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="SQUEEZENP_SHARED"):
        create("squeezenet_bypass_transfer")
    with pytest.raises(FileNotFoundError, match="not found"):
        create("squeezenet_bypass_transfer", pretrained=tmp_path / "nope.npz")


@pytest.mark.parametrize("name", NAMES)
def test_fused_and_layer_by_layer_evaluation_agree(name):
    """``create`` returns the network fused for evaluation; ``fuse(False)`` gives the layer-by-layer path, whose
    children all run (forward hooks see them) and whose numbers are the same to float rounding."""
    m = _random_classifier(create(name, input_size=SMALL, seed=4)) if name != "proposed" else \
        create(name, input_size=SMALL, seed=4)
    assert m.fused and m.fire2.fused
    x = _x(3)
    calls = []
    m.fire5.expand3x3.register_forward_hook(lambda layer, args, out: calls.append(out.shape))
    m.relu_conv1.register_forward_hook(lambda layer, args, out: calls.append(out.shape))
    fused = m.forward(x, training=False)
    assert calls == []                     # the fused Fire skips its children, conv1's ReLU is in its epilogue
    if name == "proposed":                              # and the fused head its layers (no crop at this size)
        assert m.concat._cache is None and m.conv_fuse._cache is None
    m.fuse(False)
    plain = m.forward(x, training=False)
    assert len(calls) == 2
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-6)
    assert not np.allclose(plain, 0)


def test_proposed_fused_training_matches_the_layer_path():
    """After ``fuse()`` a training step runs each Fire's expand branches and the head's upconv .. elu_fuse as fused
    pairs; logits, input gradient and every parameter gradient equal the layer-by-layer path's (float64, no
    dropout, the same batch-norm statistics)."""
    m = create("proposed", input_size=SMALL, seed=5).astype(np.float64).set_dropout(False)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, SMALL, SMALL))
    dlogits = rng.standard_normal((2, 2))
    state = {k: v.copy() for k, v in m.state_dict().items()}
    assert m.fused
    fused = m.forward(x, training=True)
    assert m.concat._cache is None and m.fire5.concat._cache is None        # the fused pairs ran
    assert m.pool1._cache is None and m.conv1._cache is None                # and the fused stem
    dx_fused = m.backward(dlogits)
    grads = {k: g.copy() for k, _, g in m.named_parameters()}
    m.forward(x, training=True)
    assert m.backward(dlogits, input_grad=False) is None                    # a training step's backward
    for k, _, g in m.named_parameters():
        np.testing.assert_array_equal(grads[k], g, err_msg=k)
    m.load_state_dict(state)
    with m.unfused():
        plain = m.forward(x, training=True)
        assert m.concat._cache is not None
        dx_plain = m.backward(dlogits)
    np.testing.assert_allclose(fused, plain, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx_fused, dx_plain, rtol=1e-8, atol=1e-10)
    for k, _, g in m.named_parameters():
        np.testing.assert_allclose(grads[k], g, rtol=1e-8, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("name", ["squeezenet", "squeezenet_bypass"])
def test_squeezenet_fused_training_matches_the_layer_path(name):
    """The SqueezeNets' fused training step (conv1 -> ReLU -> pool1 as ``ops.conv2d_act_pool_forward``, each
    Fire's expand branches fused): logits, input gradient and every parameter gradient as the layer path's;
    ``input_grad=False`` gives the same parameter gradients and no input gradient."""
    m = create(name, input_size=SMALL, seed=3).astype(np.float64).set_dropout(False)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 3, SMALL, SMALL))
    dlogits = rng.standard_normal((3, 2))
    fused = m.forward(x, training=True)
    assert m.pool1._cache is None and m._stem_cache is not None
    dx_fused = m.backward(dlogits)
    grads = {k: g.copy() for k, _, g in m.named_parameters()}
    with m.unfused():
        plain = m.forward(x, training=True)
        assert m.pool1._cache is not None and m._stem_cache is None
        dx_plain = m.backward(dlogits)
        np.testing.assert_allclose(fused, plain, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx_fused, dx_plain, rtol=1e-8, atol=1e-10)
        for k, _, g in m.named_parameters():
            np.testing.assert_allclose(grads[k], g, rtol=1e-8, atol=1e-10, err_msg=k)
        m.forward(x, training=True)
        assert m.backward(dlogits, input_grad=False) is None                # the layer path skips it too
        np.testing.assert_allclose(m.conv1.grads["weight"], grads["conv1.weight"], rtol=1e-8, atol=1e-10)
    m.forward(x, training=False)
    with pytest.raises(RuntimeError):
        m.backward(dlogits)                                                   # no training forward before it
