"""torchvision ImageNet import: name map, the check image, partial import into network 4.
Skipped with a reason when the shared folder (``$SQUEEZENP_SHARED`` or ``<repo>/../shared``) is absent."""
import numpy as np
import pytest

import squeezenp.models as M


def test_name_map_is_complete():
    m = M.torchvision_name_map()
    assert len(m) == 52
    assert m["features.0.weight"] == "conv1.weight"
    assert m["features.3.squeeze.weight"] == "fire2.squeeze1x1.weight"
    assert m["features.12.expand3x3.bias"] == "fire9.expand3x3.bias"
    assert m["classifier.1.weight"] == "conv10.weight"


def _check_image(shared):
    Image = pytest.importorskip("PIL.Image")
    img = Image.open(shared / "weights" / "imagenet_check_cat.jpg").convert("RGB").resize((224, 224), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def test_imagenet_check_image_top5(weights_path):
    m = M.create("squeezenet", num_classes=1000, pretrained=weights_path)
    assert len(m.pretrained_report["loaded"]) == 52 and not m.pretrained_report["skipped"]
    with np.load(weights_path, allow_pickle=False) as f:
        np.testing.assert_array_equal(m.fire5.expand3x3.params["weight"], f["features.7.expand3x3.weight"])
    p = m.predict_proba(_check_image(weights_path.parents[1]))[0]
    top5 = set(np.argsort(-p)[:5].tolist())
    assert {281, 282, 287, 278} <= top5, sorted(top5)


def test_transfer_network_replaces_classifier(weights_path):
    m = M.create("squeezenet_bypass_transfer", num_classes=2)
    rep = m.pretrained_report
    assert len(rep["loaded"]) == 50 and set(rep["skipped"]) == {"conv10.weight", "conv10.bias"}
    assert m.conv10.params["weight"].shape == (2, 512, 1, 1)
    assert np.all(m.conv10.params["weight"] == 0) and np.all(m.conv10.params["bias"] == np.float32(0.1))
    assert m.config["pretrained"] == str(weights_path)


def test_partial_import_into_proposed(weights_path):
    m = M.create("proposed", pretrained=weights_path)
    rep = m.pretrained_report
    assert len(rep["loaded"]) == 50                           # conv1 + every squeeze/expand conv
    assert "fire2.bn.weight" in rep["skipped"] and "upconv.weight" in rep["skipped"]
    assert "shape" in rep["skipped"]["conv10.weight"]           # (2, 128, 1, 1) vs (1000, 512, 1, 1)
    fresh = M.create("proposed")
    assert not np.array_equal(m.fire2.squeeze1x1.params["weight"], fresh.fire2.squeeze1x1.params["weight"])
    np.testing.assert_array_equal(m.upconv.params["weight"], fresh.upconv.params["weight"])


def test_foreign_file_is_rejected(tmp_path):
    p = tmp_path / "w.npz"
    np.savez(p, foo=np.zeros(3))
    with pytest.raises(ValueError, match="not a torchvision squeezenet1_1"):
        M.load_torchvision_squeezenet(M.create("squeezenet", input_size=35), p)
    p.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="is not a .npz archive"):
        M.load_torchvision_squeezenet(M.create("squeezenet", input_size=35), p)
