"""A tiny trained run shared by the command-line tests (helpers live in cli_testutils.py)."""
import pytest

from cli_testutils import TINY
from squeezenp.app.cli import main


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``squeezenp train`` on 12 phantoms per class at 40 px, 1 epoch: a real run folder (read it, never write)."""
    out = tmp_path_factory.mktemp("tiny-run") / "run"
    assert main(["train", "--model", "proposed", "--out", str(out), *TINY]) == 0
    return out
