"""The trial record of one search: ``trials.json`` / ``trials.csv`` and ``search.json``, written atomically.

Every completed trial is appended and both files are rewritten (temporary file, fsync, ``os.replace``) before
the search moves on, so after Ctrl-C, a kill or a power loss the folder holds exactly the trials that
finished. ``search.json`` holds the settings that define the search (network, epochs, bounds, data, seed);
resuming with different settings is refused instead of mixing two searches in one record.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..core.atomic import atomic_write_json, atomic_write_text

CSV_FIELDS = ["trial", "lr", "momentum", "l2", "val_accuracy", "val_loss", "score", "best_epoch", "seconds",
              "status", "error"]


class TrialStore:
    """The trials of one experiment in ``folder``; ``trials`` is the list of completed trial dicts."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.json_path, self.csv_path = self.folder / "trials.json", self.folder / "trials.csv"
        self.meta_path = self.folder / "search.json"
        self.trials: list[dict] = []
        if self.json_path.exists():
            try:
                self.trials = json.loads(self.json_path.read_text())["trials"]
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{self.json_path}: cannot be read as a trial record ({e})") from None

    def check_settings(self, settings: dict) -> None:
        """Write ``settings`` on a new search; on a resumed one, refuse if they differ from the stored ones, naming
        each changed option with its stored and given value. A record from before the data were fingerprinted
        (``identity.is_legacy_data``) is compared in today's form and rewritten in it when it matches."""
        from ..core.identity import check_resumed, jsonable
        settings = jsonable(settings)
        if self.meta_path.exists():
            try:
                old = json.loads(self.meta_path.read_text())
            except ValueError as e:
                raise ValueError(f"{self.meta_path}: cannot be read ({e}); use another --out") from None
            if check_resumed(old, settings, f"{self.folder} holds a search that",
                             "Use the same options to resume it, or another --out."):
                atomic_write_json(self.meta_path, settings)
        elif self.trials:
            raise ValueError(f"{self.folder}: trials.json exists but search.json is missing; use another --out")
        else:
            atomic_write_json(self.meta_path, settings)

    def append(self, trial: dict) -> None:
        self.trials.append(trial)
        self.write()

    def write(self) -> None:
        atomic_write_json(self.json_path, {"trials": self.trials})
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(self.trials)
        atomic_write_text(self.csv_path, buf.getvalue())

    def best(self) -> dict | None:
        """The best completed trial: lowest score, ties broken by the lower validation loss, then the earlier."""
        ok = [t for t in self.trials if t["status"] == "ok"]
        return min(ok, key=best_key) if ok else None


def best_key(trial: dict) -> tuple:
    vl = trial.get("val_loss")
    return (trial["score"], vl if vl is not None else float("inf"), trial["trial"])
