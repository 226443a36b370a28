"""ImageNet start of the proposed CNN: the trunk's weights are SqueezeNet 1.1's and every batch norm is the
identity on the calibration sample, so each CustomFire computes ELU of what SqueezeNet computed ReLU of."""
import numpy as np

from squeezenp import models
from squeezenp.layers import BatchNorm2d
from squeezenp.models.transfer import batchnorm_as_identity, imagenet_start


def _inputs_of_batchnorms(model, x):
    """{name: input (N, C, H, W)} of every BatchNorm2d in one eval-mode forward pass."""
    seen = {}
    handles = [layer.register_forward_hook(lambda layer, args, out, _n=name: seen.setdefault(_n, args[0].copy()))
               for name, layer in model.named_layers() if isinstance(layer, BatchNorm2d)]
    try:
        with model.unfused():
            model.forward(x, training=False)
    finally:
        for h in handles:
            h.remove()
    assert len(seen) == 8
    return seen


def test_imagenet_start_makes_every_batch_norm_the_identity_on_the_sample(weights_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 64, 64)).astype(np.float32)
    model = models.create("proposed", input_size=64, seed=0)
    report = imagenet_start(model, weights_path, x)
    assert len(report["identity_batchnorms"]) == 8 and model.config["pretrained"] == str(weights_path)
    ref = models.create("squeezenet", input_size=64, seed=0, pretrained=weights_path)
    np.testing.assert_array_equal(model.state_dict()["conv1.weight"], ref.state_dict()["conv1.weight"])
    for name, inp in _inputs_of_batchnorms(model, x).items():
        bn = dict(model.named_layers())[name]
        out = bn.forward(inp, training=False)
        np.testing.assert_allclose(out, inp, rtol=1e-4, atol=1e-4 * float(np.abs(inp).max()), err_msg=name)
    # on the sample, batch statistics are the stored ones: training-mode and eval-mode outputs agree
    model.set_dropout(False)
    eval_out = model.forward(x, training=False)
    train_out = model.forward(x, training=True)
    np.testing.assert_allclose(train_out, eval_out, rtol=1e-3, atol=1e-3 * float(np.abs(eval_out).max()))


def test_batchnorm_as_identity_uses_the_statistics_of_the_sample():
    rng = np.random.default_rng(1)
    model = models.create("proposed", input_size=48, seed=3)
    x = (2.0 + 3.0 * rng.standard_normal((4, 3, 48, 48))).astype(np.float32)
    names = batchnorm_as_identity(model, x, batch_size=3)          # two batches: statistics pooled over both
    seen = _inputs_of_batchnorms(model, x)
    for name in names:
        bn = dict(model.named_layers())[name]
        mean = seen[name].astype(np.float64).mean(axis=(0, 2, 3))
        np.testing.assert_allclose(bn.buffers["running_mean"], mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(bn.params["bias"], mean, rtol=1e-4, atol=1e-5)
