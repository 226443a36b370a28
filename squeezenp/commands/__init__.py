"""Subcommands of the ``squeezenp`` command line, one module each (see ``squeezenp/app/cli.py``)."""
