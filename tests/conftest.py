"""Puts ``tests/`` on ``sys.path`` for every test folder, so ``from strategies import ...`` works everywhere
(a ``conftest.py`` in a folder without ``__init__.py`` has its folder inserted by pytest)."""
