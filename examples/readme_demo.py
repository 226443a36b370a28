"""The README's sample output of ``squeezenp demo``, regenerated from a real run (or checked against one).

    python examples/readme_demo.py           # run the demo (about 1 min on 2 idle cores), rewrite README.md's block
    python examples/readme_demo.py --check   # run it and exit 1 if README.md's block differs
    python examples/readme_demo.py --keep /tmp/run   # ... and keep the run in /tmp/run/squeezenp-demo

The block lies between ``BEGIN`` and ``END`` (below) in README.md: the demo's console output as a user sees it
after ``squeezenp demo`` in an empty folder, without the in-epoch progress lines (they are throttled by the
clock). ``same_run`` compares two outputs with the run times (``5.3s``, ``(54s)``) masked: every other
number must be equal, and the demo repeats them exactly at a given seed. ``tests/cli/test_readme.py`` runs
the check, so the README cannot go stale.
"""
from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import re
import sys
import tempfile
from pathlib import Path

BEGIN = "<!-- demo-output:begin (python examples/readme_demo.py; do not edit) -->"
END = "<!-- demo-output:end -->"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))       # this tree's squeezenp (the one whose README this is), not an installed copy
README = ROOT / "README.md"
_TIME = re.compile(r"\b\d+(\.\d+)?s\b")


def run_demo(seed: int = 0, parent=None) -> str:
    """The console output of ``squeezenp demo --seed SEED`` run in ``parent/squeezenp-demo`` (default: a
    temporary folder, removed after), as the README shows it: folder paths as after ``squeezenp demo`` in the
    current folder, progress lines left out."""
    from squeezenp.app.cli import main
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(parent) if parent else Path(tmp)
        out = base / "squeezenp-demo"
        if out.exists():
            raise ValueError(f"{out} exists: give an empty folder, so that the demo runs from the start")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["demo", "--out", str(out), "--seed", str(seed)])
        if code != 0:
            raise RuntimeError(f"squeezenp demo exited with {code}:\n{buf.getvalue()[-2000:]}")
        text = buf.getvalue().replace(f"{base}/", "")
    return "\n".join(line for line in text.splitlines() if " batch " not in line) + "\n"


def masked(text: str) -> list[str]:
    """The lines of ``text`` with run times replaced by "Ts" and trailing spaces dropped."""
    return [_TIME.sub("Ts", line).rstrip() for line in text.strip("\n").splitlines()]


def same_run(expected: str, actual: str) -> list[str]:
    """The differing lines (a unified diff) of two demo outputs, run times masked; [] when they agree."""
    return list(difflib.unified_diff(masked(expected), masked(actual), "README.md", "fresh demo", lineterm=""))


def readme_block(text: str) -> str:
    """The sample output in README text (between the markers, inside the code fence)."""
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < i:
        raise ValueError(f"README.md: no demo block (lines {BEGIN!r} ... {END!r})")
    inner = text[i + len(BEGIN):j].strip("\n").splitlines()
    return "\n".join(line for line in inner if not line.startswith("```")) + "\n"


def replace_block(text: str, output: str) -> str:
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < i:
        raise ValueError(f"README.md: no demo block (lines {BEGIN!r} ... {END!r})")
    return text[:i + len(BEGIN)] + "\n```\n" + output.rstrip("\n") + "\n```\n" + text[j:]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare only; exit 1 if README.md differs")
    p.add_argument("--keep", metavar="DIR", help="run the demo in DIR/squeezenp-demo and keep it (e.g. for "
                   "examples/docs_pictures.py); default: a temporary folder")
    args = p.parse_args(argv)
    output = run_demo(parent=args.keep)
    text = README.read_text(encoding="utf-8")
    if args.check:
        diff = same_run(readme_block(text), output)
        print("\n".join(diff) if diff else "README.md matches a fresh demo run")
        return 1 if diff else 0
    from squeezenp.core.atomic import atomic_write_text
    atomic_write_text(README, replace_block(text, output))
    print(f"README.md sample output rewritten from a fresh demo run:\n{output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
