"""The one exception class for failures the user can fix, and how the command line classifies errors.

Expected errors are explained by their message alone: the command line prints one line and exits 1. They are
``ValueError`` (bad arguments, data or files: ``ImageLoadError``, ``ModelFileError``, ``DatasetLayoutError`` are
subclasses), ``OSError`` (missing file, permission, full disk), ``MemoryError`` and ``CommandError`` (anything
else the user can fix, such as a Dask scheduler with no workers). Every other exception is a bug: the command
line says "internal error" and how to see the traceback (``--debug`` or ``SQUEEZENP_DEBUG=1``).
Tests: ``tests/cli/test_errors.py``.
"""
from __future__ import annotations


class CommandError(RuntimeError):
    """A failure the user can fix (not a bad value), explained by its one-line message."""


EXPECTED = (ValueError, OSError, MemoryError, CommandError)


def one_line(error: BaseException) -> str:
    """The first line of the error's message, or its type when the message is empty."""
    text = str(error).strip()
    if isinstance(error, MemoryError):
        return "out of memory" + (f" ({text.splitlines()[0]})" if text else "")
    if isinstance(error, OSError) and error.filename is not None and text:
        return text.splitlines()[0]       # "[Errno 28] No space left on device: 'runs/x/model.npz'"
    return text.splitlines()[0] if text else type(error).__name__
