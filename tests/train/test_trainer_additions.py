"""The training loop's recipe levers: warm-up and cosine rates, weight averaging of the last epochs with the
batch-norm statistics re-estimated, and a lower learning rate for the (ImageNet) trunk."""
import math

import numpy as np
import pytest

from squeezenp import Sequential, models
from squeezenp.layers import BatchNorm2d, Conv2d, ELU, GlobalAvgPool2d, Linear
from squeezenp.train import SGDM, TrainConfig, fit
from squeezenp.train.trainer import is_trunk


def test_warm_up_then_cosine_learning_rates():
    c = TrainConfig(lr=0.1, epochs=10, warmup_epochs=2, schedule="cosine")
    rates = [c.learning_rate(e) for e in range(10)]
    assert rates[:2] == pytest.approx([0.1 / 3, 0.2 / 3])                      # linear warm-up
    assert rates[2] == pytest.approx(0.1)                                        # cosine starts at the full rate
    assert rates[6] == pytest.approx(0.05)                                       # half-way: half the rate
    assert rates[9] == pytest.approx(0.05 * (1 + math.cos(math.pi * 7 / 8)))
    assert all(a > b for a, b in zip(rates[2:], rates[3:]))
    p = TrainConfig(lr=0.1, epochs=12, warmup_epochs=1)                          # warm-up, then the x0.8 drops
    assert [p.learning_rate(e) for e in (0, 1, 4, 5, 10)] == pytest.approx([0.05, 0.1, 0.1, 0.08, 0.064])
    with pytest.raises(ValueError, match="warmup_epochs < epochs"):
        TrainConfig(epochs=2, warmup_epochs=2)


def _bn_net():
    return Sequential(Conv2d(1, 4, 3, padding=1, rng=1), BatchNorm2d(4), ELU(), GlobalAvgPool2d(),
                      Linear(4, 2, rng=2))


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, n).astype(np.int64)
    x[y == 1, :, :4] += 1.0
    return x, y


def test_average_last_is_the_mean_of_the_last_epochs_weights_with_fresh_batchnorm_statistics():
    x, y = _data()
    cfg = dict(epochs=4, batch_size=16, lr=0.05, momentum=0.9, l2=1e-4, seed=5, select="last")
    snapshots = []
    net = _bn_net()
    fit(net, (x, y), None, TrainConfig(**cfg),
        log=lambda msg: snapshots.append({n: w.copy() for n, w, _ in net.named_parameters()})
        if msg.startswith("epoch") and "batch" not in msg else None)
    assert len(snapshots) == 4
    avg = _bn_net()
    fit(avg, (x, y), None, TrainConfig(**cfg, average_last=2), log=None)
    for name, w, _ in avg.named_parameters():
        np.testing.assert_allclose(w, (snapshots[2][name] + snapshots[3][name]) / 2, rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    conv = avg.children["0"]                       # running mean = plain average of the batch means of conv(x)
    batch_means = [conv.forward(x[b:b + 16], training=False).astype(np.float64).mean(axis=(0, 2, 3))
                   for b in range(0, len(x), 16)]
    np.testing.assert_allclose(avg.children["1"].buffers["running_mean"], np.mean(batch_means, axis=0),
                               rtol=1e-4, atol=1e-5)


class _Named:
    """A stand-in model: named_parameters over fixed names, gradient all ones."""

    def __init__(self, names):
        self.p = {n: np.ones((2, 2)) for n in names}

    def named_parameters(self):
        for n, w in self.p.items():
            yield n, w, np.ones_like(w)


def test_trunk_lr_scale_scales_the_step_of_conv1_and_the_fire_modules_only():
    names = ["conv1.weight", "fire2.squeeze.weight", "fire9.bn.bias", "conv10.weight", "deconv.weight"]
    assert [is_trunk(n) for n in names] == [True, True, True, False, False]
    full, scaled = _Named(names), _Named(names)
    SGDM(0.1, 0.9, 0.0).step(full)
    SGDM(0.1, 0.9, 0.0, lr_scale=lambda n: 0.25 if is_trunk(n) else 1.0).step(scaled)
    for n in names:
        ratio = (1 - scaled.p[n]) / (1 - full.p[n])
        np.testing.assert_allclose(ratio, 0.25 if is_trunk(n) else 1.0)


def test_a_zero_trunk_rate_freezes_the_trunk_of_the_proposed_cnn():
    m = models.create("proposed", input_size=32, seed=0)
    before = {n: w.copy() for n, w, _ in m.named_parameters()}
    x, y = np.random.default_rng(0).standard_normal((8, 3, 32, 32)).astype(np.float32), np.array([0, 1] * 4)
    fit(m, (x, y), None, TrainConfig(epochs=1, batch_size=4, lr=0.01, momentum=0.9, trunk_lr_scale=0.0), log=None)
    for n, w, _ in m.named_parameters():
        assert np.array_equal(w, before[n]) == is_trunk(n), n
