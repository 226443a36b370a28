"""Mini-batch training with validation every epoch, best-epoch selection, checkpoints and resume.

The loop is the paper's (Matlab ``trainNetwork`` with ``sgdm``): reshuffle every epoch, SGD with momentum
and L2, learning rate x0.8 every 5 epochs, validate every epoch, keep the epoch with the best validation
accuracy (ties broken by the lower validation loss). Matlab 2020a's own defaults are switches
(``squeezenp/train/recipes.py``, recipe ``matlab``): ``shuffle="once"`` (one order for the whole run),
``drop_last`` (the images that do not fill a last whole mini-batch are left out of the epoch), ``select="last"``.

Reproducibility: every random choice of epoch ``e`` (the shuffle and the dropout masks) comes from a
generator seeded with ``(seed, e)``; the single order of ``shuffle="once"`` from ``(seed, ONCE_STREAM)``. So a run resumed from the checkpoint written after epoch ``e`` replays
epoch ``e + 1`` exactly as an uninterrupted run does, and ends with the same weights.

Checkpoint: one ``.npz`` written atomically after every epoch, holding the current weights and buffers
(``model/…``), the best epoch's (``best/…``), the optimiser's velocities (``velocity/…``) and the loop state
as JSON (``__state__``). Loaded with ``allow_pickle=False``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.atomic import atomic_write
from ..layers import Dropout, SoftmaxCrossEntropy
from ..models.networks import Model, predict_proba
from .optim import SGDM, piecewise_lr


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: the hyperparameters are unusable (the search records it as failed)."""


class TrainingCancelled(Exception):
    """``fit``'s ``should_stop`` said stop: a search was interrupted and its running trials end early."""


@dataclasses.dataclass
class TrainConfig:
    """Hyperparameters and loop settings. Defaults follow the paper where it states them."""
    epochs: int = 20
    batch_size: int = 32
    lr: float = 0.007132           # the paper's Table 3, experiment 4
    momentum: float = 0.87589
    l2: float = 9.532e-07
    lr_drop_factor: float = 0.8
    lr_drop_period: int = 5
    seed: int = 0
    class_weights: tuple[float, float] | None = None
    select: str = "best"           # "best" validation epoch, or "last"
    stratified_batches: bool = False   # every batch with the classes in the training set's proportions
    schedule: str = "piecewise"    # "piecewise" (x lr_drop_factor every lr_drop_period epochs) or "cosine"
    warmup_epochs: int = 0         # linear warm-up of the learning rate over the first epochs
    label_smoothing: float = 0.0   # targets (1 - e) * onehot + e / K
    average_last: int = 0          # average the weights of the last k epochs (then re-estimate batch-norm stats)
    trunk_lr_scale: float = 1.0    # learning-rate factor for conv1 and the Fire modules (e.g. an ImageNet trunk)
    online_augment: bool = False   # draw a fresh augmentation of every image in every batch (data.online_augment)
    shuffle: str = "every-epoch"   # "every-epoch", or "once": one order for every epoch (Matlab's default)
    drop_last: bool = False        # leave out the images that do not fill a whole last batch (as Matlab does)
    gradient_threshold: float | None = None   # Matlab's GradientThreshold, 'l2norm', per parameter array (None: Inf)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"TrainConfig: epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if self.select not in ("best", "last"):
            raise ValueError(f"TrainConfig: select must be 'best' or 'last', got {self.select!r}")
        checks = {"lr": (self.lr, "a finite number > 0", lambda v: v > 0),
                  "momentum": (self.momentum, "in [0, 1)", lambda v: 0 <= v < 1),
                  "l2": (self.l2, "a finite number >= 0", lambda v: v >= 0),
                  "lr_drop_factor": (self.lr_drop_factor, "in (0, 1]", lambda v: 0 < v <= 1)}
        for name, (v, expected, ok) in checks.items():   # NaN fails every comparison, so it is refused too
            if not (isinstance(v, (int, float)) and math.isfinite(v) and ok(v)):
                raise ValueError(f"TrainConfig: {name} must be {expected}, got {v!r}")
        if self.schedule not in ("piecewise", "cosine"):
            raise ValueError(f"TrainConfig: schedule must be 'piecewise' or 'cosine', got {self.schedule!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"TrainConfig: label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.average_last <= self.epochs or not 0 <= self.warmup_epochs < max(self.epochs, 1):
            raise ValueError(f"TrainConfig: need 0 <= average_last <= epochs and 0 <= warmup_epochs < epochs, got "
                             f"{self.average_last}, {self.warmup_epochs} with {self.epochs} epochs")
        if self.gradient_threshold is not None and not self.gradient_threshold > 0:
            raise ValueError(f"TrainConfig: gradient_threshold must be > 0 (None: no clipping), got "
                             f"{self.gradient_threshold}")
        if self.shuffle not in ("every-epoch", "once"):
            raise ValueError(f"TrainConfig: shuffle must be 'every-epoch' or 'once', got {self.shuffle!r}")
        if not self.trunk_lr_scale >= 0:
            raise ValueError(f"TrainConfig: trunk_lr_scale must be >= 0, got {self.trunk_lr_scale}")

    def learning_rate(self, epoch: int) -> float:
        """The rate of 0-based ``epoch``: warm-up, then the piecewise drop or a cosine to zero."""
        if epoch < self.warmup_epochs:
            return self.lr * (epoch + 1) / (self.warmup_epochs + 1)
        if self.schedule == "cosine":
            t = (epoch - self.warmup_epochs) / max(self.epochs - self.warmup_epochs, 1)
            return self.lr * 0.5 * (1 + math.cos(math.pi * t))
        return piecewise_lr(self.lr, epoch, self.lr_drop_factor, self.lr_drop_period)


@dataclasses.dataclass
class TrainResult:
    history: list[dict]
    best_epoch: int                # 1-based
    best_val_accuracy: float
    seconds: float



def backward_parameters(model, dlogits) -> None:
    """``model.backward(dlogits)`` for a training step, which needs only the parameters' gradients: the four
    networks then skip the image's gradient (conv1's input gradient, a col2im over the whole input)."""
    if isinstance(model, Model):
        model.backward(dlogits, input_grad=False)
    else:
        model.backward(dlogits)

def seed_dropout(model, rng: np.random.Generator) -> None:
    """Give every Dropout layer its own generator derived from ``rng``."""
    for _, layer in model.named_layers():
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(rng.integers(2**63))


def evaluate_loss_accuracy(model, x, y, batch_size=32, class_weights=None) -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy, accuracy and probabilities on a labelled set, in evaluation mode."""
    probs = predict_proba(model, x, batch_size)
    w = np.ones(len(y)) if class_weights is None else np.asarray(class_weights)[y]
    loss = float(-(w * np.log(np.clip(probs[np.arange(len(y)), y], 1e-300, None))).sum() / w.sum())
    return loss, float((probs.argmax(1) == y).mean()), probs


class Progress:
    """Throttled one-line progress messages: epoch, batch, loss, accuracy, images per second, ETA."""

    def __init__(self, log: Callable[[str], None] | None, every_seconds: float = 5.0):
        self.log, self.every, self.last = log, every_seconds, 0.0

    def batch(self, epoch, epochs, b, nb, loss, acc, ips, eta):
        now = time.monotonic()
        if self.log and (now - self.last >= self.every or b == nb):
            self.last = now
            self.log(f"epoch {epoch}/{epochs} batch {b}/{nb} loss {loss:.4f} acc {acc:.3f} "
                     f"{ips:.1f} img/s ETA {format_seconds(eta)}")


def format_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


TRUNK_PREFIXES = ("conv1.", "fire")


def is_trunk(name: str) -> bool:
    """conv1 and the Fire modules: the part of every network that ImageNet weights can initialise."""
    return name.startswith(TRUNK_PREFIXES)


def recompute_batchnorm_statistics(model, x: np.ndarray, batch_size: int = 32) -> None:
    """Re-estimate every BatchNorm2d's running mean and variance as the plain average over ``x`` (training-mode
    passes, no weight change): needed after averaging weights, whose statistics no batch has seen."""
    from ..layers import BatchNorm2d
    bns = [layer for _, layer in model.named_layers() if isinstance(layer, BatchNorm2d)]
    if not bns:
        return
    saved = [bn.momentum for bn in bns]
    drop = getattr(model, "dropout_enabled", None)
    if drop is not None:
        model.set_dropout(False)
    try:
        for i, b in enumerate(range(0, len(x), batch_size)):
            for bn in bns:
                bn.momentum = 1.0 / (i + 1)          # cumulative average of the batch statistics
            model.forward(x[b:b + batch_size], training=True)
    finally:
        for bn, m in zip(bns, saved):
            bn.momentum = m
        if drop is not None:
            model.set_dropout(drop)


def _save_checkpoint(path: Path, model, best_state, optimizer, state: dict, average=None) -> None:
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    arrays.update({f"average/{k}": v for k, v in (average or {}).items()})
    arrays.update({f"best/{k}": v for k, v in best_state.items()})
    arrays.update({f"velocity/{k}": v for k, v in optimizer.state_dict().items()})
    arrays["__state__"] = np.array(json.dumps(state))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _config_json(config: TrainConfig) -> dict:
    """The configuration as it reads back from JSON (tuples become lists), for comparisons on resume."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def same_config(stored: dict | None, config: TrainConfig) -> bool:
    """Whether a checkpoint's stored configuration is ``config``. A field the stored one lacks was added to
    TrainConfig after it was written, and the loop that wrote it behaved as that field's default."""
    if stored is None:
        return False
    defaults = _config_json(TrainConfig())
    return all(stored.get(k, defaults[k]) == v for k, v in _config_json(config).items()) and \
        set(stored) <= set(defaults)


def load_checkpoint(path) -> tuple[dict, dict, dict, dict]:
    """``(model_state, best_state, velocity, loop_state)`` from a checkpoint; clear error if it is broken."""
    from ..models.io import read_npz     # refuses random bytes, pickles and zip bombs with a clear message
    arrays, _ = read_npz(path, what="checkpoint")
    try:
        state = json.loads(str(arrays.pop("__state__")))
        if not isinstance(state, dict):
            raise TypeError(f"state is a {type(state).__name__}")
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(f"checkpoint {path}: cannot be read as a squeezenp checkpoint "
                         f"({type(e).__name__}: {e})") from None
    split = {"model": {}, "best": {}, "velocity": {}, "average": {}}
    for k, v in arrays.items():
        head, _, rest = k.partition("/")
        if head not in split:
            raise ValueError(f"checkpoint {path}: unexpected array {k!r}")
        split[head][rest] = v
    state["average"] = split["average"]
    return split["model"], split["best"], split["velocity"], state


ONCE_STREAM = 1 << 30   # the generator stream of shuffle="once": (seed, ONCE_STREAM), apart from every epoch's


def clip_gradients(model, threshold: float) -> int:
    """Matlab's ``GradientThresholdMethod`` 'l2norm': every parameter array whose gradient has an L2 norm above
    ``threshold`` gets its gradient scaled down to norm ``threshold`` (``g <- g * threshold / ||g||``), in place,
    before the optimiser adds the L2 term. Returns how many arrays were clipped."""
    clipped = 0
    for _, _, g in model.named_parameters():
        norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
        if norm > threshold:
            g *= threshold / norm
            clipped += 1
    return clipped


def batches_per_epoch(n: int, batch_size: int, drop_last: bool) -> int:
    """Mini-batches of one epoch over ``n`` images. ``drop_last``: whole batches only, as Matlab's ``trainNetwork``
    ("the training data that does not fit into the final complete mini-batch of each epoch is discarded";
    ``trainingOptions``, MiniBatchSize/Shuffle), but at least one batch (all ``n`` images) when n < batch_size."""
    return max(1, n // batch_size) if drop_last else (n + batch_size - 1) // batch_size


def epoch_order(labels: np.ndarray, rng: np.random.Generator, stratified: bool = False) -> np.ndarray:
    """The order in which an epoch visits the training images.

    Default: a uniform shuffle, as Matlab's ``'Shuffle', 'every-epoch'``. ``stratified``: each class shuffled,
    then the classes interleaved evenly (the k-th of ``n_c`` images of class c sorts at ``(k + u_c) / n_c``,
    ``u_c`` uniform), so every run of consecutive images, hence every batch, holds the classes in the training
    set's proportions, to within one image per class. Why it matters: a batch with more of one class pushes
    both logits along the features' common mean, by an amount that random batches turn into a random walk;
    ``docs/reproduction.md``.
    """
    n = len(labels)
    if not stratified:
        return rng.permutation(n)
    keys = np.empty(n)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        keys[idx] = (np.arange(len(idx)) + rng.random()) / len(idx)
    return np.argsort(keys, kind="stable")


def fit(model, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray] | None,
        config: TrainConfig, checkpoint: str | Path | None = None, resume: bool = False,
        log: Callable[[str], None] | None = print,
        stop_when: Callable[[object], str | None] | None = None,
        should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train ``model`` in place; at the end it holds the selected epoch's weights.

    Parameters
    ----------
    train, val : ``(x (N, C, H, W) float32, y (N,) int64)``; ``val`` may be None (then ``select='last'``)
    checkpoint : path of the ``.npz`` written after every epoch; with ``resume=True`` and an existing file,
                 training continues after its last completed epoch.
    stop_when : called with the model after every epoch; a returned reason ends training there (recorded as
                ``stopped`` in that epoch's history entry), for a state no further epoch can change, such as
                every class map dead (``train.collapse.irrecoverable``).
    should_stop : called after every batch; True ends training with ``TrainingCancelled`` (how an interrupted
                 search stops the trials running on other processes or machines).

    Raises
    ------
    TrainingDiverged if a batch loss is NaN or infinite; TrainingCancelled when ``should_stop()`` is true.
    """
    x_tr, y_tr = train
    if len(x_tr) == 0 or len(x_tr) != len(y_tr):
        raise ValueError(f"fit: expected a non-empty training set with one label per image, got "
                         f"{len(x_tr)} images and {len(y_tr)} labels")
    loss_fn = SoftmaxCrossEntropy(config.class_weights, label_smoothing=config.label_smoothing)
    lr_scale = None if config.trunk_lr_scale == 1.0 else (
        lambda name: config.trunk_lr_scale if is_trunk(name) else 1.0)
    opt = SGDM(config.lr, config.momentum, config.l2, lr_scale=lr_scale)
    augment = None
    if config.online_augment:
        from ..data.online_augment import OnlineAugment
        augment = OnlineAugment()
    average: dict[str, np.ndarray] = {}
    average_from = config.epochs - config.average_last
    history: list[dict] = []
    best_state = {k: v.copy() for k, v in model.state_dict().items()}
    best_key = (-1.0, -math.inf)
    best_epoch, start_epoch, elapsed_before = 0, 0, 0.0
    checkpoint = Path(checkpoint) if checkpoint else None

    if resume and checkpoint and checkpoint.exists():
        m_state, b_state, velocity, st = load_checkpoint(checkpoint)
        from ..core.identity import refuse_changes
        written = {**_config_json(TrainConfig()), **(st.get("config") or {})}   # fields added later: defaults
        refuse_changes(written, _config_json(config), f"checkpoint {checkpoint}",
                       "Resume with the same options, or start a new run without --resume.")
        try:
            model.load_state_dict(b_state)      # checked now, not when training ends
            model.load_state_dict(m_state)
            opt.load_state_dict(velocity)
        except (KeyError, ValueError) as e:
            raise ValueError(f"checkpoint {checkpoint} does not fit this model: {e}") from None
        best_state = b_state
        history, best_epoch, start_epoch = st["history"], st["best_epoch"], st["epochs_done"]
        if history and history[-1].get("stopped"):
            start_epoch = config.epochs                  # it ended there: nothing more to train
        best_key, elapsed_before = tuple(st["best_key"]), st["seconds"]
        average = st["average"]
        if log:
            log(f"resuming from {checkpoint} after epoch {start_epoch}")

    t0 = time.monotonic()
    n, bs = len(x_tr), config.batch_size
    nb = batches_per_epoch(n, bs, config.drop_last)
    n_epoch = min(n, nb * bs)                  # images one epoch visits
    progress = Progress(log)
    once = None
    if config.shuffle == "once":   # Matlab's Shuffle 'once': one order, drawn before training, for every epoch
        once = epoch_order(y_tr, np.random.default_rng([config.seed, ONCE_STREAM]), config.stratified_batches)
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        seed_dropout(model, rng)
        opt.lr = config.learning_rate(epoch)
        order = once if once is not None else epoch_order(y_tr, rng, config.stratified_batches)
        model.train()
        te = time.monotonic()
        tot_loss = tot_correct = seen = 0
        for b in range(nb):
            idx = order[b * bs:(b + 1) * bs]
            xb, yb = x_tr[idx], y_tr[idx]
            if augment is not None:
                xb = augment(xb, rng)
            with np.errstate(over="ignore", invalid="ignore"):   # divergence is detected just below
                logits = model.forward(xb, training=True)
                loss = loss_fn.forward(logits, yb)
                if not math.isfinite(loss):
                    raise TrainingDiverged(f"training diverged: loss is {loss} at epoch {epoch + 1}, batch "
                                           f"{b + 1} (lr={config.lr:g}, momentum={config.momentum:g}, "
                                           f"l2={config.l2:g})")
                backward_parameters(model, loss_fn.backward())
                if config.gradient_threshold is not None:
                    clip_gradients(model, config.gradient_threshold)
                opt.step(model)
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"training cancelled at epoch {epoch + 1}, batch {b + 1}")
            tot_loss += loss * len(idx)
            tot_correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
            dt = time.monotonic() - te
            ips = seen / dt if dt > 0 else float("nan")
            remaining = (n_epoch - seen + (config.epochs - epoch - 1) * n_epoch) / ips if dt > 0 else float("nan")
            progress.batch(epoch + 1, config.epochs, b + 1, nb, tot_loss / seen, tot_correct / seen, ips, remaining)

        record = {"epoch": epoch + 1, "lr": opt.lr, "train_loss": tot_loss / seen, "train_accuracy": tot_correct / seen,
                  "seconds": time.monotonic() - te}
        if val is not None and len(val[0]):
            vl, va, _ = evaluate_loss_accuracy(model, val[0], val[1], bs, config.class_weights)
            if not math.isfinite(vl):
                raise TrainingDiverged(f"training diverged: validation loss is {vl} after epoch {epoch + 1}")
            record.update(val_loss=vl, val_accuracy=va)
            key = (va, -vl)
        else:
            key = (float(epoch), 0.0)
        why = stop_when(model) if stop_when is not None else None
        if why:
            record["stopped"] = why
        if config.average_last and epoch >= average_from:
            for k, v in model.state_dict().items():
                average[k] = average.get(k, 0) + v.astype(np.float64) / config.average_last
        if config.select == "last" or key > tuple(best_key):
            best_key, best_epoch = key, epoch + 1
            best_state = {k: v.copy() for k, v in model.state_dict().items()}
        history.append(record)
        if log:
            msg = f"epoch {epoch + 1}/{config.epochs} lr {opt.lr:.3g} train loss {record['train_loss']:.4f} " \
                  f"acc {record['train_accuracy']:.3f}"
            if "val_accuracy" in record:
                msg += f" | val loss {record['val_loss']:.4f} acc {record['val_accuracy']:.3f}"
            log(msg + f" | {record['seconds']:.1f}s")
        if checkpoint:
            _save_checkpoint(checkpoint, model, best_state, opt, {
                "config": _config_json(config), "history": history, "best_epoch": best_epoch,
                "best_key": list(best_key), "epochs_done": epoch + 1,
                "seconds": elapsed_before + time.monotonic() - t0}, average)
        if why:
            if log:
                log(f"stopped after epoch {epoch + 1}: {why}")
            break

    stopped = bool(history and history[-1].get("stopped"))
    if config.average_last and not stopped:     # a stopped run has fewer epochs than the average needs
        model.load_state_dict({k: v.astype(model.state_dict()[k].dtype) for k, v in average.items()})
        recompute_batchnorm_statistics(model, x_tr, bs)
        best_epoch = config.epochs
        return TrainResult(history, best_epoch, float("nan"), elapsed_before + time.monotonic() - t0)
    model.load_state_dict(best_state)
    best_va = max((h.get("val_accuracy", float("nan")) for h in history if h["epoch"] == best_epoch),
                  default=float("nan"))
    return TrainResult(history, best_epoch, best_va, elapsed_before + time.monotonic() - t0)
