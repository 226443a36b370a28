"""Tiny search preset shared by the search tests: phantoms at 32 px, a few images, 2 epochs, 4 calls."""
import pytest

from squeezenp.app.pipeline import DataOptions
from squeezenp.search import TuneSettings


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("phantoms")


@pytest.fixture
def tiny_data(phantom_dir):
    return DataOptions(input_size=32, limit=6, phantoms_per_class=12, phantom_size=48, phantom_dir=phantom_dir,
                       augment=False)


@pytest.fixture
def tiny_settings():
    """``tiny_settings(**overrides) -> TuneSettings``: 4 calls of 2 epochs, 2 random points first."""
    return lambda **kw: TuneSettings(**{"calls": 4, "epochs": 2, "batch_size": 8, "n_initial_points": 2, **kw})
