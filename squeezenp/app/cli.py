"""``squeezenp`` command line: one subcommand per module in ``squeezenp/commands/``.

Exit status: 0 success; 1 a clear error (one line on stderr); 2 bad usage (argparse); 3 training
diverged (NaN/inf loss); 130 interrupted (Ctrl-C; checkpoints written so far are kept, ``--resume`` continues).
An unexpected exception (a bug) also exits 1, with one line saying so; ``--debug`` (or the environment variable
``SQUEEZENP_DEBUG=1``) prints the full traceback of any error. Warnings are printed as one line each.
What each command promises about interruption and bad input: ``docs/reliability.md``.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
import warnings

# Each module defines ``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
COMMANDS = ["demo", "train", "cv", "evaluate", "predict", "summary", "augment_preview", "export", "tune", "cam",
            "reproduce"]

EXIT_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 3, 130
DEBUG_ENV = "SQUEEZENP_DEBUG"


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default ("(default: 0.9)", "(default: off)" for a flag), unless the
    help already says what the default is or the option is required."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (action.required or not action.option_strings or "default" in text.lower()
                or default in (None, argparse.SUPPRESS) or default == []):
            return text
        if isinstance(default, bool):
            shown = "on" if default else "off"
        else:
            shown = "%(default)s"
        return f"{text} (default: {shown})"


class _Parser(argparse.ArgumentParser):
    """Subcommand parsers: the help formatter above unless another is given."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = argparse.ArgumentParser(
        prog="squeezenp", formatter_class=HelpFormatter,
        description="A light CNN for detecting COVID-19 from chest CT slices, in NumPy + Numba "
                    "(after Polsinelli, Cinque and Placidi 2020).")
    parser.add_argument("--version", action="version", version=f"squeezenp {__version__}")
    parser.add_argument("--debug", action="store_true", help=f"print the full traceback of an error "
                        f"(also: environment variable {DEBUG_ENV}=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"..commands.{name}", __package__).register(sub)
    for p in sub.choices.values():   # also accepted after the command name
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def debug_requested(args) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


@contextlib.contextmanager
def one_line_warnings(prefix: str):
    """Print each warning as ``prefix: warning: message`` on one line (not Python's two-line format)."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{prefix}: warning: {text}", file=sys.stderr if file is None else file)
    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from ..core.errors import EXPECTED, one_line
    from ..train import TrainingDiverged
    prefix, debug = f"squeezenp {args.command}", debug_requested(args)
    with one_line_warnings(prefix):
        try:
            return int(args.func(args) or 0)
        except TrainingDiverged as e:
            _traceback(debug)
            print(f"{prefix}: {one_line(e)}", file=sys.stderr)
            return EXIT_DIVERGED
        except KeyboardInterrupt:
            _traceback(debug)
            print(f"{prefix}: interrupted; completed epochs/trials are saved, re-run with --resume to continue",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        except EXPECTED as e:
            _traceback(debug)
            print(f"{prefix}: error: {one_line(e)}", file=sys.stderr)
            return EXIT_ERROR
        except Exception as e:  # noqa: BLE001 -- a bug: say so in one line, the traceback on request
            _traceback(debug)
            hint = "" if debug else f"; rerun with --debug (or {DEBUG_ENV}=1) for the traceback"
            print(f"{prefix}: internal error (a bug in squeezenp, please report it): {type(e).__name__}: "
                  f"{one_line(e)}{hint}", file=sys.stderr)
            return EXIT_ERROR


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
