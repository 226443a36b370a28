"""Reproduce the paper end to end: search, retrain, evaluate, time, CAM, report.

Public API::

    reproduce(base_data_options, preset, out, second_source=None, jobs=1, threads_per_trial=None,
              scheduler=None, pretrained=None, log=print, hook=None) -> Path of report.md
    PRESETS {"paper", "quick", "tiny"}, Preset, get_preset(name)
    build_report(run_dir) -> str;  write_report(run_dir);  fill_markdown(doc, run_dir)

Command: ``squeezenp reproduce``; protocol, presets and results: ``docs/reproduction.md``.
"""
from .presets import PRESETS, Preset, get_preset
from .run import classification_time, reproduce, retrain, write_cam_grid


def __getattr__(name):
    # report is imported lazily so that ``python -m squeezenp.reproduce.report`` runs it once, without a warning
    if name in ("build_report", "fill_markdown", "write_report"):
        from . import report
        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["reproduce", "retrain", "classification_time", "write_cam_grid", "PRESETS", "Preset", "get_preset",
           "build_report", "write_report", "fill_markdown"]
