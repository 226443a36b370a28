"""The training loop: sgdm formula, schedule, reproducibility, exact resume, divergence."""
import dataclasses

import numpy as np
import pytest

from squeezenp import Sequential
from squeezenp.layers import Conv2d, Dropout, ELU, GlobalAvgPool2d, Linear
from squeezenp.train import SGDM, TrainConfig, TrainingDiverged, fit, load_checkpoint, piecewise_lr


def tiny_net():
    return Sequential(Conv2d(1, 4, 3, padding=1, rng=1), ELU(), Dropout(0.2, rng=0), GlobalAvgPool2d(),
                      Linear(4, 2, rng=2))


def toy_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 10, 10)).astype(np.float32)
    y = rng.integers(0, 2, n).astype(np.int64)
    x[y == 1, :, :5] += 1.0
    return x, y


CFG = TrainConfig(epochs=4, batch_size=16, lr=0.05, momentum=0.9, l2=1e-4, seed=3)


def test_sgdm_matches_matlab_formula():
    net = Sequential(Linear(3, 2, rng=0))
    w0 = net.children["0"].params["weight"].copy()
    b0 = net.children["0"].params["bias"].copy()
    g = np.full_like(w0, 0.5)
    net.children["0"].grads["weight"][...] = g
    net.children["0"].grads["bias"][...] = 0.25
    opt = SGDM(lr=0.1, momentum=0.9, l2=0.01)
    opt.step(net)
    v1 = -0.1 * (g + 0.01 * w0)
    np.testing.assert_allclose(net.children["0"].params["weight"], w0 + v1, rtol=1e-6)
    np.testing.assert_allclose(net.children["0"].params["bias"], b0 - 0.1 * 0.25, rtol=1e-6)   # no decay on bias
    w1 = w0 + v1
    opt.step(net)
    v2 = 0.9 * v1 - 0.1 * (g + 0.01 * w1)
    np.testing.assert_allclose(net.children["0"].params["weight"], w1 + v2, rtol=1e-5)


def test_piecewise_schedule():
    assert [round(piecewise_lr(1.0, e), 6) for e in (0, 4, 5, 9, 10, 19)] == [1, 1, 0.8, 0.8, 0.64, 0.512]


def test_training_learns_and_is_reproducible():
    data = toy_data()
    a, b = tiny_net(), tiny_net()
    ra = fit(a, data, data, CFG, log=None)
    fit(b, data, data, CFG, log=None)
    assert ra.history[-1]["train_loss"] < ra.history[0]["train_loss"]
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and np.array_equal(va, vb)
    c = tiny_net()
    fit(c, data, data, dataclasses.replace(CFG, seed=4), log=None)
    assert not all(np.array_equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values()))


def test_resume_after_interruption_gives_the_same_weights(tmp_path):
    data = toy_data()
    ref = tiny_net()
    fit(ref, data, data, CFG, log=None)

    def interrupt_after_epoch_3(msg):
        if msg.startswith("resuming"):
            return
        if msg.startswith("epoch 3/4 lr"):
            raise KeyboardInterrupt

    ck = tmp_path / "run" / "checkpoint.npz"
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(), data, data, CFG, checkpoint=ck, log=interrupt_after_epoch_3)
    assert load_checkpoint(ck)[3]["epochs_done"] == 2          # epoch 3 never reached its checkpoint
    resumed = tiny_net()
    r = fit(resumed, data, data, CFG, checkpoint=ck, resume=True, log=None)
    assert [h["epoch"] for h in r.history] == [1, 2, 3, 4]
    for va, vb in zip(ref.state_dict().values(), resumed.state_dict().values()):
        assert np.array_equal(va, vb)


def test_resume_refuses_a_different_configuration(tmp_path):
    data = toy_data()
    ck = tmp_path / "c.npz"
    fit(tiny_net(), data, data, dataclasses.replace(CFG, epochs=1), checkpoint=ck, log=None)
    with pytest.raises(ValueError, match=r"other options.*: lr: 0\.05 -> 0\.1\. Resume with") as e:
        fit(tiny_net(), data, data, dataclasses.replace(CFG, epochs=1, lr=0.1), checkpoint=ck, resume=True, log=None)
    assert "epochs" not in str(e.value)                   # only what changed is named
    with pytest.raises(ValueError, match=r"epochs: 1 -> 3"):
        fit(tiny_net(), data, data, dataclasses.replace(CFG, epochs=3), checkpoint=ck, resume=True, log=None)


def test_broken_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "c.npz"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="c.npz"):
        load_checkpoint(bad)


def test_divergence_raises_a_distinct_error():
    data = toy_data()
    with pytest.raises(TrainingDiverged, match="diverged"):
        fit(tiny_net(), data, data, dataclasses.replace(CFG, lr=1e30, momentum=0.0), log=None)


@pytest.mark.parametrize("n0,n1,bs", [(764, 764, 32), (191, 234, 32), (10, 30, 8), (5, 0, 4)])
def test_stratified_order_keeps_the_class_proportions_in_every_batch(n0, n1, bs):
    from squeezenp.train.trainer import epoch_order
    y = np.random.default_rng(0).permutation(np.r_[np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    order = epoch_order(y, np.random.default_rng(1), stratified=True)
    assert sorted(order.tolist()) == list(range(len(y)))                    # a permutation
    share = n1 / (n0 + n1)
    for b in range(0, len(y) - bs + 1, bs):                                # every full batch
        ones = int(y[order[b:b + bs]].sum())
        assert abs(ones - share * bs) <= 1.0 + 1e-9, (b, ones)
    plain = epoch_order(y, np.random.default_rng(1))
    np.testing.assert_array_equal(plain, np.random.default_rng(1).permutation(len(y)))   # default unchanged
    counts = [int(y[plain[b:b + bs]].sum()) for b in range(0, len(y) - bs + 1, bs)]
    if n0 == n1 == 764:
        assert max(abs(c - bs / 2) for c in counts) >= 3                    # a uniform shuffle is not stratified


def test_stratified_batches_train_and_are_reproducible():
    x, y = toy_data()
    cfg = dataclasses.replace(CFG, stratified_batches=True)
    a, b = tiny_net(), tiny_net()
    ra, rb = fit(a, (x, y), (x, y), cfg, log=None), fit(b, (x, y), (x, y), cfg, log=None)
    assert [h["train_loss"] for h in ra.history] == [h["train_loss"] for h in rb.history]
    assert ra.history[-1]["train_loss"] < ra.history[0]["train_loss"]
