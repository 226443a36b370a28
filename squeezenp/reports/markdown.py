"""The Markdown subset of squeezenp's generated reports, turned into HTML with the pictures embedded.

Handles what ``squeezenp.reproduce.report`` writes: ``#`` headings, paragraphs, ``- `` lists, pipe tables,
fenced code, lines of images ``![alt](file.png)`` (embedded from ``base_dir``), and inline ``code``,
``**bold**`` and ``[links](target)``. Anything else is shown as escaped text, never dropped.
Tests: ``tests/reports/test_html.py``.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from .html import embedded_image

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def inline(text: str) -> str:
    """Escape ``text`` and render `code`, **bold** and [links](target)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        t = html.escape(part, quote=False)
        t = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", t)
        t = _LINK.sub(lambda m: f'<a href="{html.escape(m.group(2), quote=True)}">{m.group(1)}</a>', t)
        out.append(t)
    return "".join(out)


def _table(lines: list[str]) -> str:
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    body = [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
    head = "".join(f"<th>{inline(c)}</th>" for c in rows[0])
    num = re.compile(r"^[-+]?[\d.,]+%?$")
    trs = ["<tr>" + "".join(f'<td class="num">{inline(c)}</td>' if num.match(c) else f"<td>{inline(c)}</td>"
                            for c in r) + "</tr>" for r in body]
    return f"<table><thead><tr>{head}</tr></thead><tbody>" + "".join(trs) + "</tbody></table>"


def markdown_to_html(text: str, base_dir, heading_offset: int = 0) -> str:
    """HTML for the Markdown ``text``; images are read relative to ``base_dir`` and embedded (a missing one
    raises ``ValueError`` naming it). Headings are shifted down by ``heading_offset`` levels."""
    base = Path(base_dir)
    lines, out, i = text.splitlines(), [], 0
    para: list[str] = []

    def flush():
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", s)
        if m:
            flush()
            level = min(6, len(m.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif s.startswith("|"):
            flush()
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            out.append(_table(lines[i:j]))
            i = j
            continue
        elif s.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(f"<li>{inline(lines[i].strip()[2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif s and not _IMAGE.sub("", s).strip():          # a line of pictures only
            flush()
            out += [embedded_image(base / m.group(2), m.group(1)) for m in _IMAGE.finditer(s)]
        elif not s:
            flush()
        else:
            para.append(s)
        i += 1
    flush()
    return "\n".join(out)


__all__ = ["markdown_to_html", "inline"]
