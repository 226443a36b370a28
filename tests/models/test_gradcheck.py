"""Whole-model gradient check, float64, every network, at 35x35: a random direction over the input and all
parameters jointly (Chainer's check_backward), with a random upstream gradient. BN in training mode, dropout
off (``set_dropout(False)``)."""
import numpy as np
import pytest

from squeezenp.core.gradcheck import directional_check
from squeezenp.models import create

from model_testutils import SMALL


@pytest.mark.parametrize("name", ["squeezenet", "squeezenet_bypass", "proposed"])
@pytest.mark.parametrize("seed", [0, 1])
def test_whole_model_gradient(name, seed):
    rng = np.random.default_rng(seed)
    m = create(name, num_classes=3, input_size=SMALL, seed=seed).astype(np.float64).train().set_dropout(False)
    if name != "proposed":   # conv10 starts at 0 (no gradient reaches the trunk) with its ReLU near the kink
        w = m.conv10.params["weight"]
        w[...] = rng.normal(0.0, 0.3, w.shape)
        m.conv10.params["bias"][...] = 0.5
    x = rng.standard_normal((2, 3, SMALL, SMALL))
    dout = rng.standard_normal((2, 3))
    analytic, numeric = directional_check(m, x, dout, rng)
    assert analytic != 0
    assert abs(analytic - numeric) <= 1e-6 * max(abs(analytic), abs(numeric)) + 1e-9, (analytic, numeric)


def test_transfer_gradient(weights_path):
    rng = np.random.default_rng(2)
    m = create("squeezenet_bypass_transfer", num_classes=2, input_size=SMALL, pretrained=weights_path)
    m.astype(np.float64).set_dropout(False)
    m.conv10.params["weight"][...] = rng.normal(0.0, 0.01, m.conv10.params["weight"].shape)
    m.conv10.params["bias"][...] = 0.5
    x = rng.standard_normal((2, 3, SMALL, SMALL))
    analytic, numeric = directional_check(m, x, rng.standard_normal((2, 2)), rng)
    assert abs(analytic - numeric) <= 1e-6 * abs(numeric) + 1e-9, (analytic, numeric)
