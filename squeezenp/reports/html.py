"""One self-contained HTML page per run: every picture embedded, so the file opens offline in any browser.

API (used by every command that writes a run folder, and by any new one)::

    from squeezenp.reports import Section, code, definitions, figure, files_written, paragraph, table
    from squeezenp.reports import write_report_html

    write_report_html(out_dir, "Cross-validation of proposed",
        Section("Configuration", [definitions({"folds": 5, "epochs": 20})]),
        Section("Metrics", [paragraph("Mean over the folds."),
                            table(["fold", "accuracy"], [["1", "0.91"], ["2", "0.88"]])]),
        Section("Pictures", [figure(out_dir / "fold1" / "roc_val.png", "ROC of fold 1")]),
        Section("Files written", [files_written(out_dir, {"metrics.json": "every number of this page"})]),
        Section("Next", [code("squeezenp predict runs/cv/fold1/model.npz scans/ --out predictions.csv")]),
        intro="Five folds of the training data, each fold validated on the images the others trained on.")

``write_report_html(out_dir, title, *sections, intro="", filename="report.html") -> Path`` writes
``out_dir/filename`` atomically and returns its path. A section is a ``Section(heading, blocks)`` or a plain
``(heading, blocks)`` tuple; a block is one of:

- ``paragraph(text)``: escaped text (a ``str`` in a block list is taken as a paragraph too);
- ``table(head, rows, caption="", highlight=None)``: a table of strings; the row whose index is ``highlight``
  is set in bold (e.g. the selected epoch); cells that look numeric are right-aligned;
- ``definitions({key: value})``: a two-column key/value table (configuration);
- ``figure(path, caption="")``: a PNG (or JPEG) read now and embedded as a base64 ``data:`` URI; a missing
  file raises ``ValueError`` naming it, so a page never shows a broken picture;
- ``code(text)``: preformatted text (commands to run next, console output);
- ``files_written(out_dir, descriptions={}, page="report.html")``: the files and subfolders of ``out_dir``
  with their sizes, each with its description when one is given, and the page itself;
- ``raw_html(markup)``: markup inserted as is (for converters, e.g. ``squeezenp.reports.markdown``).

The page has a small inline style sheet and no script, font or link outside itself.
Tests: ``tests/reports/test_html.py``.
"""
from __future__ import annotations

import base64
import dataclasses
import html
import re
import time
from pathlib import Path

from ..core.atomic import atomic_write

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?\s*%?$", re.IGNORECASE)

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1e1e1e; margin: 0 auto;
       max-width: 1100px; padding: 1.5em 2em 3em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.8em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; } h3 { font-size: 1.05em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; display: block; max-width: 100%;
        overflow-x: auto; }   /* a wide table scrolls inside the page instead of running off it */
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.highlight td { font-weight: bold; background: #eef7ee; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: 0.3em; }
figure { display: inline-block; margin: 0.5em 1.2em 1em 0; vertical-align: top; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e2e2; }
figcaption { color: #555; font-size: 0.9em; max-width: 640px; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 0.7em 1em; overflow-x: auto; font-size: 0.9em; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
"""


class Block:
    """Something a section shows; ``render()`` returns its HTML."""

    def render(self) -> str:
        raise NotImplementedError


@dataclasses.dataclass
class _Paragraph(Block):
    text: str

    def render(self) -> str:
        return f"<p>{html.escape(str(self.text))}</p>"


@dataclasses.dataclass
class _Raw(Block):
    markup: str

    def render(self) -> str:
        return self.markup


@dataclasses.dataclass
class _Table(Block):
    head: list
    rows: list
    caption: str = ""
    highlight: int | None = None
    align_numbers: bool = True

    def render(self) -> str:
        out = ["<table>"]
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in self.head) + "</tr></thead>")
        out.append("<tbody>")
        for i, row in enumerate(self.rows):
            cls = ' class="highlight"' if i == self.highlight else ""
            cells = "".join(f'<td class="num">{html.escape(str(c))}</td>'
                            if self.align_numbers and _NUMBER.match(str(c).strip())
                            else f"<td>{html.escape(str(c))}</td>" for c in row)
            out.append(f"<tr{cls}>{cells}</tr>")
        out.append("</tbody></table>")
        return "\n".join(out)


@dataclasses.dataclass
class _Figure(Block):
    path: Path
    caption: str = ""

    def render(self) -> str:
        p = Path(self.path)
        if not p.is_file():
            raise ValueError(f"report picture {p} does not exist")
        mime = _MIME.get(p.suffix.lower())
        if mime is None:
            raise ValueError(f"report picture {p}: expected a .png or .jpg file")
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        alt = html.escape(self.caption or p.name, quote=True)
        cap = f"<figcaption>{html.escape(self.caption)}</figcaption>" if self.caption else ""
        return (f'<figure><img src="data:{mime};base64,{data}" alt="{alt}" data-file="{html.escape(p.name)}">'
                f"{cap}</figure>")


@dataclasses.dataclass
class _Code(Block):
    text: str

    def render(self) -> str:
        return f"<pre><code>{html.escape(str(self.text))}</code></pre>"


def _size(n: int) -> str:
    for unit, div in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


@dataclasses.dataclass
class _Files(Block):
    folder: Path
    descriptions: dict
    page: str = "report.html"

    def render(self) -> str:
        folder, rows = Path(self.folder), []
        if not (folder / self.page).exists():                # the page itself, written after this list
            rows.append([self.page, "", self.descriptions.get(self.page, "this page")])
        entries = sorted(folder.iterdir(), key=lambda p: (p.is_dir(), p.name)) if folder.is_dir() else []
        for p in entries:
            if p.name.startswith(".") or p.name.endswith(".tmp"):
                continue
            if p.is_dir():
                files = [f for f in p.rglob("*") if f.is_file()]
                size = f"{len(files)} files, {_size(sum(f.stat().st_size for f in files))}"
                name = p.name + "/"
            else:
                size, name = _size(p.stat().st_size), p.name
            rows.append([name, size, self.descriptions.get(name, self.descriptions.get(p.name, ""))])
        return (f"<p>In <code>{html.escape(str(folder))}</code>:</p>\n"
                + _Table(["file", "size", "what it holds"], rows).render())


class Section:
    """A heading and its blocks (``str`` items are paragraphs)."""

    def __init__(self, heading: str, blocks=()):
        self.heading = str(heading)
        self.blocks = [_Paragraph(b) if isinstance(b, str) else b for b in blocks]
        for b in self.blocks:
            if not isinstance(b, Block):
                raise TypeError(f"section {heading!r}: expected blocks (paragraph, table, figure, ...), got "
                                f"{type(b).__name__}")

    def render(self) -> str:
        head = f"<h2>{html.escape(self.heading)}</h2>\n" if self.heading else ""   # "" = no heading
        return head + "\n".join(b.render() for b in self.blocks)


def paragraph(text: str) -> Block:
    return _Paragraph(text)


def raw_html(markup: str) -> Block:
    return _Raw(markup)


def table(head, rows, caption: str = "", highlight: int | None = None) -> Block:
    return _Table(list(head), [list(r) for r in rows], caption, highlight)


def definitions(pairs: dict, caption: str = "") -> Block:
    return _Table(["setting", "value"], [[k, v] for k, v in pairs.items()], caption, align_numbers=False)


def figure(path, caption: str = "") -> Block:
    return _Figure(Path(path), caption)


def embedded_image(path, alt: str = "") -> str:
    """``<figure>`` markup with the picture at ``path`` embedded (for converters)."""
    return _Figure(Path(path), alt).render()


def code(text: str) -> Block:
    return _Code(text)


def files_written(out_dir, descriptions: dict | None = None, page: str = "report.html") -> Block:
    return _Files(Path(out_dir), dict(descriptions or {}), page)


def render_page(title: str, sections, intro: str = "") -> str:
    """The whole page as a string (``write_report_html`` writes it)."""
    secs = [s if isinstance(s, Section) else Section(*s) for s in sections]
    made = time.strftime("%Y-%m-%d %H:%M")
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
             f"<h1>{html.escape(title)}</h1>", f'<p class="meta">Written by squeezenp on {made}.</p>']
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    parts += [s.render() for s in secs]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report_html(out_dir, title: str, *sections, intro: str = "", filename: str = "report.html") -> Path:
    """Write ``out_dir/filename``: ``title``, ``intro``, then each section; returns the page's path."""
    page = render_page(title, sections, intro).encode("utf-8")
    return atomic_write(Path(out_dir) / filename, lambda f: f.write(page))


__all__ = ["Block", "Section", "paragraph", "raw_html", "table", "definitions", "figure", "embedded_image", "code",
           "files_written", "render_page", "write_report_html"]
