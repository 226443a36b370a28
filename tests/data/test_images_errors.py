"""images.py: every bad file gives ImageLoadError naming the path, never another exception type."""
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from squeezenp.data.images import ImageLoadError, load_grayscale, load_image

# Pillow's TIFF plugin warns ("Tag data larger than file") on some fuzzed inputs before failing or loading.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FUZZ = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _encoded(fmt: str) -> bytes:
    g = (np.add.outer(np.arange(40), np.arange(50)) % 256).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.dstack([g, g, 255 - g])).save(buf, fmt)
    return buf.getvalue()


VALID = {"PNG": _encoded("PNG"), "JPEG": _encoded("JPEG"), "BMP": _encoded("BMP"), "TIFF": _encoded("TIFF")}


def _load_or_error(path):
    """Either a valid array or ImageLoadError with the path in the message; anything else fails the test."""
    try:
        out = load_grayscale(path)
    except ImageLoadError as err:
        assert str(path) in str(err)
        assert isinstance(err, ValueError)
        return None
    assert out.ndim == 2 and out.dtype == np.float32 and np.isfinite(out).all()
    return out


@FUZZ
@given(data=st.binary(min_size=0, max_size=2000))
def test_random_bytes(data, tmp_path):
    path = tmp_path / "rand%0.png"                     # '%' as in COVID-CT names
    path.write_bytes(data)
    _load_or_error(path)


@FUZZ
@given(fmt=st.sampled_from(sorted(VALID)), frac=st.floats(0.0, 0.999))
def test_truncated_files(fmt, frac, tmp_path):
    data = VALID[fmt]
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[:int(len(data) * frac)])
    _load_or_error(path)


@FUZZ
@given(fmt=st.sampled_from(sorted(VALID)), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20))
def test_corrupted_bytes(fmt, seed, n, tmp_path):
    data = bytearray(VALID[fmt])
    rng = np.random.default_rng(seed)
    for i in rng.integers(0, len(data), size=n):
        data[i] = int(rng.integers(0, 256))
    path = tmp_path / f"bad.{fmt.lower()}"
    path.write_bytes(bytes(data))
    _load_or_error(path)


def test_real_truncated_png_is_an_error(tmp_path):
    path = tmp_path / "half.png"
    path.write_bytes(VALID["PNG"][: len(VALID["PNG"]) // 2])
    with pytest.raises(ImageLoadError, match="half.png"):
        load_grayscale(path)


@pytest.mark.parametrize("content,match", [(b"", "empty file|not an image"), (b"hello, world\n", "not an image")])
def test_empty_and_text_files(content, match, tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=match):
        load_grayscale(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        load_grayscale(tmp_path / "missing.png")
    with pytest.raises(ImageLoadError, match="directory"):
        load_image(tmp_path)


def _png_claiming(width: int, height: int) -> bytes:
    """A 1x1 gray PNG whose IHDR (with a valid CRC) claims width x height."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data[12:29]                                  # b"IHDR" + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def test_decompression_bomb_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(50000, 50000))
    with pytest.raises(ImageLoadError, match="too large") as info:
        load_grayscale(path)
    assert str(path) in str(info.value)


def test_max_pixels_parameter(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (100, 100)).save(path)
    assert load_grayscale(path, max_pixels=10_000).shape == (100, 100)
    with pytest.raises(ImageLoadError, match="max_pixels=9999"):
        load_grayscale(path, max_pixels=9999)


def test_pillow_bomb_warning_becomes_an_error(tmp_path, monkeypatch):
    path = tmp_path / "warn.png"
    Image.new("L", (100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)    # 10000 px: Pillow warns (between 1x and 2x)
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_grayscale(path, max_pixels=10**9)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)    # above 2x: Pillow raises
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_grayscale(path, max_pixels=10**9)


def test_zero_size_header_is_an_error(tmp_path):
    path = tmp_path / "zero.png"
    path.write_bytes(_png_claiming(0, 10))
    with pytest.raises(ImageLoadError, match="zero.png"):
        load_grayscale(path)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_max_pixels(bad, tmp_path):
    with pytest.raises(ValueError, match="max_pixels"):
        load_grayscale(tmp_path / "x.png", max_pixels=bad)
