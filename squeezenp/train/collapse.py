"""Has a trained network collapsed? Dead class maps and constant predictions, measured on a probe set.

SqueezeNet's classifier (networks 1-3) is ``conv10 -> ReLU -> global average pool``: the logit of class c is the
mean of ``ReLU(a_c)`` over positions, ``a_c`` conv10's pre-activation map. A class map is **dead** when ``a_c <= 0``
at every position of every probe image: its ReLU passes no gradient, so nothing can revive it, and its logit is 0
for every image. When both maps are dead the output is the same for every image (loss ln 2): the network has
**collapsed** to a constant, and its accuracy is that of "one class for everything". The proposed CNN has no ReLU
after conv10 (``cam_is_linear``), so its maps cannot die; it can still end with the same prediction for every
image. ``docs/reproduction.md`` tells how networks 1 and 2 came to do this.

    probe_pass(model, x) -> (g (N, C) pooled conv10 inputs, a (N, K, h, w) conv10 pre-activations)
    class_map_stats(a) -> [(mean, std, fraction > 0) per class]
    collapse_report(model, x) -> {"alive_fraction", "dead_maps", "predicted_fraction", "constant_output",
                                  "collapsed", "status"}
    irrecoverable(x_probe) -> stop_when(model): "every class map dead" once no further step can change anything

Tests: ``tests/train/test_collapse.py``.
"""
from __future__ import annotations

import numpy as np


def probe_pass(model, x: np.ndarray, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """One evaluation pass over ``x`` (N, C, H, W): the pooled conv10 inputs ``g = GAP(cam_features)``, (N, C)
    float64, and conv10's pre-activation maps (N, num_classes, h, w)."""
    g, pre = [], []
    for i in range(0, len(x), batch):
        model.forward(x[i:i + batch], training=False)
        g.append(model.cam_features.mean(axis=(2, 3)))
        pre.append(model.conv10.forward(model.cam_features, training=False))
    return np.concatenate(g).astype(np.float64), np.concatenate(pre)


def class_map_stats(pre: np.ndarray) -> list[tuple[float, float, float]]:
    """Per class: mean and std of conv10's pre-activations over images and positions, and the fraction > 0."""
    return [(float(pre[:, c].mean()), float(pre[:, c].std()), float((pre[:, c] > 0).mean()))
            for c in range(pre.shape[1])]


def collapse_report(model, x: np.ndarray, batch: int = 32, class_names=("NonCOVID", "COVID")) -> dict:
    """Diagnose ``model`` on probe images ``x`` (N, C, H, W), e.g. the validation split.

    Returns
    -------
    dict with
      ``alive_fraction``     per class, the fraction of conv10 pre-activations > 0 (1.0 for a linear classifier)
      ``dead_maps``          the classes whose map is 0 everywhere after the ReLU (never for a linear classifier)
      ``predicted_fraction`` per class, the fraction of probe images predicted as that class
      ``constant_output``    every probe image gets the same prediction
      ``collapsed``          constant output, or every class map dead
      ``status``             "ok", "one class map dead (...)" or "collapsed: ..." (for reports)
    """
    _, pre = probe_pass(model, x, batch)
    K = pre.shape[1]
    logits = (pre if model.cam_is_linear else np.maximum(pre, 0)).mean(axis=(2, 3))   # = the model's logits
    pred = logits.argmax(1)
    alive = [1.0 if model.cam_is_linear else s[2] for s in class_map_stats(pre)]
    dead = [c for c in range(K) if alive[c] == 0.0]
    fractions = [float((pred == c).mean()) for c in range(K)]
    constant = max(fractions) == 1.0
    collapsed = constant or len(dead) == K
    names = [class_names[c] if c < len(class_names) else f"class {c}" for c in range(K)]
    if collapsed:
        why = "every class map dead" if len(dead) == K else \
            f"every image predicted {names[int(np.argmax(fractions))]}"
        status = f"collapsed: {why}"
    elif dead:
        status = "one class map dead (" + ", ".join(names[c] for c in dead) + ")"
    else:
        status = "ok"
    return {"alive_fraction": alive, "dead_maps": dead, "predicted_fraction": fractions,
            "constant_output": bool(constant), "collapsed": bool(collapsed), "status": status, "images": len(x)}


def irrecoverable(x_probe: np.ndarray, batch: int = 32):
    """A ``fit(stop_when=...)`` test: "every class map dead" when no dropout mask can make any of conv10's
    pre-activations positive at any position of the probe images (e.g. 128 training images), else None.

    With drop9's inverted dropout (keep 1 - p, scale s = 1 / (1 - p)) the largest pre-activation of class k at a
    position with features f is ``b_k + s * sum_c max(0, W_kc f_c)``; when that is <= 0 everywhere, every
    logit is 0 in training too, so the loss gradient reaching conv10 and everything before it is 0, and only L2
    decay still moves the weights, shrinking the pre-activations towards the bias, which gets neither decay
    nor gradient: training cannot revive the network. A linear classifier never stops."""
    def check(model):
        if model.cam_is_linear:
            return None
        drop = model.children.get("drop9")
        scale = 1.0 / (1.0 - drop.p) if drop is not None and model.dropout_enabled else 1.0
        w, b = model.cam_weights().astype(np.float64), model.cam_bias().astype(np.float64)
        for i in range(0, len(x_probe), batch):
            f = model.features(x_probe[i:i + batch]).astype(np.float64)          # (N, C, h, w), eval mode
            contrib = np.maximum(w[None, :, :, None, None] * f[:, None], 0).sum(axis=2)   # (N, K, h, w)
            if (b[None, :, None, None] + scale * contrib > 0).any():
                return None
        return "every class map dead"
    return check
