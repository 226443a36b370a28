"""Shared test helpers for tests/data: the ``shared/`` lookup and small image-file writers."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from squeezenp.data.shared import shared_dir


def require_shared(*parts) -> Path:
    """Return ``shared/<parts...>``, or skip the test when it is not there."""
    root = shared_dir()
    path = None if root is None else root.joinpath(*parts)
    if path is None or not path.exists():
        pytest.skip(f"shared/{'/'.join(parts)} not found: set SQUEEZENP_SHARED or put shared/ beside the repo")
    return path


@pytest.fixture(name="require_shared")
def require_shared_fixture():
    """The require_shared function, for tests that prefer a fixture to an import."""
    return require_shared


@pytest.fixture(scope="session")
def gray_u8() -> np.ndarray:
    """An 8-bit (H, W) CT-like image: a real COVID PNG from shared/ when present (converted to L), else a phantom."""
    root = shared_dir()
    folder = None if root is None else root / "data" / "covid-ct" / "train" / "COVID"
    if folder is not None and folder.is_dir():
        for p in sorted(folder.glob("*.png")):
            with Image.open(p) as im:
                if im.mode == "RGBA" and min(im.size) >= 100:
                    return np.asarray(im.convert("L"))
    from squeezenp.data.phantoms import make_phantom
    return np.rint(make_phantom(0, 160, covid=True)[0] * 255).astype(np.uint8)
