"""save_model / load_model: round trip, atomic write, and hostile or broken files -> ModelFileError."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from squeezenp.models import ModelFileError, create, load_model, read_config, save_model


@pytest.fixture(scope="module")
def small_model():
    m = create("proposed", num_classes=3, input_size=35, seed=5)
    m.forward(np.random.default_rng(0).standard_normal((2, 3, 35, 35)).astype(np.float32), training=True)
    return m   # BN running statistics moved away from their initial values


def test_round_trip(tmp_path, small_model):
    path = save_model(small_model, tmp_path / "m.npz")
    assert path.exists() and os.listdir(tmp_path) == ["m.npz"]        # no temporary left behind
    loaded = load_model(path)
    assert loaded.config == small_model.config
    for (k, v), w in zip(small_model.state_dict().items(), loaded.state_dict().values()):
        np.testing.assert_array_equal(v, w, err_msg=k)
    x = np.random.default_rng(1).standard_normal((1, 3, 35, 35)).astype(np.float32)
    np.testing.assert_array_equal(small_model.forward(x, training=False), loaded.forward(x, training=False))
    with np.load(path, allow_pickle=False) as f:
        cfg = f["__config__"]
        assert cfg.shape == () and cfg.dtype.kind == "U"
        assert json.loads(str(cfg))["name"] == "proposed"
    assert read_config(path)["num_classes"] == 3


@pytest.mark.parametrize("name", ["squeezenet", "squeezenet_bypass"])
def test_round_trip_squeezenets(tmp_path, name):
    m = create(name, input_size=40, seed=3)
    loaded = load_model(save_model(m, tmp_path / "x.model"))        # no .npz appended
    assert (tmp_path / "x.model").exists() and loaded.config["name"] == name
    np.testing.assert_array_equal(loaded.conv10.params["weight"], m.conv10.params["weight"])


def test_overwrite_is_atomic(tmp_path, small_model, monkeypatch):
    path = tmp_path / "m.npz"
    save_model(small_model, path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        save_model(small_model, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _tampered(small_model, change):
    arrays = {k: v for k, v in small_model.state_dict().items()}
    arrays["__config__"] = np.array(json.dumps(small_model.config))
    change(arrays)
    return _npz_bytes(**arrays)


def test_misshaped_missing_extra_arrays_name_key_and_shapes(tmp_path, small_model):
    p = tmp_path / "bad.npz"
    p.write_bytes(_tampered(small_model, lambda a: a.__setitem__("fire3.expand3x3.weight", np.zeros((64, 16, 3, 2)))))
    with pytest.raises(ModelFileError, match=r"fire3\.expand3x3\.weight.*\(64, 16, 3, 3\).*\(64, 16, 3, 2\)"):
        load_model(p)
    p.write_bytes(_tampered(small_model, lambda a: a.pop("fire2.bn.running_mean")))
    with pytest.raises(ModelFileError, match=r"missing array 'fire2\.bn\.running_mean' \(expected shape \(16,\)"):
        load_model(p)
    p.write_bytes(_tampered(small_model, lambda a: a.__setitem__("fc.weight", np.zeros((2, 3)))))
    with pytest.raises(ModelFileError, match=r"unexpected array 'fc\.weight' with shape \(2, 3\)"):
        load_model(p)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_hostile_and_broken_files(tmp_path, small_model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = save_model(small_model, tmp_path / "good.npz").read_bytes()
    cases = {
        "truncated": good[: len(good) // 2],
        "random": np.random.default_rng(0).bytes(4096),
        "empty": b"",
        "pickle": pickle.dumps(_Evil()),
        "object_array": _npz_bytes(__config__=np.array(json.dumps(small_model.config)),
                                   **{"conv1.weight": np.array([_Evil()], dtype=object)}),
        "pickled_config": _npz_bytes(__config__=np.array([_Evil()], dtype=object)),
        "foreign_npz": _npz_bytes(**{"features.0.weight": np.zeros((64, 3, 3, 3))}),
        "npy": (lambda b: (np.save(b, np.zeros(3)), b.getvalue())[1])(io.BytesIO()),
        "bad_json": _npz_bytes(__config__=np.array("{not json")),
        "config_not_dict": _npz_bytes(__config__=np.array("[1, 2]")),
        "config_array_2d": _npz_bytes(__config__=np.array(["a", "b"])),
        "unknown_arch": _npz_bytes(__config__=np.array(json.dumps(dict(small_model.config, name="resnet")))),
        "string_weights": _tampered(small_model, lambda a: a.__setitem__("conv1.bias", np.array(["x"] * 64))),
    }
    zf = io.BytesIO()
    with zipfile.ZipFile(zf, "w") as z:
        z.writestr("readme.txt", "hello")
    cases["zip_not_npz"] = zf.getvalue()
    for name, data in cases.items():
        p = tmp_path / f"{name}.npz"
        p.write_bytes(data)
        with pytest.raises(ModelFileError):
            load_model(p)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.npz")


def test_messages_name_what_the_file_is_and_never_suggest_unpickling(tmp_path, small_model):
    good = save_model(small_model, tmp_path / "good.npz").read_bytes()
    npy = io.BytesIO()
    np.save(npy, np.zeros(3))
    expect = {"random": (np.random.default_rng(0).bytes(4096), "not a .npz archive"),
              "empty": (b"", "empty"),
              "pickle": (pickle.dumps(_Evil()), "not a .npz archive"),
              "npy": (npy.getvalue(), "single NumPy array (.npy)"),
              "truncated": (good[: len(good) // 2], "damaged or truncated"),
              "object_array": (_npz_bytes(__config__=np.array(json.dumps(small_model.config)),
                                          **{"conv1.weight": np.array([_Evil()], dtype=object)}),
                               "'conv1.weight' holds Python objects")}
    for name, (data, words) in expect.items():
        p = tmp_path / f"{name}.npz"
        p.write_bytes(data)
        with pytest.raises(ModelFileError) as e:
            load_model(p)
        msg = str(e.value)
        assert words in msg and str(p) in msg, (name, msg)
        assert "allow_pickle" not in msg and "TypeError" not in msg, (name, msg)


@pytest.mark.parametrize("key,value", [("input_size", 10_000_000), ("num_classes", 10**9), ("in_channels", 10**7),
                                       ("input_size", 1.5), ("input_size", True), ("input_size", "227")])
def test_a_config_out_of_bounds_is_refused_before_anything_is_built(tmp_path, small_model, key, value):
    p = tmp_path / "claims.npz"
    p.write_bytes(_npz_bytes(__config__=np.array(json.dumps(dict(small_model.config, **{key: value})))))
    with pytest.raises(ModelFileError, match=f"config {key} must be an integer in"):
        load_model(p)


def test_nan_weights_and_zip_bombs_are_refused(tmp_path, small_model, monkeypatch):
    from squeezenp.models import io as model_io
    p = tmp_path / "nan.npz"
    p.write_bytes(_tampered(small_model, lambda a: a.__setitem__("conv1.weight", a["conv1.weight"] * np.nan)))
    with pytest.raises(ModelFileError, match="'conv1.weight' holds NaN or infinite"):
        load_model(p)
    bomb = tmp_path / "bomb.npz"       # a few KB on disk, 4 MB unpacked; the limit lowered to 1 MB for the test
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("__config__.npy", bytes(4 << 20))
    assert bomb.stat().st_size < 100_000
    monkeypatch.setattr(model_io, "MAX_NPZ_BYTES", 1 << 20)
    with pytest.raises(ModelFileError, match="zip bomb"):
        load_model(bomb)
