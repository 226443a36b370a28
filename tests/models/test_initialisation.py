"""Matlab's Glorot initialisation of a whole network: bounds, variance, zero biases, the conv10 variant."""
import numpy as np
import pytest

from squeezenp import models
from squeezenp.layers import Conv2d, ConvTranspose2d
from squeezenp.models.initialisation import conv_fans, initialise


def convs(model):
    return [(n, layer) for n, layer in model.named_layers() if isinstance(layer, (Conv2d, ConvTranspose2d))]


@pytest.mark.parametrize("name", ["squeezenet", "squeezenet_bypass", "proposed"])
def test_glorot_bounds_and_zero_biases_in_every_convolution(name):
    model = models.create(name, input_size=32, seed=3, init="glorot")
    layers = convs(model)
    assert any(isinstance(layer, ConvTranspose2d) for _, layer in layers) == (name == "proposed")
    for n, layer in layers:
        fan_in, fan_out = conv_fans(layer)
        a = np.sqrt(6.0 / (fan_in + fan_out))
        w = layer.params["weight"]
        assert np.abs(w).max() <= a, n
        assert np.abs(w).max() > 0.8 * a, n                          # uniform over the whole interval
        if w.size >= 4000:                                           # U(-a, a): variance a^2 / 3 = 2 / (in + out)
            assert abs(w.var() / (2.0 / (fan_in + fan_out)) - 1) < 0.1, n
        np.testing.assert_array_equal(layer.params["bias"], 0.0)
    assert model.config["init"] == "glorot"


def test_conv_fans_follow_the_forward_direction():
    assert conv_fans(Conv2d(16, 64, 3)) == (144, 576)
    assert conv_fans(ConvTranspose2d(512, 64, 4, stride=4)) == (8192, 1024)   # weight (C_in, C_out, KH, KW)


def test_glorot_is_seeded_and_shared_by_networks_1_and_2():
    a = models.create("squeezenet", input_size=32, seed=5, init="glorot")
    b = models.create("squeezenet_bypass", input_size=32, seed=5, init="glorot")
    c = models.create("squeezenet", input_size=32, seed=6, init="glorot")
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k])
    assert not np.array_equal(sa["fire2.squeeze1x1.weight"], sc["fire2.squeeze1x1.weight"])


def test_glorot_differs_from_the_default_he_start():
    he = models.create("squeezenet", input_size=32, seed=0)
    gl = models.create("squeezenet", input_size=32, seed=0, init="glorot")
    w_he, w_gl = he.conv1.params["weight"], gl.conv1.params["weight"]
    assert w_gl.std() < w_he.std()                                   # 2/(27+576) < 2/27
    np.testing.assert_array_equal(he.conv10.params["weight"], 0.0)   # squeezenp's zero classifier ...
    assert np.abs(gl.conv10.params["weight"]).max() > 0              # ... which Glorot redraws
    np.testing.assert_array_equal(gl.conv10.params["bias"], 0.0)


def test_glorot_zero_conv10_keeps_both_class_maps_equal_and_alive():
    m = models.create("squeezenet", input_size=32, seed=0, init="glorot_zero_conv10")
    np.testing.assert_array_equal(m.conv10.params["weight"], 0.0)
    np.testing.assert_array_equal(m.conv10.params["bias"], np.float32(m.CLASSIFIER_BIAS))
    ref = models.create("squeezenet", input_size=32, seed=0, init="glorot")
    np.testing.assert_array_equal(m.fire9.expand3x3.params["weight"], ref.fire9.expand3x3.params["weight"])
    p = models.create("proposed", input_size=32, seed=0, init="glorot_zero_conv10")
    assert np.abs(p.conv10.params["weight"]).max() > 0               # linear classifier: plain Glorot


def test_imagenet_weights_replace_glorot_where_they_fit(weights_path):
    m = models.create("squeezenet_bypass_transfer", input_size=64, seed=0, init="glorot", pretrained=weights_path)
    ref = models.create("squeezenet_bypass_transfer", input_size=64, seed=0, pretrained=weights_path)
    np.testing.assert_array_equal(m.conv1.params["weight"], ref.conv1.params["weight"])
    fan_in, fan_out = conv_fans(m.conv10)
    assert 0 < np.abs(m.conv10.params["weight"]).max() <= np.sqrt(6.0 / (fan_in + fan_out))


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="initialisation"):
        initialise(models.create("squeezenet", input_size=32), "xavier")
