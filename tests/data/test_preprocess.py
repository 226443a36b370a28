"""CT preprocessing: the crop finds the body inside a page margin with text-like marks; per-image
standardisation maps every image to the network's mean and spread."""
import numpy as np
import pytest

from squeezenp.data.images import NORMALISATION
from squeezenp.data.preprocess import PREPROCESSING, crop_to_body, preprocess, standardise


def figure_crop(seed=0, H=200, W=240):
    """A slice as papers print it: white page margin, black scan background, a textured body, white and black
    strokes (labels, arrows) in the margin and the dark corners. Returns the image and the body's box."""
    rng = np.random.default_rng(seed)
    g = np.ones((H, W), np.float32)
    g[10:H - 10, 10:W - 10] = 0.02
    yy, xx = np.mgrid[:H, :W]
    cy, cx, ry, rx = H // 2 + 5, W // 2 - 4, 62, 84
    body = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    g[body] = np.clip(0.55 + 0.12 * rng.standard_normal(body.sum()), 0, 1)
    for x0 in range(18, 60, 7):
        g[16:26, x0:x0 + 3] = 1.0                  # "text" in the top-left dark corner
    for x0 in range(150, 200, 6):
        g[2:8, x0:x0 + 2] = 0.0                    # dark marks in the white margin
    g[H - 30:H - 26, W - 50:W - 16] = 1.0          # a scale bar
    ys, xs = np.nonzero(body)
    return g, (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)


def _locate(big, small):
    for y in range(big.shape[0] - small.shape[0] + 1):
        for x in range(big.shape[1] - small.shape[1] + 1):
            if np.array_equal(big[y:y + small.shape[0], x:x + small.shape[1]], small):
                return y, x
    raise AssertionError("the crop is not a window of the image")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crop_finds_the_body_inside_margins_and_marks(seed):
    g, (y0, y1, x0, x1) = figure_crop(seed)
    c = crop_to_body(g)
    y, x = _locate(g, c)
    h, w = y1 - y0, x1 - x0
    assert y <= y0 and x <= x0 and y + c.shape[0] >= y1 and x + c.shape[1] >= x1     # the whole body is kept
    assert y0 - y <= 0.1 * h and x0 - x <= 0.1 * w                                   # and little else
    assert y + c.shape[0] - y1 <= 0.1 * h and x + c.shape[1] - x1 <= 0.1 * w


def test_crop_falls_back_when_nothing_body_like_is_found():
    flat = np.full((50, 60), 0.3, np.float32)
    assert crop_to_body(flat).shape == (50, 60)
    tiny = np.random.default_rng(0).random((6, 6)).astype(np.float32)
    assert np.array_equal(crop_to_body(tiny), tiny)
    with pytest.raises(ValueError, match="2-D"):
        crop_to_body(np.zeros((4, 4, 3)))


def test_standardise_maps_any_window_to_the_network_mean_and_spread():
    rng = np.random.default_rng(3)
    g = rng.random((40, 50)).astype(np.float32)
    for img in (g, 0.2 + 0.1 * g, 0.9 * g ** 2):
        s = standardise(img)
        assert s.dtype == np.float32
        assert s.mean() == pytest.approx(NORMALISATION["mean"], abs=1e-5)
        assert s.std() == pytest.approx(NORMALISATION["std"], rel=1e-4)
    np.testing.assert_allclose(standardise(0.2 + 0.1 * g), standardise(g), atol=1e-5)   # window-invariant
    assert np.all(standardise(np.full((5, 5), 0.7)) == np.float32(NORMALISATION["mean"]))


def test_preprocess_modes():
    g, _ = figure_crop(0)
    assert np.array_equal(preprocess(g, "none"), g)
    assert preprocess(g, "crop").shape == crop_to_body(g).shape
    np.testing.assert_allclose(preprocess(g, "crop+standardise"), standardise(crop_to_body(g)))
    assert set(PREPROCESSING) == {"none", "crop", "standardise", "crop+standardise"}
    with pytest.raises(ValueError, match="preprocessing must be one of"):
        preprocess(g, "blur")
