"""``squeezenp`` command line: one subcommand per module in ``squeezenp/commands/``.

Exit status: 0 success; 1 a clear error (one line on stderr); 2 bad usage (argparse); 3 training
diverged (NaN/inf loss); 130 interrupted (Ctrl-C; checkpoints written so far are kept, ``--resume`` continues).
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines ``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
COMMANDS = ["demo", "train", "cv", "evaluate", "predict", "summary", "augment_preview", "export", "tune", "cam",
            "reproduce"]

EXIT_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 3, 130


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
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="squeezenp", formatter_class=HelpFormatter,
        description="A light CNN for detecting COVID-19 from chest CT slices, in NumPy + Numba "
                    "(after Polsinelli, Cinque and Placidi 2020).")
    parser.add_argument("--version", action="version", version=f"squeezenp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .train import TrainingDiverged
    try:
        return int(args.func(args) or 0)
    except TrainingDiverged as e:
        print(f"squeezenp {args.command}: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print(f"squeezenp {args.command}: interrupted; completed epochs/trials are saved, "
              f"re-run with --resume to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, KeyError, RuntimeError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"squeezenp {args.command}: error: {msg}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
