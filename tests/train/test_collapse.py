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
