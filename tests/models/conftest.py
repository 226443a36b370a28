"""Fixtures for the model tests (helpers live in model_testutils.py)."""
import pytest

from squeezenp.models.pretrained import default_pretrained_path, shared_dir


@pytest.fixture
def weights_path():
    p = default_pretrained_path()
    if p is None:
        pytest.skip(f"ImageNet weights absent: no weights/squeezenet1_1_imagenet.npz under the shared folder "
                    f"(looked at $SQUEEZENP_SHARED if set, else <repo>/../shared; shared folder found: {shared_dir()})")
    return p
