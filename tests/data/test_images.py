"""images.py: one grayscale representation for every format and mode; resizing and normalisation."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from squeezenp.data.images import (
    NORMALISATION, ImageLoadError, load_batch, load_grayscale, load_image, to_network_input,
)

STD = NORMALISATION["std"]


def _save(arr_or_im, path, **kw) -> Path:
    im = arr_or_im if isinstance(arr_or_im, Image.Image) else Image.fromarray(arr_or_im)
    im.save(path, **kw)
    return path


# --- the label must not leak through the file type --------------------------------------------------------

def test_same_pixels_same_tensor_across_encodings(gray_u8, tmp_path):
    g = gray_u8
    rgb = np.stack([g, g, g], axis=-1)
    alpha = np.random.default_rng(0).integers(0, 256, size=g.shape, dtype=np.uint8)   # alpha must not matter
    files = {
        "png_L": _save(g, tmp_path / "a.png"),
        "png_RGB": _save(rgb, tmp_path / "b.png"),
        "png_RGBA": _save(np.dstack([rgb, alpha]), tmp_path / "c.png"),
        "png_LA": _save(Image.fromarray(np.dstack([g, alpha]), mode=None), tmp_path / "d.png"),
        "bmp": _save(rgb, tmp_path / "e.bmp"),
        "tiff": _save(g, tmp_path / "f.tiff"),
        "jpeg_L": _save(g, tmp_path / "g.jpg", quality=95),
        "jpeg_RGB": _save(rgb, tmp_path / "h.jpeg", quality=95),
    }
    x = {k: load_image(p, size=(96, 96)) for k, p in files.items()}
    ref = x["png_L"]
    for k in ("png_RGB", "png_RGBA", "png_LA", "bmp", "tiff"):
        np.testing.assert_array_equal(x[k], ref, err_msg=k)            # lossless: exactly equal
    for k in ("jpeg_L", "jpeg_RGB"):
        diff = np.abs(x[k] - ref).mean() * STD                         # back to [0, 1] units
        assert diff < 0.02, (k, diff)


def test_load_grayscale_matches_pixels(gray_u8, tmp_path):
    out = load_grayscale(_save(gray_u8, tmp_path / "x.png"))
    assert out.dtype == np.float32 and out.shape == gray_u8.shape
    np.testing.assert_allclose(out, gray_u8 / 255.0, atol=1e-7)


def test_every_8bit_value_is_its_float64_quotient_rounded_once(tmp_path):
    """All 256 values: the float32 division gives value / 255 computed in float64 and rounded to float32."""
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = load_grayscale(_save(values, tmp_path / "all.png"))
    np.testing.assert_array_equal(out, (values / 255.0).astype(np.float32))


def test_rgb_uses_itu_601_luma(tmp_path):
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 200, 30]]], dtype=np.uint8)
    out = load_grayscale(_save(px, tmp_path / "c.png"))
    expect = np.rint(px.astype(float) @ [0.299, 0.587, 0.114]) / 255
    np.testing.assert_allclose(out, expect, atol=1.5 / 255)


# --- every mode loads -----------------------------------------------------------------------------------

def _mode_image(mode: str, rng) -> Image.Image:
    g = rng.integers(0, 256, size=(7, 9), dtype=np.uint8)
    if mode == "I;16":
        return Image.fromarray((g.astype(np.uint16) * 257))
    if mode == "I":
        return Image.fromarray(g.astype(np.int32) * 100)
    if mode == "F":
        return Image.fromarray(g.astype(np.float32) * 3.5 - 100)
    if mode == "P":
        return Image.fromarray(np.dstack([g, g, g])).convert("P", palette=Image.Palette.ADAPTIVE)
    return Image.fromarray(np.dstack([g, g, g, g])).convert(mode) if mode in ("LA", "RGBA") else \
        Image.fromarray(g).convert(mode)


@pytest.mark.parametrize("mode,ext", [
    ("1", "png"), ("L", "png"), ("LA", "png"), ("P", "png"), ("P", "gif"), ("RGB", "png"), ("RGBA", "png"),
    ("RGB", "jpg"), ("L", "jpg"), ("CMYK", "jpg"), ("CMYK", "tiff"), ("RGB", "bmp"), ("I;16", "png"),
    ("I;16", "tiff"), ("I", "tiff"), ("F", "tiff"), ("RGBA", "tiff"),
])
def test_every_mode_loads(mode, ext, tmp_path):
    path = _save(_mode_image(mode, np.random.default_rng(1)), tmp_path / f"img.{ext}")
    out = load_grayscale(path)
    assert out.shape == (7, 9) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    x = load_image(path, size=(16, 16))
    assert x.shape == (3, 16, 16) and np.isfinite(x).all()


def test_high_bit_depth_scaling(tmp_path):
    v16 = np.array([[0, 1000, 65535]], dtype=np.uint16)
    np.testing.assert_allclose(load_grayscale(_save(v16, tmp_path / "a.png")), v16 / 65535, rtol=1e-6)
    np.testing.assert_allclose(load_grayscale(_save(v16, tmp_path / "b.tiff")), v16 / 65535, rtol=1e-6)
    vi = np.array([[-5, 0, 5]], dtype=np.int32)                       # outside [0, 65535]: min-max
    np.testing.assert_allclose(load_grayscale(_save(vi, tmp_path / "c.tiff")), [[0, 0.5, 1]], atol=1e-6)
    vf = np.array([[2.0, 3.0, 4.0]], dtype=np.float32)                # F: min-max
    np.testing.assert_allclose(load_grayscale(_save(vf, tmp_path / "d.tiff")), [[0, 0.5, 1]], atol=1e-6)
    const = np.full((2, 2), 7.0, dtype=np.float32)                    # constant F image: zeros, not NaN
    np.testing.assert_array_equal(load_grayscale(_save(const, tmp_path / "e.tiff")), 0)


def test_nan_float_image_is_an_error(tmp_path):
    vf = np.array([[1.0, np.nan]], dtype=np.float32)
    with pytest.raises(ImageLoadError, match="NaN"):
        load_grayscale(_save(vf, tmp_path / "nan.tiff"))


def test_palette_transparency_is_dropped(tmp_path):
    im = Image.fromarray(np.array([[0, 1], [1, 0]], dtype=np.uint8), mode=None).convert("P")
    im.putpalette([0, 0, 0, 200, 200, 200] + [0] * 762)
    im.info["transparency"] = 1
    out = load_grayscale(_save(im, tmp_path / "t.png", transparency=1))
    np.testing.assert_allclose(out, [[0, 200 / 255], [200 / 255, 0]], atol=1e-6)


# --- sizes ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 2), (1, 4000), (4000, 1)])
def test_tiny_and_elongated_images(shape, tmp_path):
    g = np.random.default_rng(2).integers(0, 256, size=shape, dtype=np.uint8)
    path = _save(g, tmp_path / "s.png")
    assert load_grayscale(path).shape == shape
    for keep_aspect in (False, True):
        x = load_image(path, size=(227, 227), keep_aspect=keep_aspect)
        assert x.shape == (3, 227, 227) and x.dtype == np.float32 and np.isfinite(x).all()


def test_normalisation_and_channels():
    g = np.full((5, 7), NORMALISATION["mean"], dtype=np.float32)
    x = to_network_input(g, size=(4, 6), channels=1)
    assert x.shape == (1, 4, 6)
    np.testing.assert_allclose(x, 0, atol=1e-6)
    x = to_network_input(np.ones((5, 5)), size=8, channels=3)
    assert x.shape == (3, 8, 8) and x.flags.c_contiguous
    np.testing.assert_allclose(x, (1 - NORMALISATION["mean"]) / NORMALISATION["std"], rtol=1e-6)


def test_keep_aspect_pads_with_black():
    g = np.ones((10, 40), dtype=np.float32)                            # wide: pad top and bottom
    x = to_network_input(g, size=(40, 40), channels=1, keep_aspect=True)[0] * STD + NORMALISATION["mean"]
    np.testing.assert_allclose(x[:, 20], np.r_[np.zeros(15), np.ones(10), np.zeros(15)], atol=1e-5)
    stretched = to_network_input(g, size=(40, 40), channels=1)[0] * STD + NORMALISATION["mean"]
    np.testing.assert_allclose(stretched, 1, atol=1e-5)


def test_resize_is_deterministic_and_bounded():
    g = np.random.default_rng(3).random((123, 77)).astype(np.float32)
    a, b = to_network_input(g, (64, 64)), to_network_input(g, (64, 64))
    np.testing.assert_array_equal(a, b)
    back = a * STD + NORMALISATION["mean"]
    assert back.min() >= -1e-5 and back.max() <= 1 + 1e-5


@pytest.mark.parametrize("bad", [np.zeros((0, 3)), np.zeros((3,)), np.zeros((2, 2, 2)), np.array([[np.inf]])])
def test_to_network_input_rejects_bad_arrays(bad):
    with pytest.raises(ValueError):
        to_network_input(bad)


@pytest.mark.parametrize("kw", [{"size": (0, 5)}, {"size": "big"}, {"channels": 0}, {"size": (2.5, 3)}])
def test_to_network_input_rejects_bad_arguments(kw):
    with pytest.raises(ValueError):
        to_network_input(np.zeros((3, 3)), **kw)


def test_load_batch_skip_and_raise(gray_u8, tmp_path):
    good = _save(gray_u8, tmp_path / "good.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    batch, kept, errors = load_batch([good, bad, good], size=(32, 32), channels=1, on_error="skip")
    assert batch.shape == (2, 1, 32, 32) and kept == [good, good]
    assert len(errors) == 1 and errors[0][0] == bad and str(bad) in errors[0][1]
    with pytest.raises(ImageLoadError):
        load_batch([good, bad], size=(32, 32))
    empty, kept, errors = load_batch([bad], size=(8, 9), on_error="skip")
    assert empty.shape == (0, 3, 8, 9) and kept == []
    with pytest.raises(ValueError, match="on_error"):
        load_batch([good], on_error="ignore")


def test_every_shared_image_loads(require_shared):
    root = require_shared("data", "covid-ct")
    paths = sorted(p for p in root.glob("*/*/*") if p.is_file())
    assert len(paths) == 543
    batch, kept, errors = load_batch(paths, size=(48, 48), on_error="skip")
    assert errors == [] and batch.shape == (543, 3, 48, 48) and np.isfinite(batch).all()
