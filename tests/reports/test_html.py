"""The report page writer: valid, self-contained HTML with every picture embedded; the Markdown subset."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from page_check import check_page, chromium, screenshot
from squeezenp.reports import (Section, code, definitions, figure, files_written, paragraph, raw_html, table,
                               write_report_html)
from squeezenp.reports.markdown import markdown_to_html


@pytest.fixture
def folder(tmp_path):
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "a.png")
    Image.new("RGB", (20, 20), (30, 30, 200)).save(tmp_path / "b.png")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.bin").write_bytes(b"0" * 2048)
    return tmp_path


def test_page_embeds_every_picture_and_parses(folder):
    path = write_report_html(
        folder, "Run <1> & co",
        Section("Configuration", [definitions({"epochs": 3, "lr": "0.01"})]),
        Section("Metrics", ["plain <b>text</b>", table(["split", "accuracy"], [["val", "0.9"], ["test1", "0.8"]],
                                                       caption="c", highlight=1)]),
        ("Pictures", [figure(folder / "a.png", "red"), figure(folder / "b.png", "blue")]),
        Section("Files written", [files_written(folder, {"a.png": "the red one"})]),
        Section("Next", [code("squeezenp predict runs/x/model.npz scans/ --out p.csv")]),
        intro="what this is")
    assert path == folder / "report.html"
    page = check_page(path)
    assert sorted(page["images"]) == [("a.png", (40, 30)), ("b.png", (20, 20))]
    text = page["text"]
    for words in ("Run <1> & co", "plain <b>text</b>", "the red one", "sub/", "1 files, 2.0 kB",
                  "squeezenp predict runs/x/model.npz", "what this is"):
        assert words in text, words
    raw = path.read_text()
    assert "<b>text</b>" not in raw and 'class="highlight"' in raw       # text escaped; selected row marked


def test_a_missing_picture_is_a_clear_error(folder):
    with pytest.raises(ValueError, match="nope.png"):
        write_report_html(folder, "t", Section("Pictures", [figure(folder / "nope.png")]))
    with pytest.raises(TypeError, match="blocks"):
        Section("bad", [42])


def test_markdown_subset(folder):
    md = ("## Results\n\nSome `code` and **bold** and [a doc](docs/x.md).\n\n| split | acc |\n|---|---|\n"
          "| val | 0.91 |\n\n- one\n- two\n\n![first](a.png) ![second](b.png)\n\n```\nsqueezenp demo\n```\n")
    body = markdown_to_html(md, folder)
    path = write_report_html(folder, "md", Section("", [raw_html(body)]), Section("After", [paragraph("x")]))
    page = check_page(path)
    assert [f for f, _ in page["images"]] == ["a.png", "b.png"]
    assert "<h2>Results</h2>" in body and "<code>code</code>" in body and "<strong>bold</strong>" in body
    assert '<td class="num">0.91</td>' in body and "<li>two</li>" in body and "squeezenp demo" in body
    with pytest.raises(ValueError, match="missing.png"):
        markdown_to_html("![x](missing.png)", folder)


def test_screenshot_of_a_page_is_not_blank(folder):
    if chromium() is None:
        pytest.skip("no headless Chromium installed (chromium, chromium-browser or google-chrome)")
    path = write_report_html(folder, "Screenshot check", Section("Pictures", [figure(folder / "a.png", "red")]),
                             Section("Table", [table(["a", "b"], [["1", "2"]])]))
    shot = screenshot(path, folder / "shot.png", 800, 600)
    assert shot.shape[0] > 100 and shot.shape[1] > 100
    assert (shot < 128).any(axis=2).mean() > 0.001                 # dark text drawn
    assert ((shot == (200, 30, 30)).all(axis=2)).sum() > 500        # the embedded picture shown
