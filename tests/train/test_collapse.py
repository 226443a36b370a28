"""Collapse detection: a network whose class maps are dead, or whose output is one class for every image, is
reported as collapsed; a live one is not."""
import numpy as np

from squeezenp import models
from squeezenp.train.collapse import class_map_stats, collapse_report, probe_pass


def probe(n=6, size=32, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(np.float32)


def test_a_network_with_both_class_maps_dead_is_collapsed():
    m = models.create("squeezenet", input_size=32, seed=0)
    m.conv10.params["bias"][...] = -1e3                    # every pre-activation below zero: ReLU maps all 0
    r = collapse_report(m, probe())
    assert r["collapsed"] and r["constant_output"] and r["dead_maps"] == [0, 1]
    assert r["status"] == "collapsed: every class map dead" and r["alive_fraction"] == [0.0, 0.0]


def test_one_dead_map_is_reported_without_calling_a_varied_output_collapsed():
    m = models.create("squeezenet", input_size=32, seed=0, init="glorot")
    w = m.conv10.params["weight"]
    w[0] = 0.0
    m.conv10.params["bias"][...] = [-1.0, 0.0]             # NonCOVID's map dead, COVID's varies around zero
    x = probe(16)
    _, pre = probe_pass(m, x)
    m.conv10.params["bias"][1] = -float(np.median(pre[:, 1].mean(axis=(1, 2))))   # about half the images each way
    r = collapse_report(m, x)
    assert r["dead_maps"] == [0] and not r["collapsed"] and r["status"] == "one class map dead (NonCOVID)"
    assert 0 < r["predicted_fraction"][1] < 1


def test_a_linear_classifier_with_constant_output_is_collapsed():
    m = models.create("proposed", input_size=32, seed=0)
    m.conv10.params["weight"][...] = 0.0
    m.conv10.params["bias"][...] = [0.0, 1.0]
    r = collapse_report(m, probe())
    assert r["collapsed"] and r["dead_maps"] == [] and r["alive_fraction"] == [1.0, 1.0]
    assert r["status"] == "collapsed: every image predicted COVID" and r["predicted_fraction"] == [0.0, 1.0]


def test_a_fresh_network_with_varied_output_is_ok():
    m = models.create("proposed", input_size=32, seed=0)
    x = probe(32)
    logits = m.forward(x, training=False)
    m.conv10.params["bias"][1] += np.median(logits[:, 0] - logits[:, 1])       # split the images between classes
    r = collapse_report(m, x)
    assert r["status"] == "ok" and not r["collapsed"]


def test_probe_pass_reads_the_classifier_input_and_preactivations():
    m = models.create("squeezenet", input_size=32, seed=0)
    x = probe(4)
    g, pre = probe_pass(m, x, batch=3)
    assert g.shape == (4, 512) and pre.shape[:2] == (4, 2)
    np.testing.assert_allclose(m.forward(x, training=False), np.maximum(pre, 0).mean(axis=(2, 3)), rtol=1e-5)
    assert class_map_stats(pre)[0][2] == 1.0                # squeezenp's start: weight 0, bias 0.1, alive


def test_irrecoverable_only_when_no_dropout_mask_can_revive_a_map():
    from squeezenp.train.collapse import irrecoverable
    x = probe(4)
    dead = models.create("squeezenet", input_size=32, seed=0)
    dead.conv10.params["bias"][...] = -1e3
    assert irrecoverable(x)(dead) == "every class map dead"
    assert irrecoverable(x)(models.create("squeezenet", input_size=32, seed=0)) is None
    # dead in evaluation, but a dropout mask that keeps channel c1 (doubled) and drops c2 revives it:
    # W = e_c1 - e_c2, b = -max(f_c1 - f_c2) <= 0 in evaluation; b + 2 max f_c1 > 0 since f >= 0
    m = models.create("squeezenet", input_size=32, seed=0)
    f = m.features(x)
    c1 = int(np.argmax(f.max(axis=(0, 2, 3))))
    c2 = (c1 + 1) % f.shape[1]
    w = np.zeros((2, f.shape[1]), np.float32)
    w[:, c1], w[:, c2] = 1.0, -1.0
    m.conv10.params["weight"][...] = w.reshape(m.conv10.params["weight"].shape)
    m.conv10.params["bias"][...] = -float(np.max(f[:, c1] - f[:, c2]))
    assert collapse_report(m, x)["dead_maps"] == [0, 1]                 # dead as evaluation sees it
    assert irrecoverable(x)(m) is None                                  # but training can still move it
    assert irrecoverable(x)(models.create("proposed", input_size=32)) is None


def test_fit_stops_at_a_dead_network_and_a_resume_does_not_continue(tmp_path):
    from squeezenp.train import TrainConfig, fit
    from squeezenp.train.collapse import irrecoverable
    x = probe(8)
    y = np.arange(8) % 2
    m = models.create("squeezenet", input_size=32, seed=0)
    m.conv10.params["bias"][...] = -1e3
    cfg = TrainConfig(epochs=4, batch_size=4, lr=1e-3, select="last")
    res = fit(m, (x, y), (x, y), cfg, checkpoint=tmp_path / "c.npz", log=None, stop_when=irrecoverable(x))
    assert len(res.history) == 1 and res.history[0]["stopped"] == "every class map dead" and res.best_epoch == 1
    again = fit(m, (x, y), (x, y), cfg, checkpoint=tmp_path / "c.npz", resume=True, log=None,
                stop_when=irrecoverable(x))
    assert len(again.history) == 1
