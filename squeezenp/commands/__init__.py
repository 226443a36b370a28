"""Subcommands of the ``squeezenp`` command line, one module each (see ``squeezenp/cli.py``)."""
