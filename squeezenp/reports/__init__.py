"""What a person reads after a run: one self-contained HTML page per run folder, and the pictures in it.

``html``: the generic writer ``write_report_html(out_dir, title, *sections)`` and its blocks (paragraphs,
tables, embedded pictures, code, the files of a folder). ``splits``: what each data split was used for, in
words. ``pages``: the pages of ``train``/``demo``, ``evaluate``, ``tune`` and ``reproduce``. ``cam``: class
activation maps; ``figures``: figures drawn with Pillow only (training curves, confusion matrices, ROC curves,
CAM overlays and grids); ``colormap``: their colour map.
"""
from .html import (Section, code, definitions, figure, files_written, paragraph, raw_html, table,
                   write_report_html)
from .splits import split_label, split_role

__all__ = ["Section", "code", "definitions", "figure", "files_written", "paragraph", "raw_html", "table",
           "write_report_html", "split_label", "split_role"]
