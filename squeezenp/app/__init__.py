"""The application: the paper's pipeline from image folders to a report (``pipeline.py``) and the ``squeezenp``
command line (``cli.py``), whose subcommands are the modules of ``squeezenp/commands/``."""
