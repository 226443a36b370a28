"""Report pictures drawn with Pillow only: CAM overlays and grids, training curves, confusion matrices, ROC,
and labelled image grids (the augmentation preview).

Teaches: a plot is a handful of coordinate transforms and primitives. ``_Axes`` maps data to pixels
(``px = left + (x - x0) / (x1 - x0) * width``, y flipped), picks "nice" tick steps (1, 2, 2.5 or 5 times a power
of ten), and draws lines, markers, vertical marks, a legend and rotated axis labels; NaN points break a line
instead of poisoning it. CAM overlays alpha-blend a viridis-coloured map over the gray CT slice,
``rgb = (1 - alpha) * gray + alpha * viridis(cam)``, with a 0..1 colour bar, as in Figures 4 and 5 of
Polsinelli et al. (2020). Text uses Pillow's default font (``ImageFont.load_default``).

Every picture is meant to be read on its own: a title, axis labels with units, a legend for every line, mark
and colour, and labelled rows and columns on every grid.

``write_training_figures(out_dir, history, metrics, rows, ...)`` is called by ``squeezenp.app.pipeline`` (so by
``train``, ``demo`` and ``evaluate``). Tests: ``tests/reports/test_figures.py``; docs and examples: ``docs/cam.md``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core.atomic import atomic_write
from .colormap import color as cmap_color
from .colormap import viridis_uint8

WHITE, BLACK, GRID, TEXT = (255, 255, 255), (0, 0, 0), (225, 225, 225), (30, 30, 30)
TRAIN_COLOUR, VAL_COLOUR = (31, 119, 180), (230, 120, 20)      # blue / orange, distinct for colour-blind eyes
# the drop colour is a bluish gray, so that no anti-aliased (neutral gray) text pixel has it
SELECTED_COLOUR, DROP_COLOUR, CHANCE_COLOUR = (44, 160, 44), (100, 110, 130), (150, 150, 150)
MASK_COLOUR = (255, 60, 60)
# Text sizes in pixels: readable on a screen at 100% (the bitmap fallback font has one size only).
TITLE_SIZE, LABEL_SIZE, SMALL_SIZE = 16, 14, 13


def font(size: int = LABEL_SIZE):
    """Pillow's default font: the scalable one when FreeType is available (Pillow >= 10.1), else the bitmap."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):   # old Pillow or no FreeType: the fixed-size bitmap font
        return ImageFont.load_default()


def text_size(draw: ImageDraw.ImageDraw, text: str, fnt) -> tuple[int, int]:
    l, t, r, b = draw.textbbox((0, 0), text, font=fnt)
    return r - l, b - t


def _text(draw, xy, text, fnt, fill=TEXT, anchor="la"):
    """Text at xy with a Pillow anchor (e.g. "mm" centre, "ra" right-top); falls back to top-left for bitmaps."""
    try:
        draw.text(xy, text, font=fnt, fill=fill, anchor=anchor)
    except ValueError:   # bitmap fonts do not support anchors: emulate centre / right alignment
        w, h = text_size(draw, text, fnt)
        x, y = xy
        x -= {"l": 0, "m": w // 2, "r": w}[anchor[0]]
        y -= {"a": 0, "t": 0, "m": h // 2, "b": h, "s": h, "d": h}[anchor[1]]
        draw.text((x, y), text, font=fnt, fill=fill)


def _fit(draw, text: str, fnt, width: int) -> str:
    """Shorten ``text`` with an ellipsis until it fits in ``width`` pixels."""
    if text_size(draw, text, fnt)[0] <= width:
        return text
    while len(text) > 1 and text_size(draw, text + "...", fnt)[0] > width:
        text = text[:-1]
    return text + "..."


def two_lines(text: str, fnt, width: int) -> list[str]:
    """``text`` on one line if it fits ``width`` pixels, else split at the space, "_" or "-" nearest its middle
    (so long network names stay readable in a narrow column); each line shortened if still too long."""
    d = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    if text_size(d, text, fnt)[0] <= width:
        return [text]
    cuts = [i for i, ch in enumerate(text) if ch in " _-"]
    if not cuts:
        return [_fit(d, text, fnt, width)]
    i = min(cuts, key=lambda c: abs(c - len(text) / 2))
    head, tail = (text[:i], text[i + 1:]) if text[i] == " " else (text[:i + 1], text[i + 1:])
    return [_fit(d, head, fnt, width), _fit(d, tail, fnt, width)]


def wrap(text: str, fnt, width: int) -> list[str]:
    """Greedy word wrap of ``text`` into lines at most ``width`` pixels wide (a longer word is shortened)."""
    d = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines, line = [], ""
    for word in str(text).split():
        candidate = f"{line} {word}" if line else word
        if line and text_size(d, candidate, fnt)[0] > width:
            lines.append(line)
            candidate = word
        line = candidate
    if line:
        lines.append(line)
    return [_fit(d, ln, fnt, width) for ln in lines]


def _vertical_text(img: Image.Image, text: str, fnt, centre: tuple[int, int], max_length: int | None = None):
    """Paste ``text`` turned 90 degrees (read bottom to top) centred at ``centre``."""
    d = ImageDraw.Draw(img)
    if max_length:
        text = _fit(d, text, fnt, max_length)
    w, h = text_size(d, text, fnt)
    strip = Image.new("RGB", (w + 4, h + 8), WHITE)
    _text(ImageDraw.Draw(strip), (2, 1), text, fnt)
    strip = strip.rotate(90, expand=True)
    img.paste(strip, (centre[0] - strip.size[0] // 2, centre[1] - strip.size[1] // 2))


def _notes(img: Image.Image, top: int, notes, fnt, left: int = 8):
    """Write ``notes`` (str, or (str, swatch colour) for a line led by a coloured square) from ``top`` down."""
    d = ImageDraw.Draw(img)
    y, width = top, img.size[0] - 2 * left
    for note in notes:
        text, swatch = (note, None) if isinstance(note, str) else note
        x = left + (18 if swatch else 0)
        if swatch:
            d.rectangle([left, y + 3, left + 11, y + 14], outline=swatch, width=2)
        for line in wrap(text, fnt, width - (x - left)):
            _text(d, (x, y), line, fnt)
            y += 18
    return y


def _notes_height(notes, fnt, width: int) -> int:
    return sum(18 * len(wrap(n if isinstance(n, str) else n[0], fnt, width - (18 if not isinstance(n, str) else 0)))
               for n in notes)


def save_png(img: Image.Image, path) -> Path:
    """Write ``img`` as an optimised PNG atomically (parent folders created)."""
    return atomic_write(path, lambda f: img.save(f, format="PNG", optimize=True))


def _gray_uint8(gray) -> np.ndarray:
    g = np.nan_to_num(np.asarray(gray, dtype=np.float64), nan=0.0)
    return np.rint(np.clip(g, 0.0, 1.0) * 255).astype(np.uint8)


def _resize(a: np.ndarray, size: int) -> np.ndarray:
    """float (h, w) -> float (size, size), bilinear."""
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32))
    return np.asarray(im.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float64)


# --- CAM pictures --------------------------------------------------------------------------------------------
CAM_BAR_LABEL = "CAM, 0-1 per image"


def overlay(gray, cam, alpha: float = 0.45, size: int | None = None) -> Image.Image:
    """The CT slice in gray with the map over it: ``(1 - alpha) * gray + alpha * viridis(cam)``.

    gray : (h, w) in [0, 1];  cam : (h', w') in [0, 1] (resized to the slice);  size : output side (square)
    """
    g = np.asarray(gray, dtype=np.float64)
    side = int(size or max(g.shape))
    g, c = _resize(g, side), _resize(np.nan_to_num(np.asarray(cam, dtype=np.float64)), side)
    rgb = (1.0 - alpha) * np.clip(g, 0, 1)[..., None] * 255 + alpha * viridis_uint8(np.clip(c, 0, 1))
    return Image.fromarray(np.rint(np.clip(rgb, 0, 255)).astype(np.uint8))


def gray_image(gray, size: int) -> Image.Image:
    return Image.fromarray(_gray_uint8(_resize(gray, size))).convert("RGB")


def _outline(img: Image.Image, mask, colour=MASK_COLOUR) -> Image.Image:
    """Draw the boundary of a bool mask (resized to the image) in ``colour``."""
    side = img.size[0]
    m = _resize(np.asarray(mask, dtype=np.float32), side) > 0.5
    edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
    a = np.array(img)
    a[edge] = colour
    return Image.fromarray(a)


def legend_bar(height: int, bar_width: int = 14, fnt=None, label: str | None = CAM_BAR_LABEL) -> Image.Image:
    """A vertical viridis colour bar, 1 at the top and 0 at the bottom, ticks 0, 0.25, ..., 1, and ``label``
    written along its right side (bottom to top)."""
    fnt = fnt or font(SMALL_SIZE)
    pad_y = 8
    img = Image.new("RGB", (bar_width + 44 + (22 if label else 0), height), WHITE)
    d = ImageDraw.Draw(img)
    inner = height - 2 * pad_y
    col = viridis_uint8(np.linspace(1, 0, inner))[:, None, :].repeat(bar_width, axis=1)
    img.paste(Image.fromarray(col), (4, pad_y))
    d.rectangle([4, pad_y, 4 + bar_width - 1, pad_y + inner - 1], outline=TEXT)
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = pad_y + round((1 - v) * (inner - 1))
        d.line([4 + bar_width, y, 4 + bar_width + 3, y], fill=TEXT)
        _text(d, (4 + bar_width + 6, y), f"{v:g}", fnt, anchor="lm")
    if label:
        _vertical_text(img, label, fnt, (bar_width + 44 + 10, height // 2), max_length=height - 4)
    return img


def cam_figure(gray, cam, title: str = "", alpha: float = 0.45, size: int = 256, mask=None) -> Image.Image:
    """One image: title lines ("\\n"-separated), the overlay (``size`` px square), a 0..1 colour bar at its
    right, and a line saying what the colours (and the red lesion outline, with ``mask``) mean."""
    fnt, small = font(LABEL_SIZE), font(SMALL_SIZE)
    ov = overlay(gray, cam, alpha, size)
    if mask is not None:
        ov = _outline(ov, mask)
    bar = legend_bar(size, fnt=small)
    lines = [t for t in str(title).split("\n") if t] if title else []
    title_h = 6 + 18 * len(lines) if lines else 4
    W = size + bar.size[0] + 12
    notes = [f"Colour: the class activation map, scaled per image to 0 (lowest) .. 1 (highest), over the slice "
             f"at opacity {alpha:g}."]
    if mask is not None:
        notes.append(("red outline: lesion (known mask)", MASK_COLOUR))
    notes_h = _notes_height(notes, small, W - 12)
    img = Image.new("RGB", (W, size + title_h + 12 + notes_h), WHITE)
    img.paste(ov, (6, title_h))
    img.paste(bar, (size + 10, title_h))
    d = ImageDraw.Draw(img)
    for k, line in enumerate(lines):
        _text(d, (6, 4 + 18 * k), _fit(d, line, fnt, img.size[0] - 12), fnt)
    _notes(img, title_h + size + 6, notes, small, left=6)
    return img


def write_cam_image(path, gray, cam, title: str = "", alpha: float = 0.45, size: int = 256, mask=None) -> Path:
    return save_png(cam_figure(gray, cam, title, alpha, size, mask), path)


def cam_grid(grays, maps_per_model, model_titles, path=None, row_labels=None, probabilities=None, masks=None,
             cell: int = 160, alpha: float = 0.45, true_labels=None, map_class: str = "COVID",
             title: str | None = None) -> Image.Image:
    """The layout of the paper's Figures 4 and 5: rows are images; columns the CT image, then one CAM per model.

    Parameters
    ----------
    grays : list of (h, w) slices in [0, 1]
    maps_per_model : list (one per model) of (N, H, W) maps in [0, 1], or lists of (H, W) maps
    model_titles : list of str, column titles
    row_labels : list of str, optional, written under each CT image (e.g. the file name)
    probabilities : list (one per model) of (N,) P(COVID), optional, written in each CAM cell
    masks : list of (h, w) bool lesion masks, optional, outlined in red on the CT image
    true_labels : list of str, optional, each image's true class, written under its name
    map_class : which class's maps these are, in words ("COVID", "each image's predicted class")
    title : the picture's title (default: says whose maps of which class)
    path : write the PNG there when given

    Returns the image: a title, a header row, N rows of ``cell``-px pictures with their labels, a colour bar,
    and notes explaining the colours, the outline and P(COVID).
    """
    n, k = len(grays), len(maps_per_model)
    if n == 0 or k == 0 or len(model_titles) != k:
        raise ValueError(f"need >= 1 image, >= 1 model and one title per model; got {n}, {k}, {len(model_titles)}")
    big, fnt, small = font(TITLE_SIZE), font(LABEL_SIZE), font(SMALL_SIZE)
    gap = 8
    heads = [two_lines(t, fnt, cell + gap) for t in ["CT image"] + list(model_titles)]
    bar = legend_bar(cell, fnt=small)
    W = gap + (1 + k) * (cell + gap) + bar.size[0] + gap
    title = title if title is not None else f"Class activation maps of {map_class}"
    title_lines = wrap(title, big, W - 2 * gap)
    title_h = 8 + 20 * len(title_lines)
    head_h = title_h + 18 * max(len(h) for h in heads) + 6
    label_lines = (1 if row_labels else 0) + (1 if true_labels else 0)
    label_h = 17 * label_lines + (4 if label_lines else 0)
    row_h = cell + label_h + gap
    has_mask = masks is not None and any(m is not None for m in masks)
    notes = [f"Columns after the first: each network's class activation map of {map_class}, scaled per image "
             f"to 0 (lowest) .. 1 (highest) as the colour bar shows, over the slice at opacity {alpha:g}; "
             "bright = where the evidence lies."]
    if probabilities is not None:
        notes.append("P(COVID): that network's probability that the slice shows COVID-19.")
    if true_labels:
        notes.append("true: the image's label (its class folder).")
    if has_mask:
        notes.append(("red outline: the lesions drawn into the phantom (ground truth)", MASK_COLOUR))
    notes_h = _notes_height(notes, small, W - 2 * gap)
    H = head_h + n * row_h + notes_h + gap
    img = Image.new("RGB", (W, H), WHITE)
    d = ImageDraw.Draw(img)
    for m, line in enumerate(title_lines):
        _text(d, (gap, 6 + 20 * m), line, big)
    for j, lines in enumerate(heads):
        x = gap + j * (cell + gap) + cell // 2
        for m, line in enumerate(lines):
            _text(d, (x, title_h + 18 * m), line, fnt, anchor="ma")
    for i in range(n):
        y = head_h + i * row_h
        orig = gray_image(grays[i], cell)
        if masks is not None and masks[i] is not None:
            orig = _outline(orig, masks[i])
        img.paste(orig, (gap, y))
        ly = y + cell + 3
        if row_labels:
            _text(d, (gap + cell // 2, ly), _fit(d, str(row_labels[i]), small, cell + gap), small, anchor="ma")
            ly += 17
        if true_labels:
            _text(d, (gap + cell // 2, ly), _fit(d, f"true: {true_labels[i]}", small, cell + gap), small,
                  anchor="ma")
        for j in range(k):
            x = gap + (j + 1) * (cell + gap)
            img.paste(overlay(grays[i], maps_per_model[j][i], alpha, cell), (x, y))
            if probabilities is not None and probabilities[j] is not None:
                label = f"P(COVID) {float(probabilities[j][i]):.2f}"
                w, h = text_size(d, label, small)
                d.rectangle([x, y, x + w + 8, y + h + 8], fill=(0, 0, 0))
                _text(d, (x + 4, y + 2), label, small, fill=WHITE)
    img.paste(bar, (gap + (1 + k) * (cell + gap), head_h))
    _notes(img, head_h + n * row_h, notes, small, left=gap)
    if path is not None:
        save_png(img, path)
    return img


# --- labelled image grids --------------------------------------------------------------------------------------
def image_grid(cells, column_titles, row_titles=None, captions=None, title: str = "", notes=(),
               cell: int = 128) -> Image.Image:
    """Gray pictures in rows and columns, every row and column labelled.

    Parameters
    ----------
    cells : list of rows, each a list of (h, w) arrays in [0, 1] (shown ``cell`` px square, bilinear)
    column_titles : list of str, one per column, written above it ("\\n" for a second line)
    row_titles : list of str, optional, one per row, written at the left ("\\n"-separated lines)
    captions : list of rows of str, optional, written under each picture
    title : the picture's title;  notes : lines written under the grid
    """
    R = len(cells)
    C = len(column_titles)
    if R == 0 or any(len(r) != C for r in cells):
        raise ValueError(f"cells must be >= 1 rows of {C} pictures (one per column title), got "
                         f"{[len(r) for r in cells]}")
    big, fnt, small = font(TITLE_SIZE), font(LABEL_SIZE), font(SMALL_SIZE)
    gap = 8
    d0 = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = 0
    if row_titles:
        left = min(170, max(text_size(d0, ln, small)[0] for t in row_titles for ln in str(t).split("\n")) + 12)
    head_lines = max(len(str(t).split("\n")) for t in column_titles)
    title_h = 30 if title else 6
    head_h = title_h + 18 * head_lines + 4
    cap_h = 18 if captions else 0
    row_h = cell + cap_h + gap
    W = gap + left + C * (cell + gap) + gap
    W = max(W, text_size(d0, title, big)[0] + 2 * gap) if title else W
    notes_h = _notes_height(list(notes), small, W - 2 * gap)
    H = head_h + R * row_h + notes_h + gap
    img = Image.new("RGB", (W, H), WHITE)
    d = ImageDraw.Draw(img)
    if title:
        _text(d, (gap, 6), title, big)
    for j, t in enumerate(column_titles):
        x = gap + left + j * (cell + gap) + cell // 2
        for m, line in enumerate(str(t).split("\n")):
            _text(d, (x, title_h + 18 * m), _fit(d, line, fnt if m == 0 else small, cell + gap),
                  fnt if m == 0 else small, anchor="ma")
    for i, row in enumerate(cells):
        y = head_h + i * row_h
        if row_titles:
            lines = str(row_titles[i]).split("\n")
            for m, line in enumerate(lines):
                _text(d, (gap, y + cell // 2 + 18 * m - 9 * len(lines)), _fit(d, line, small, left - 4), small)
        for j, a in enumerate(row):
            x = gap + left + j * (cell + gap)
            img.paste(gray_image(a, cell), (x, y))
            if captions:
                _text(d, (x + cell // 2, y + cell + 2), _fit(d, str(captions[i][j]), small, cell + gap), small,
                      anchor="ma")
    _notes(img, head_h + R * row_h, list(notes), small, left=gap)
    return img


# --- line plots ----------------------------------------------------------------------------------------------
def augmentation_image(cells, params, row_labels=None, cell: int = 128) -> Image.Image:
    """A labelled grid of the x4 augmentation: one row per image, columns original | rotated | scaled | noisy.

    ``cells``: (R, 4, H, W) in [0, 1] and ``params`` (R dicts with ``angle`` and ``scale``), as returned by
    ``squeezenp.data.augmentation_examples``; ``row_labels``: one per row, written at its left (e.g. the file
    name and class); ``cell``: side of each picture in pixels. The picture has a title, column titles with each
    transform's range, each copy captioned with the angle, factor or noise level it drew, and a note on what the
    augmentation is for.
    """
    from ..data.augment import ANGLE_RANGE, NOISE_SIGMA, SCALE_RANGE
    cells = np.asarray(cells)
    R = len(cells)
    (a0, a1), (s0, s1) = ANGLE_RANGE, SCALE_RANGE
    columns = ["original", f"rotation\nangle ~ U({a0:g}°, {a1:g}°)", f"scaling (zoom in)\nfactor ~ U({s0:g}, {s1:g})",
               f"Gaussian noise\nsigma = {NOISE_SIGMA:g}"]
    captions = [["as loaded", f"{p['angle']:.1f}°", f"x{p['scale']:.2f}", f"sigma {NOISE_SIGMA:g}"] for p in params]
    title = "x4 augmentation of the training images: each original and one copy per transform"
    notes = ["Each copy has one transform only, drawn at random per image; the training set is the originals plus "
             "the three copies (four times as many images). Intensities are on a 0 (black) to 1 (white) scale. "
             "Validation and test images are never augmented."]
    labels = list(row_labels)[:R] if row_labels is not None else None
    return image_grid([list(row) for row in cells], columns, labels, captions, title, notes, cell)


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` round tick values covering [lo, hi] (steps 1, 2, 2.5, 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.array([0.0, 1.0])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    stop = math.ceil(hi / step - 1e-9) * step
    return np.round(np.arange(start, stop + step / 2, step), 10)


def _fmt(v: float, step: float) -> str:
    digits = max(0, -int(math.floor(math.log10(step)))) if step > 0 else 0
    if abs(step * 10 ** digits - round(step * 10 ** digits)) > 1e-6:   # e.g. 2.5 steps need one more digit
        digits += 1
    return f"{v:.{digits}f}"


class _Axes:
    """Data -> pixel transform and drawing of one panel inside ``img`` at ``box`` (left, top, right, bottom)."""

    def __init__(self, img, box, xlim, ylim, title="", xlabel="", ylabel="", integer_x=False, subtitle=""):
        self.img, self.d = img, ImageDraw.Draw(img)
        self.fnt, self.small = font(LABEL_SIZE), font(SMALL_SIZE)
        L, T, R, B = box
        self.L, self.T, self.R, self.B = L + 66, T + 30 + (18 if subtitle else 0), R - 14, B - 46
        self.subtitle = subtitle
        self.xt = nice_ticks(*xlim, n=6)
        if integer_x:
            self.xt = self.xt[np.isclose(self.xt, np.round(self.xt))]
            if len(self.xt) < 2:
                self.xt = np.array([math.floor(xlim[0]), math.floor(xlim[0]) + 1.0])
        self.yt = nice_ticks(*ylim, n=5)
        self.points = []   # pixel positions of the data drawn, for placing the legend
        self.x0, self.x1 = min(self.xt[0], xlim[0]), max(self.xt[-1], xlim[1])
        if integer_x:      # exactly the given range (callers pad it), so a mark on the last epoch stays inside
            inside = self.xt[(self.xt >= xlim[0] - 1e-9) & (self.xt <= xlim[1] + 1e-9)]
            self.xt = inside if len(inside) else np.array([float(round((xlim[0] + xlim[1]) / 2))])
            self.x0, self.x1 = float(xlim[0]), float(xlim[1])
        self.y0, self.y1 = float(self.yt[0]), float(self.yt[-1])
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        self._frame(title, xlabel, ylabel, box)

    def px(self, x, y):
        return (self.L + (x - self.x0) / (self.x1 - self.x0) * (self.R - self.L),
                self.B - (y - self.y0) / (self.y1 - self.y0) * (self.B - self.T))

    def _frame(self, title, xlabel, ylabel, box):
        d = self.d
        xs = float(self.xt[1] - self.xt[0]) if len(self.xt) > 1 else 1.0
        ys = float(self.yt[1] - self.yt[0]) if len(self.yt) > 1 else 1.0
        for v in self.yt:
            _, y = self.px(self.x0, v)
            d.line([self.L, y, self.R, y], fill=GRID)
            d.line([self.L - 4, y, self.L, y], fill=TEXT)
            _text(d, (self.L - 6, y), _fmt(v, ys), self.small, anchor="rm")
        for v in self.xt:
            x, _ = self.px(v, self.y0)
            d.line([x, self.T, x, self.B], fill=GRID)
            d.line([x, self.B, x, self.B + 4], fill=TEXT)
            _text(d, (x, self.B + 6), _fmt(v, xs), self.small, anchor="ma")
        d.rectangle([self.L, self.T, self.R, self.B], outline=TEXT)
        if title:
            _text(d, ((self.L + self.R) // 2, box[1] + 14), _fit(d, title, self.fnt, box[2] - box[0] - 8),
                  self.fnt, anchor="mm")
        if self.subtitle:
            _text(d, ((self.L + self.R) // 2, box[1] + 32), _fit(d, self.subtitle, self.small, box[2] - box[0] - 8),
                  self.small, anchor="mm")
        if xlabel:
            _text(d, ((self.L + self.R) // 2, box[3] - 13), xlabel, self.fnt, anchor="mm")
        if ylabel:
            _vertical_text(self.img, ylabel, self.fnt, (box[0] + 14, (self.T + self.B) // 2), self.B - self.T)

    def line(self, xs, ys, colour, width=2, marker=True, dash=False):
        """A polyline through the finite points; a NaN breaks it. Markers show isolated (e.g. single) points."""
        xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        ok = np.isfinite(xs) & np.isfinite(ys)
        self.points += [self.px(x, y) for x, y in zip(xs[ok], ys[ok])]
        seg = []
        for x, y, good in zip(xs, ys, ok):
            if good:
                seg.append(self.px(x, y))
            if (not good or (x, y) == (xs[-1], ys[-1])) and seg:
                self._polyline(seg, colour, width, dash)
                seg = []
        if seg:
            self._polyline(seg, colour, width, dash)
        if marker:
            for x, y in zip(xs[ok], ys[ok]):
                self.dot(x, y, colour, 3, record=False)

    def dot(self, x, y, colour, radius=3, record=True):
        px, py = self.px(x, y)
        if record:
            self.points.append((px, py))
        self.d.ellipse([px - radius, py - radius, px + radius, py + radius], fill=colour)

    def vline(self, x, colour, width=2, style="solid", text=None):
        """A vertical mark at data ``x`` across the panel, with ``text`` written beside its top."""
        px, _ = self.px(x, self.y0)
        if not self.L <= px <= self.R:
            return
        ys = np.linspace(self.T, self.B, 24)
        self.points += [(px, y) for y in ys]
        if style == "solid":
            self.d.line([px, self.T, px, self.B], fill=colour, width=width)
        else:                                                   # "dash" or "dot"
            on, period = (6, 10) if style == "dash" else (2, 5)
            for y in range(int(self.T), int(self.B), period):
                self.d.line([px, y, px, min(y + on, self.B)], fill=colour, width=width)
        if text:
            _text(self.d, (px + 3, self.T + 3), text, self.small, fill=colour)

    def _polyline(self, pts, colour, width, dash):
        if len(pts) < 2:
            return
        if not dash:   # segment by segment: a multi-point wide line can come out 1 px thin in places
            for a, b in zip(pts[:-1], pts[1:]):
                self.d.line([a, b], fill=colour, width=width)
            return
        for (xa, ya), (xb, yb) in zip(pts[:-1], pts[1:]):
            n = max(1, int(math.hypot(xb - xa, yb - ya) // 6))
            for s in range(0, n, 2):
                t0, t1 = s / n, min(1.0, (s + 1) / n)
                self.d.line([xa + t0 * (xb - xa), ya + t0 * (yb - ya), xa + t1 * (xb - xa), ya + t1 * (yb - ya)],
                            fill=colour, width=width)

    def legend(self, entries, where="best"):
        """Boxed legend of (label, colour, style) entries inside the plot area; style is False/"solid", True/
        "dash", "dot" or "marker". "best" picks the corner whose box covers the fewest data points (on a tie,
        the first of upper right, lower right, upper/lower left)."""
        if not entries:
            return
        d, f = self.d, self.small
        w = max(text_size(d, e[0], f)[0] for e in entries) + 38
        h = 18 * len(entries) + 6

        def corner(name):
            return (self.R - w - 6 if "right" in name else self.L + 6,
                    self.T + 6 if "upper" in name else self.B - h - 6)

        if where == "best":
            pts = np.array(self.points).reshape(-1, 2)
            # samples along the segments too, so a line crossing the box counts, not only its markers
            if len(pts) > 1:
                t = np.linspace(0, 1, 12)[:, None, None]
                pts = (pts[:-1] + t * (pts[1:] - pts[:-1])).reshape(-1, 2)

            def covered(name):
                x, y = corner(name)
                return int(((pts[:, 0] >= x - 4) & (pts[:, 0] <= x + w + 4) &
                            (pts[:, 1] >= y - 4) & (pts[:, 1] <= y + h + 4)).sum())
            where = min(("upper right", "lower right", "upper left", "lower left"), key=covered)
        x, y = corner(where)
        d.rectangle([x, y, x + w, y + h], fill=WHITE, outline=(160, 160, 160))
        for i, (label, colour, style) in enumerate(entries):
            _legend_entry(d, x + 6, y + 12 + 18 * i, label, colour, style, f)

    def message(self, text):
        _text(self.d, ((self.L + self.R) // 2, (self.T + self.B) // 2), text, self.fnt, anchor="mm")


def _legend_entry(d, x, cy, label, colour, style, fnt) -> int:
    """A 20-px sample of a line style (False/"solid", True/"dash", "dot", "marker") and its label, starting at
    x and centred on the height cy; returns the x where the label ends."""
    style = {False: "solid", True: "dash"}.get(style, style)
    if style == "dash":
        d.line([x, cy, x + 7, cy], fill=colour, width=2)
        d.line([x + 13, cy, x + 20, cy], fill=colour, width=2)
    elif style == "dot":
        for sx in range(x, x + 21, 5):
            d.line([sx, cy, sx + 2, cy], fill=colour, width=2)
    elif style == "marker":
        d.ellipse([x + 6, cy - 4, x + 14, cy + 4], fill=colour)
    else:
        d.line([x, cy, x + 20, cy], fill=colour, width=2)
    _text(d, (x + 26, cy), label, fnt, anchor="lm")
    return x + 26 + text_size(d, label, fnt)[0]


def legend_row(img: Image.Image, cy: int, entries, fnt=None) -> None:
    """A legend of (label, colour, style) entries on one line, centred horizontally at height ``cy``."""
    d, fnt = ImageDraw.Draw(img), fnt or font(SMALL_SIZE)
    widths = [26 + text_size(d, e[0], fnt)[0] for e in entries]
    x = (img.size[0] - sum(widths) - 24 * (len(entries) - 1)) // 2
    for (label, colour, style), w in zip(entries, widths):
        _legend_entry(d, x, cy, label, colour, style, fnt)
        x += w + 24


def _finite_range(*arrays, pad=0.05, floor=None, ceil=None):
    vals = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays]) if arrays else np.array([])
    vals = vals[np.isfinite(vals)]
    if len(vals) == 0:
        return (0.0, 1.0), False
    lo, hi = float(vals.min()), float(vals.max())
    if hi > lo:
        lo, hi = lo - pad * (hi - lo), hi + pad * (hi - lo)
    else:                                  # one value (e.g. a single epoch): a window around it
        half = max(abs(hi), 1.0) * 0.05
        lo, hi = lo - half, hi + half
    if floor is not None:
        lo = max(lo, floor)
    if ceil is not None:
        hi = min(hi, ceil)
    return (lo, hi), True


def line_panel(img, box, series, title, xlabel, ylabel, floor=None, ceil=None, where="best", marks=()):
    """Draw line ``series`` [(label, xs, ys, colour, dashed)] as one panel of ``img`` inside ``box``.

    ``marks``: vertical marks [(label, x, colour, style, text)] drawn under the lines (e.g. the selected epoch);
    those with a label get a legend entry (the first of several with the same label only). ``where``: the
    legend's corner, "best", or None for no legend in the panel (the caller draws one, e.g. ``legend_row``)."""
    xs_all = [s[1] for s in series]
    (x0, x1), _ = _finite_range(*xs_all, pad=0.0)
    x0, x1 = x0 - 0.5, x1 + 0.5                       # half an epoch either side: end points and marks show
    ylim, any_data = _finite_range(*[s[2] for s in series], floor=floor, ceil=ceil)
    ax = _Axes(img, box, (x0, x1), ylim, title, xlabel, ylabel, integer_x=True)
    if not any_data:
        ax.message("no data")
        return ax
    for _, x, colour, style, text in marks:
        ax.vline(x, colour, width=2 if style == "solid" else 1, style=style, text=text)
    for label, xs, ys, colour, dash in series:
        ax.line(xs, ys, colour, dash=dash)
    if where:
        ax.legend(panel_legend(series, marks), where)
    return ax


def panel_legend(series, marks=()) -> list:
    """Legend entries of ``line_panel``'s series (those with data) and marks (first of each label)."""
    entries = [(s[0], s[3], s[4]) for s in series if np.isfinite(np.asarray(s[2], dtype=float)).any()]
    seen = set()
    for label, _, colour, style, _ in marks:
        if label and label not in seen:
            seen.add(label)
            entries.append((label, colour, style))
    return entries


def _column(history, key):
    return np.array([np.nan if h.get(key) is None else float(h[key]) for h in history], dtype=np.float64)


def lr_drops(history) -> list[tuple[int, float]]:
    """(epoch, new learning rate) for every epoch that starts with a lower learning rate than the one before, in
    a piecewise-constant schedule; a schedule that lowers the rate at most epochs (cosine) has no drops to mark."""
    lr, ep = _column(history, "lr"), _column(history, "epoch")
    drops = [(int(ep[i]), float(lr[i])) for i in range(1, len(lr))
             if np.isfinite(lr[i]) and np.isfinite(lr[i - 1]) and lr[i] < lr[i - 1]]
    return [] if len(drops) > (len(lr) - 1) / 2 else drops


def training_curves(history, selected_epoch: int | None = None, title: str | None = None,
                    size=(1000, 460)) -> Image.Image:
    """Two panels, loss and accuracy per epoch: training (solid blue) and validation (dashed orange), the
    selected epoch (green line) and the learning-rate drops (dotted gray lines, labelled with the new rate,
    drawn half an epoch before the first epoch that uses it)."""
    img = Image.new("RGB", size, WHITE)
    W, H = size
    d = ImageDraw.Draw(img)
    _text(d, (W // 2, 16), _fit(d, title or "Training: loss and accuracy per epoch", font(TITLE_SIZE), W - 16),
          font(TITLE_SIZE), anchor="mm")
    ep = _column(history, "epoch") if history else np.array([])
    if len(ep) and not np.isfinite(ep).all():
        ep = np.arange(1, len(history) + 1, dtype=np.float64)
    drops = lr_drops(history) if history else []
    label_drops = len(drops) <= 6                                # beyond that the labels would overlap
    marks = [("learning-rate drop", e - 0.5, DROP_COLOUR, "dot", f"lr {lr:.3g}" if label_drops else None)
             for e, lr in drops]
    if selected_epoch:
        marks.append((f"selected epoch {int(selected_epoch)}", float(selected_epoch), SELECTED_COLOUR, "solid",
                      None))
    loss = [("training", ep, _column(history, "train_loss"), TRAIN_COLOUR, False),
            ("validation", ep, _column(history, "val_loss"), VAL_COLOUR, True)]
    acc = [("training", ep, _column(history, "train_accuracy"), TRAIN_COLOUR, False),
           ("validation", ep, _column(history, "val_accuracy"), VAL_COLOUR, True)]
    entries = panel_legend(loss, marks) if history else []   # both panels share series and marks
    if entries:   # one legend for both panels, above them, so that it never hides a point
        legend_row(img, 42, entries)
    top = 54
    line_panel(img, (0, top, W // 2, H), loss, "Loss", "epoch", "cross-entropy loss (nats)", floor=0.0,
               marks=marks, where=None)
    line_panel(img, (W // 2, top, W, H), acc, "Accuracy", "epoch", "accuracy (fraction correct)", floor=0.0,
               ceil=1.0, marks=[(m[0], m[1], m[2], m[3], None) for m in marks], where=None)
    return img


def search_progress(trials, title: str = "", n_initial: int = 0, size=(760, 420)) -> Image.Image:
    """Validation accuracy of each trial of a search (dots; failed trials as red marks on the axis), the best
    so far (green steps) and where the Gaussian process took over from the ``n_initial`` random trials."""
    img = Image.new("RGB", size, WHITE)
    n = np.array([float(t.get("trial", i + 1)) for i, t in enumerate(trials)])
    ok = np.array([t.get("status") == "ok" and t.get("val_accuracy") is not None for t in trials], dtype=bool)
    acc = np.array([float(t["val_accuracy"]) if good else np.nan for t, good in zip(trials, ok)])
    best = np.fmax.accumulate(np.where(ok, acc, -np.inf)) if len(acc) else acc
    best = np.where(np.isfinite(best), best, np.nan)
    d = ImageDraw.Draw(img)
    _text(d, (size[0] // 2, 16), _fit(d, title or "Bayesian search: validation accuracy per trial",
                                      font(TITLE_SIZE), size[0] - 16), font(TITLE_SIZE), anchor="mm")
    entries = [("trial", TRAIN_COLOUR, "marker"), ("best so far", SELECTED_COLOUR, "solid")]
    if (~ok).any():
        entries.append(("failed trial (diverged)", MASK_COLOUR, "marker"))
    marks = []
    if 0 < n_initial < len(trials):
        marks.append(("", n_initial + 0.5, DROP_COLOUR, "dot", None))
        entries.append(("random trials end; the Gaussian process picks the rest", DROP_COLOUR, "dot"))
    legend_row(img, 42, entries)
    (lo, hi), any_ok = _finite_range(acc, floor=0.0, ceil=1.0)
    lo = 0.0 if (~ok).any() else lo
    xmax = max(float(n.max()) if len(n) else 1.0, 2.0)
    ax = _Axes(img, (0, 54, size[0], size[1]), (0.5, xmax + 0.5), (lo, hi), "", "trial",
               "validation accuracy (fraction)", integer_x=True)
    if not len(trials):
        ax.message("no trial yet")
        return img
    for _, x, colour, style, text in marks:
        ax.vline(x, colour, width=1, style=style, text=text)
    ax.line(n, best, SELECTED_COLOUR, width=2, marker=False)
    for x, a, good in zip(n, acc, ok):
        if good:
            ax.dot(x, a, TRAIN_COLOUR, 4)
        else:
            ax.dot(x, ax.y0, MASK_COLOUR, 5)
    return img


# --- confusion matrix and ROC --------------------------------------------------------------------------------
def confusion_image(cm, split: str = "", class_names=("NonCOVID", "COVID"), size: int = 360,
                    subtitle: str = "") -> Image.Image:
    """A 2x2 grid ``[[TN, FP], [FN, TP]]`` (rows true, columns predicted), cells coloured by their share of
    the row (viridis), with the count and that share written in each. Missing/NaN counts show as "-".
    ``subtitle`` (e.g. the split's role) is written under the title; a note under the grid explains the colour.
    """
    a = np.full((2, 2), np.nan)
    if cm is not None:
        try:
            a = np.asarray(cm, dtype=np.float64).reshape(2, 2)
        except (TypeError, ValueError):
            pass
    rows = np.nansum(a, axis=1, keepdims=True)
    share = np.divide(a, rows, out=np.full_like(a, np.nan), where=rows > 0)
    fnt, big, small, head = font(LABEL_SIZE), font(18), font(SMALL_SIZE), font(TITLE_SIZE)
    L, T = 100, 64 + (18 if subtitle else 0)
    c = (size - L - 16) // 2
    note = "colour and %: share of the true class (row); TN/FP/FN/TP with COVID as positive"
    note_lines = wrap(note, small, size - 16)
    height = T + 8 + 2 * c + 26 + 18 * len(note_lines) + 6
    img = Image.new("RGB", (size, height), WHITE)
    d = ImageDraw.Draw(img)
    total = np.nansum(a)
    n_text = f"n={int(total)}" if np.isfinite(a).any() else "no data"
    _text(d, (size // 2, 14), _fit(d, f"Confusion matrix{' - ' + split if split else ''} ({n_text})", head,
                                   size - 8), head, anchor="mm")
    if subtitle:
        _text(d, (size // 2, 34), _fit(d, subtitle, small, size - 8), small, anchor="mm")
    _text(d, (L + c, T - 12), "predicted class", fnt, anchor="mm")
    for i in range(2):
        for j in range(2):
            x, y = L + j * c, T + 8 + i * c
            s = share[i, j]
            fill = cmap_color(s) if np.isfinite(s) else (200, 200, 200)
            d.rectangle([x, y, x + c - 2, y + c - 2], fill=fill)
            ink = BLACK if not np.isfinite(s) or s > 0.55 else WHITE
            count = "-" if not np.isfinite(a[i, j]) else f"{int(a[i, j])}"
            _text(d, (x + c // 2, y + c // 2 - 10), count, big, fill=ink, anchor="mm")
            _text(d, (x + c // 2, y + c // 2 + 13), "-" if not np.isfinite(s) else f"{100 * s:.0f}% of row",
                  small, fill=ink, anchor="mm")
            tag = [["TN", "FP"], ["FN", "TP"]][i][j]
            _text(d, (x + 4, y + 3), tag, small, fill=ink)
        _text(d, (L - 6, T + 8 + i * c + c // 2), class_names[i], fnt, anchor="rm")
    for j in range(2):
        _text(d, (L + j * c + c // 2, T + 8 + 2 * c + 4), class_names[j], fnt, anchor="ma")
    _vertical_text(img, "true class", fnt, (12, T + 8 + c))
    _notes(img, T + 8 + 2 * c + 26, [note], small)
    return img


def roc_image(labels, scores, split: str = "", auc: float | None = None, size=(420, 420),
              subtitle: str = "", threshold: float = 0.5) -> Image.Image:
    """ROC curve (TPR against FPR over every threshold) with the chance diagonal and the operating point of
    ``threshold`` (the one the metrics use); AUC in the title. With one class only (or no data) the curve
    is undefined and the panel says so."""
    from ..train.metrics import roc_auc, roc_curve
    y = np.asarray(labels, dtype=np.float64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    ok = np.isfinite(y) & np.isfinite(s)
    y, s = y[ok].astype(int), s[ok]
    if auc is None or not np.isfinite(auc):
        auc = roc_auc(y, s) if len(y) else float("nan")
    name = f"ROC curve{' - ' + split if split else ''}"
    title = f"{name} (AUC {auc:.3f})" if np.isfinite(auc) else f"{name} (AUC undefined)"
    img = Image.new("RGB", size, WHITE)
    ax = _Axes(img, (0, 0, size[0], size[1]), (0.0, 1.0), (0.0, 1.0), title,
               "false positive rate (1 - specificity)", "true positive rate (sensitivity)", subtitle=subtitle)
    ax.line([0, 1], [0, 1], CHANCE_COLOUR, width=1, marker=False, dash=True)
    if len(y) == 0 or y.min() == y.max():
        ax.message("needs both classes")
        return img
    fpr, tpr, _ = roc_curve(y, s)
    ax.line(fpr, tpr, TRAIN_COLOUR, width=2, marker=False)
    pred = s >= threshold
    op_tpr, op_fpr = float(pred[y == 1].mean()), float(pred[y == 0].mean())
    ax.dot(op_fpr, op_tpr, VAL_COLOUR, radius=5)
    ax.legend([(f"model (AUC {auc:.3f})", TRAIN_COLOUR, "solid"), ("chance", CHANCE_COLOUR, "dash"),
               (f"threshold {threshold:.3g}: sens {op_tpr:.2f}, spec {1 - op_fpr:.2f}", VAL_COLOUR, "marker")],
              "lower right")
    return img


def _safe(name) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))


def write_evaluation_figures(out_dir, metrics, rows, roles=None) -> list[Path]:
    """``confusion_<split>.png`` and ``roc_<split>.png`` for every split of ``metrics`` into ``out_dir``.

    ``metrics``: {split: binary_metrics dict}; ``rows``: prediction dicts {split, label, probability_covid};
    ``roles``: {split: what the split was used for}, written under each title."""
    out, paths, roles = Path(out_dir), [], roles or {}
    rows = list(rows or [])
    for split, m in (metrics or {}).items():
        m = m or {}
        role = roles.get(split, "")
        paths.append(save_png(confusion_image(m.get("confusion_matrix"), str(split), subtitle=role),
                              out / f"confusion_{_safe(split)}.png"))
        sel = [r for r in rows if r.get("split") == split]
        labels = [r.get("label", np.nan) for r in sel]
        scores = [np.nan if r.get("probability_covid") is None else r["probability_covid"] for r in sel]
        auc = m.get("roc_auc")
        paths.append(save_png(roc_image(labels, scores, str(split), None if auc is None else float(auc),
                                        subtitle=role, threshold=float(m.get("threshold", 0.5))),
                              out / f"roc_{_safe(split)}.png"))
    return paths


def write_training_figures(out_dir, history, metrics, rows, selected_epoch: int | None = None,
                           title: str | None = None, roles=None) -> list[Path]:
    """Write the report pictures into ``out_dir``; returns their paths.

    ``training_curves.png`` (loss and accuracy per epoch, training and validation, the selected epoch and the
    learning-rate drops), and per evaluated split ``confusion_<split>.png`` and ``roc_<split>.png``.
    ``history``: list of dicts (epoch, lr, train_loss, train_accuracy, val_loss, val_accuracy, ...);
    ``metrics``: {split: binary_metrics dict}; ``rows``: prediction dicts {split, label, probability_covid, ...};
    ``roles``: {split: what it was used for}.
    """
    out = Path(out_dir)
    paths = [save_png(training_curves(list(history or []), selected_epoch, title), out / "training_curves.png")]
    return paths + write_evaluation_figures(out, metrics, rows, roles)


__all__ = ["font", "wrap", "save_png", "overlay", "legend_bar", "cam_figure", "write_cam_image", "cam_grid",
           "image_grid", "augmentation_image", "nice_ticks", "line_panel", "lr_drops", "training_curves", "search_progress",
           "confusion_image", "roc_image",
           "write_evaluation_figures", "write_training_figures"]
