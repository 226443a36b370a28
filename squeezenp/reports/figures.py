"""Report pictures drawn with Pillow only: CAM overlays and grids, training curves, confusion matrices, ROC.

Teaches: a plot is a handful of coordinate transforms and primitives. ``_Axes`` maps data to pixels
(``px = left + (x - x0) / (x1 - x0) * width``, y flipped), picks "nice" tick steps (1, 2, 2.5 or 5 times a power
of ten), and draws lines, markers, a legend and rotated axis labels; NaN points break a line instead of
poisoning it. CAM overlays alpha-blend a viridis-coloured map over the gray CT slice,
``rgb = (1 - alpha) * gray + alpha * viridis(cam)``, with a 0..1 colour bar, as in Figures 4 and 5 of
Polsinelli et al. (2020). Text uses Pillow's default font (``ImageFont.load_default``).

``write_training_figures(out_dir, history, metrics, rows)`` is called by ``squeezenp.app.pipeline.run_experiment``
(so by ``train`` and ``demo``). Tests: ``tests/reports/test_figures.py``; docs and examples: ``docs/cam.md``.
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
MASK_COLOUR = (255, 60, 60)


def font(size: int = 12):
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


def legend_bar(height: int, bar_width: int = 14, fnt=None, label: str | None = None) -> Image.Image:
    """A vertical viridis colour bar, 1 at the top and 0 at the bottom, with ticks 0, 0.25, ..., 1."""
    fnt = fnt or font(11)
    pad_y = 8
    img = Image.new("RGB", (bar_width + 44, height), WHITE)
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
        _text(d, (4, 0), label, fnt)
    return img


def cam_figure(gray, cam, title: str = "", alpha: float = 0.45, size: int = 256, mask=None) -> Image.Image:
    """One image: title lines ("\n"-separated), the overlay (``size`` px square) and a 0..1 colour bar at its right."""
    fnt = font(12)
    ov = overlay(gray, cam, alpha, size)
    if mask is not None:
        ov = _outline(ov, mask)
    bar = legend_bar(size, fnt=font(11))
    lines = [t for t in str(title).split("\n") if t] if title else []
    title_h = 6 + 16 * len(lines) if lines else 4
    img = Image.new("RGB", (size + bar.size[0] + 12, size + title_h + 6), WHITE)
    img.paste(ov, (6, title_h))
    img.paste(bar, (size + 10, title_h))
    d = ImageDraw.Draw(img)
    for k, line in enumerate(lines):
        _text(d, (6, 4 + 16 * k), _fit(d, line, fnt, img.size[0] - 12), fnt)
    return img


def write_cam_image(path, gray, cam, title: str = "", alpha: float = 0.45, size: int = 256, mask=None) -> Path:
    return save_png(cam_figure(gray, cam, title, alpha, size, mask), path)


def _fit(draw, text: str, fnt, width: int) -> str:
    """Shorten ``text`` with an ellipsis until it fits in ``width`` pixels."""
    if text_size(draw, text, fnt)[0] <= width:
        return text
    while len(text) > 1 and text_size(draw, text + "...", fnt)[0] > width:
        text = text[:-1]
    return text + "..."


def cam_grid(grays, maps_per_model, model_titles, path=None, row_labels=None, probabilities=None, masks=None,
             cell: int = 160, alpha: float = 0.45) -> Image.Image:
    """The layout of the paper's Figures 4 and 5: rows are images; columns the original, then one CAM per model.

    Parameters
    ----------
    grays : list of (h, w) slices in [0, 1]
    maps_per_model : list (one per model) of (N, H, W) maps in [0, 1], or lists of (H, W) maps
    model_titles : list of str, column titles
    row_labels : list of str, optional, written under each original
    probabilities : list (one per model) of (N,) P(COVID), optional, written in each CAM cell
    masks : list of (h, w) bool lesion masks, optional, outlined in red on the original
    path : write the PNG there when given

    Returns the image: width 2 * gap + (1 + models) * (cell + gap) + colour bar, height title + N * row.
    """
    n, k = len(grays), len(maps_per_model)
    if n == 0 or k == 0 or len(model_titles) != k:
        raise ValueError(f"need >= 1 image, >= 1 model and one title per model; got {n}, {k}, {len(model_titles)}")
    fnt, small = font(12), font(11)
    gap, title_h, label_h = 6, 22, 16 if row_labels else 0
    row_h = cell + label_h + gap
    bar = legend_bar(cell, fnt=small)
    W = gap + (1 + k) * (cell + gap) + bar.size[0] + gap
    H = title_h + n * row_h + gap
    img = Image.new("RGB", (W, H), WHITE)
    d = ImageDraw.Draw(img)
    for j, t in enumerate(["original"] + list(model_titles)):
        x = gap + j * (cell + gap) + cell // 2
        _text(d, (x, title_h // 2), _fit(d, t, fnt, cell), fnt, anchor="mm")
    for i in range(n):
        y = title_h + i * row_h
        orig = gray_image(grays[i], cell)
        if masks is not None and masks[i] is not None:
            orig = _outline(orig, masks[i])
        img.paste(orig, (gap, y))
        if row_labels:
            _text(d, (gap + cell // 2, y + cell + 2), _fit(d, str(row_labels[i]), small, cell), small, anchor="ma")
        for j in range(k):
            x = gap + (j + 1) * (cell + gap)
            img.paste(overlay(grays[i], maps_per_model[j][i], alpha, cell), (x, y))
            if probabilities is not None and probabilities[j] is not None:
                label = f"P(COVID) {float(probabilities[j][i]):.2f}"
                w, h = text_size(d, label, small)
                d.rectangle([x, y, x + w + 6, y + h + 6], fill=(0, 0, 0))
                _text(d, (x + 3, y + 2), label, small, fill=WHITE)
    img.paste(bar, (gap + (1 + k) * (cell + gap), title_h))
    if path is not None:
        save_png(img, path)
    return img


# --- line plots ----------------------------------------------------------------------------------------------
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

    def __init__(self, img, box, xlim, ylim, title="", xlabel="", ylabel="", integer_x=False):
        self.img, self.d = img, ImageDraw.Draw(img)
        self.fnt, self.small = font(12), font(11)
        L, T, R, B = box
        self.L, self.T, self.R, self.B = L + 56, T + 26, R - 10, B - 40
        self.xt = nice_ticks(*xlim, n=6)
        if integer_x:
            self.xt = self.xt[np.isclose(self.xt, np.round(self.xt))]
            if len(self.xt) < 2:
                self.xt = np.array([math.floor(xlim[0]), math.floor(xlim[0]) + 1.0])
        self.yt = nice_ticks(*ylim, n=5)
        self.points = []   # pixel positions of the data drawn, for placing the legend
        self.x0, self.x1 = min(self.xt[0], xlim[0]), max(self.xt[-1], xlim[1])
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
            _text(d, ((self.L + self.R) // 2, box[1] + 12), title, self.fnt, anchor="mm")
        if xlabel:
            _text(d, ((self.L + self.R) // 2, box[3] - 12), xlabel, self.fnt, anchor="mm")
        if ylabel:   # rotated: draw on a strip, turn it 90 degrees, paste at the left edge
            w, h = text_size(d, ylabel, self.fnt)
            strip = Image.new("RGB", (w + 4, h + 6), WHITE)
            _text(ImageDraw.Draw(strip), (2, 1), ylabel, self.fnt)
            strip = strip.rotate(90, expand=True)
            self.img.paste(strip, (box[0] + 4, (self.T + self.B) // 2 - strip.size[1] // 2))

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
                px, py = self.px(x, y)
                self.d.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)

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
        """Boxed legend of (label, colour, dashed) entries inside the plot area; "best" picks the corner whose
        box covers the fewest data points (on a tie, the first of upper right, lower right, upper/lower left)."""
        if not entries:
            return
        d, f = self.d, self.small
        w = max(text_size(d, e[0], f)[0] for e in entries) + 34
        h = 16 * len(entries) + 6

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
        for i, (label, colour, dash) in enumerate(entries):
            cy = y + 11 + 16 * i
            if dash:
                d.line([x + 6, cy, x + 12, cy], fill=colour, width=2)
                d.line([x + 17, cy, x + 23, cy], fill=colour, width=2)
            else:
                d.line([x + 6, cy, x + 24, cy], fill=colour, width=2)
            _text(d, (x + 30, cy), label, f, anchor="lm")

    def message(self, text):
        _text(self.d, ((self.L + self.R) // 2, (self.T + self.B) // 2), text, self.fnt, anchor="mm")


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


def line_panel(img, box, series, title, xlabel, ylabel, floor=None, ceil=None, where="best"):
    """Draw line ``series`` [(label, xs, ys, colour, dashed)] as one panel of ``img`` inside ``box``."""
    xs_all = [s[1] for s in series]
    (x0, x1), _ = _finite_range(*xs_all, pad=0.0)
    if x1 - x0 < 1:
        x0, x1 = x0 - 0.5, x1 + 0.5
    ylim, any_data = _finite_range(*[s[2] for s in series], floor=floor, ceil=ceil)
    ax = _Axes(img, box, (x0, x1), ylim, title, xlabel, ylabel, integer_x=True)
    if not any_data:
        ax.message("no data")
        return ax
    for label, xs, ys, colour, dash in series:
        ax.line(xs, ys, colour, dash=dash)
    ax.legend([(s[0], s[3], s[4]) for s in series if np.isfinite(np.asarray(s[2], dtype=float)).any()], where)
    return ax


def _column(history, key):
    return np.array([np.nan if h.get(key) is None else float(h[key]) for h in history], dtype=np.float64)


def training_curves(history, size=(900, 340)) -> Image.Image:
    """Two panels: loss and accuracy per epoch, training (solid blue) and validation (dashed orange)."""
    img = Image.new("RGB", size, WHITE)
    W, H = size
    ep = _column(history, "epoch") if history else np.array([])
    if len(ep) and not np.isfinite(ep).all():
        ep = np.arange(1, len(history) + 1, dtype=np.float64)
    line_panel(img, (0, 0, W // 2, H), [
        ("training", ep, _column(history, "train_loss"), TRAIN_COLOUR, False),
        ("validation", ep, _column(history, "val_loss"), VAL_COLOUR, True)],
        "Loss (cross-entropy)", "epoch", "loss", floor=0.0)
    line_panel(img, (W // 2, 0, W, H), [
        ("training", ep, _column(history, "train_accuracy"), TRAIN_COLOUR, False),
        ("validation", ep, _column(history, "val_accuracy"), VAL_COLOUR, True)],
        "Accuracy", "epoch", "accuracy", floor=0.0, ceil=1.0)
    return img


# --- confusion matrix and ROC --------------------------------------------------------------------------------
def confusion_image(cm, split: str = "", class_names=("NonCOVID", "COVID"), size: int = 340) -> Image.Image:
    """A 2x2 grid ``[[TN, FP], [FN, TP]]`` (rows true, columns predicted), cells coloured by their share of
    the row (viridis), with the count and that share written in each. Missing/NaN counts show as "-"."""
    a = np.full((2, 2), np.nan)
    if cm is not None:
        try:
            a = np.asarray(cm, dtype=np.float64).reshape(2, 2)
        except (TypeError, ValueError):
            pass
    rows = np.nansum(a, axis=1, keepdims=True)
    share = np.divide(a, rows, out=np.full_like(a, np.nan), where=rows > 0)
    fnt, big, small = font(12), font(16), font(11)
    img = Image.new("RGB", (size, size), WHITE)
    d = ImageDraw.Draw(img)
    L, T = 96, 52
    c = (size - L - 16) // 2
    total = np.nansum(a)
    n_text = f"n={int(total)}" if np.isfinite(a).any() else "no data"
    _text(d, (size // 2, 14), f"Confusion matrix{' - ' + split if split else ''} ({n_text})", fnt, anchor="mm")
    _text(d, (L + c, T - 14), "predicted", fnt, anchor="mm")
    for i in range(2):
        for j in range(2):
            x, y = L + j * c, T + 8 + i * c
            s = share[i, j]
            fill = cmap_color(s) if np.isfinite(s) else (200, 200, 200)
            d.rectangle([x, y, x + c - 2, y + c - 2], fill=fill)
            ink = BLACK if not np.isfinite(s) or s > 0.55 else WHITE
            count = "-" if not np.isfinite(a[i, j]) else f"{int(a[i, j])}"
            _text(d, (x + c // 2, y + c // 2 - 10), count, big, fill=ink, anchor="mm")
            _text(d, (x + c // 2, y + c // 2 + 12), "-" if not np.isfinite(s) else f"{100 * s:.0f}% of row",
                  small, fill=ink, anchor="mm")
            tag = [["TN", "FP"], ["FN", "TP"]][i][j]
            _text(d, (x + 4, y + 3), tag, small, fill=ink)
        _text(d, (L - 6, T + 8 + i * c + c // 2), class_names[i], fnt, anchor="rm")
    for j in range(2):
        _text(d, (L + j * c + c // 2, T + 8 + 2 * c + 4), class_names[j], fnt, anchor="ma")
    strip = Image.new("RGB", (40, 18), WHITE)
    _text(ImageDraw.Draw(strip), (2, 2), "true", fnt)
    strip = strip.rotate(90, expand=True)
    img.paste(strip, (4, T + 8 + c - strip.size[1] // 2))
    return img


def roc_image(labels, scores, split: str = "", auc: float | None = None, size=(380, 360)) -> Image.Image:
    """ROC curve (TPR against FPR over every threshold) with the chance diagonal; AUC in the title.
    With one class only (or no data) the curve is undefined and the panel says so."""
    from ..train.metrics import roc_auc, roc_curve
    y = np.asarray(labels, dtype=np.float64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    ok = np.isfinite(y) & np.isfinite(s)
    y, s = y[ok].astype(int), s[ok]
    if auc is None or not np.isfinite(auc):
        auc = roc_auc(y, s) if len(y) else float("nan")
    title = f"ROC{' - ' + split if split else ''} (AUC {auc:.3f})" if np.isfinite(auc) else \
        f"ROC{' - ' + split if split else ''} (AUC undefined)"
    img = Image.new("RGB", size, WHITE)
    ax = _Axes(img, (0, 0) + tuple(size), (0.0, 1.0), (0.0, 1.0), title,
               "false positive rate (1 - specificity)", "true positive rate")
    ax.line([0, 1], [0, 1], (150, 150, 150), width=1, marker=False, dash=True)
    if len(y) == 0 or y.min() == y.max():
        ax.message("needs both classes")
        return img
    fpr, tpr, _ = roc_curve(y, s)
    ax.line(fpr, tpr, TRAIN_COLOUR, width=2, marker=False)
    ax.legend([(f"model (AUC {auc:.3f})", TRAIN_COLOUR, False), ("chance", (150, 150, 150), True)], "lower right")
    return img


def write_training_figures(out_dir, history, metrics, rows) -> list[Path]:
    """Write the report pictures into ``out_dir``; returns their paths.

    ``training_curves.png`` (loss and accuracy per epoch, training and validation), and per evaluated split
    ``confusion_<split>.png`` and ``roc_<split>.png``. ``history``: list of dicts (epoch, train_loss,
    train_accuracy, val_loss, val_accuracy, ...); ``metrics``: {split: binary_metrics dict}; ``rows``:
    prediction dicts {split, label, probability_covid, ...}.
    """
    out = Path(out_dir)
    paths = [save_png(training_curves(list(history or [])), out / "training_curves.png")]
    rows = list(rows or [])
    for split, m in (metrics or {}).items():
        m = m or {}
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(split))
        paths.append(save_png(confusion_image(m.get("confusion_matrix"), str(split)), out / f"confusion_{safe}.png"))
        sel = [r for r in rows if r.get("split") == split]
        labels = [r.get("label", np.nan) for r in sel]
        scores = [np.nan if r.get("probability_covid") is None else r["probability_covid"] for r in sel]
        auc = m.get("roc_auc")
        paths.append(save_png(roc_image(labels, scores, str(split), None if auc is None else float(auc)),
                              out / f"roc_{safe}.png"))
    return paths


__all__ = ["font", "save_png", "overlay", "legend_bar", "cam_figure", "write_cam_image", "cam_grid",
           "nice_ticks", "line_panel", "training_curves", "confusion_image", "roc_image", "write_training_figures"]
