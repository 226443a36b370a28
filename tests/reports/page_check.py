"""Checks shared by the report-page tests: the page parses, its tags nest, every picture is embedded and opens."""
from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image

VOID = {"meta", "img", "br", "hr", "link", "input", "col", "wbr", "source"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.images, self.links, self.text = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        if tag in ("a", "link", "script") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check_page(path) -> dict:
    """Parse the page at ``path``; assert it is well nested, self-contained, and every <img> is an embedded
    picture that Pillow opens. Returns {"text": visible text, "images": [(data-file, (w, h))]}."""
    page = _Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
    page.close()
    assert not page.errors, page.errors[:5]
    assert page.stack == [], f"unclosed tags: {page.stack}"
    for link in page.links:                       # nothing fetched from elsewhere (links to docs are fine)
        assert not link.startswith(("http:", "https:", "//")) or link.endswith(".md"), link
    images = []
    for a in page.images:
        src = a.get("src", "")
        assert src.startswith("data:image/png;base64,") or src.startswith("data:image/jpeg;base64,"), src[:40]
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as im:
            im.verify()
            images.append((a.get("data-file"), im.size))
        assert a.get("alt"), "every picture has alt text"
    return {"text": " ".join(" ".join(page.text).split()), "images": images}


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def screenshot(page, png, width: int = 1200, height: int = 1600) -> np.ndarray:
    """A headless-Chromium screenshot of ``page`` as an (H, W, 3) array."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--window-size={width},{height}", f"--screenshot={png}", Path(page).resolve().as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120, env={**os.environ, "HOME": str(Path(png).parent)})
    with Image.open(png) as im:
        return np.asarray(im.convert("RGB"))
