"""Viridis, a perceptually uniform colour map, without matplotlib: 33 anchors of the 256-entry table.

Teaches: how a colour map works (a lookup from [0, 1] to RGB), and why a perceptual one: lightness rises
steadily from dark purple (0) to yellow (1), so equal steps of the class activation map look equally large
and the picture survives grayscale printing and red-green colour blindness (unlike "jet", which the
CAM figures of Polsinelli et al. 2020 use). Anchors are entries 0, 8, ..., 248 and 255 of the viridis table
by Stefan van der Walt, Nathaniel Smith and Eric Firing (mpl-colormaps, CC0 public domain); between anchors
the colour is interpolated linearly, which differs from the full table by less than 1/255 per channel.
Used by ``squeezenp.reports.figures``; tested in ``tests/reports/test_figures.py``.
"""
from __future__ import annotations

import numpy as np

# entry k / 255 of viridis -> (r, g, b) in [0, 1]
_VIRIDIS_ANCHORS = np.array([
    (0.267004, 0.004874, 0.329415), (0.277018, 0.050344, 0.375715), (0.282327, 0.094955, 0.417331),
    (0.282884, 0.135920, 0.453427), (0.278826, 0.175490, 0.483397), (0.270595, 0.214069, 0.507052),
    (0.258965, 0.251537, 0.524736), (0.244972, 0.287675, 0.537260), (0.229739, 0.322361, 0.545706),
    (0.214298, 0.355619, 0.551184), (0.199430, 0.387607, 0.554642), (0.185556, 0.418570, 0.556753),
    (0.172719, 0.448791, 0.557885), (0.160665, 0.478540, 0.558115), (0.149039, 0.508051, 0.557250),
    (0.137770, 0.537492, 0.554906), (0.127568, 0.566949, 0.550556), (0.120565, 0.596422, 0.543611),
    (0.120638, 0.625828, 0.533488), (0.132268, 0.655014, 0.519661), (0.157851, 0.683765, 0.501686),
    (0.196571, 0.711827, 0.479221), (0.246070, 0.738910, 0.452024), (0.304148, 0.764704, 0.419943),
    (0.369214, 0.788888, 0.382914), (0.440137, 0.811138, 0.340967), (0.515992, 0.831158, 0.294279),
    (0.595839, 0.848717, 0.243329), (0.678489, 0.863742, 0.189503), (0.762373, 0.876424, 0.137064),
    (0.845561, 0.887322, 0.099702), (0.926106, 0.897330, 0.104071), (0.993248, 0.906157, 0.143936),
])
_POSITIONS = np.array(list(range(0, 256, 8)) + [255]) / 255.0


def viridis(values) -> np.ndarray:
    """Map values in [0, 1] to RGB.

    Parameters
    ----------
    values : array_like of any shape; clipped to [0, 1]; NaN maps to 0

    Returns
    -------
    rgb : ndarray, float64, shape values.shape + (3,), in [0, 1]
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    v = np.clip(v, 0.0, 1.0)
    return np.stack([np.interp(v, _POSITIONS, _VIRIDIS_ANCHORS[:, c]) for c in range(3)], axis=-1)


def viridis_uint8(values) -> np.ndarray:
    """As ``viridis``, as uint8 RGB (values.shape + (3,)), ready for ``Image.fromarray``."""
    return np.rint(viridis(values) * 255).astype(np.uint8)


def color(value: float) -> tuple[int, int, int]:
    """One viridis colour as an (r, g, b) tuple of ints, for drawing lines and patches."""
    return tuple(int(c) for c in viridis_uint8([float(value)])[0])


__all__ = ["viridis", "viridis_uint8", "color"]
