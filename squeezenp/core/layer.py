"""The layer protocol every part of squeezenp follows.

A ``Layer`` owns three dicts and one cache:

- ``params``  : trainable arrays (``weight``, ``bias``), updated by the optimiser;
- ``grads``   : same keys, shapes and dtypes as ``params``; *assigned* (not accumulated) by ``backward``;
- ``buffers`` : state that is saved but never trained (batch-norm running statistics);
- ``_cache``  : what ``forward(training=True)`` keeps for ``backward`` (the cache of a function of
  ``squeezenp.functional``).

``forward(x, training=...)`` returns the output; ``backward(dout)`` returns ``dx`` and fills ``grads``.
Neither ever writes into its inputs: a tensor may fan out to several layers, and their gradients add up.
Because ``grads`` are assigned, one layer object is called once per forward pass (a layer used twice would
keep only its second call's cache and gradients).

Calling a layer, ``layer(x, ...)``, runs ``forward`` and then its forward hooks
(``register_forward_hook``): this is how the summary and the benchmarks watch every layer of a network
without changing it. Containers call their children this way.

``fuse()`` switches a network to its fused forwards where a layer has them (Fire: in evaluation three matrix
products with their epilogues instead of ten layers; in training its expand branches, activations and
concatenation as one fused pair; ``squeezenp/ops/fire.py``; the networks: conv1 with its ReLU, the proposed CNN's
head, ``squeezenp/models/networks.py``); ``fuse(False)`` back to the layer-by-layer ones.
Fused or not, the numbers are the same; fused layers do not call (or cache in, or run the hooks of) the children
they replace.

Containers (``Sequential`` and the models) hold ``children`` in call order; ``named_parameters`` and
``state_dict`` walk them in that (insertion) order, so names such as ``fire3.expand3x3.weight`` and the
order of a saved file are deterministic. Tests: ``tests/layers/test_protocol.py``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np


class Layer:
    """Base class. Subclasses implement ``forward`` and ``backward``."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.children: dict[str, Layer] = {}
        self.training = True
        self.fused = False
        self._cache = None
        self._forward_hooks: dict[int, object] = {}

    # --- registration -------------------------------------------------------------------------
    def add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        return value

    def add_child(self, name: str, layer: "Layer") -> "Layer":
        self.children[name] = layer
        setattr(self, name, layer)
        return layer

    # --- computation --------------------------------------------------------------------------
    def forward(self, x, training: bool | None = None):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """``forward``, then every forward hook as ``hook(layer, args, output)``."""
        out = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            hook(self, args, out)
        return out

    def register_forward_hook(self, hook) -> "HookHandle":
        """Call ``hook(layer, args, output)`` after every call of this layer; ``handle.remove()`` stops it."""
        handle = HookHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def _is_training(self, training: bool | None) -> bool:
        """``training=None`` means: use the mode set by ``train()`` / ``eval()``."""
        return self.training if training is None else bool(training)

    # --- modes and dtype ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Layer":
        self.training = mode
        for child in self.children.values():
            child.train(mode)
        return self

    def eval(self) -> "Layer":
        return self.train(False)

    def fuse(self, enabled: bool = True) -> "Layer":
        """Use the fused forwards of every layer below that has them (or not, ``enabled=False``)."""
        self.fused = bool(enabled)
        for child in self.children.values():
            child.fuse(enabled)
        return self

    @contextlib.contextmanager
    def unfused(self):
        """``with layer.unfused():`` every layer below runs layer by layer (so that forward hooks see every
        call); each layer's fusion is restored afterwards, also on error."""
        flags = [(layer, layer.fused) for layer in (self, *(child for _, child in self.named_layers()))]
        self.fuse(False)
        try:
            yield self
        finally:
            for layer, fused in flags:
                layer.fused = fused

    def astype(self, dtype) -> "Layer":
        """Cast every parameter, gradient and buffer (for float64 gradient checks)."""
        for d in (self.params, self.grads, self.buffers):
            for k in d:
                d[k] = d[k].astype(dtype)
        for child in self.children.values():
            child.astype(dtype)
        return self

    # --- traversal ----------------------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(qualified_name, param, grad)`` in a fixed order (dict insertion order)."""
        for k in self.params:
            yield prefix + k, self.params[k], self.grads[k]
        for name, child in self.children.items():
            yield from child.named_parameters(f"{prefix}{name}.")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for k in self.buffers:
            yield prefix + k, self.buffers[k]
        for name, child in self.children.items():
            yield from child.named_buffers(f"{prefix}{name}.")

    def named_layers(self, prefix: str = "") -> Iterator[tuple[str, "Layer"]]:
        """Yield ``(qualified_name, layer)`` for this layer's descendants, depth first."""
        for name, child in self.children.items():
            full = f"{prefix}{name}"
            yield full, child
            yield from child.named_layers(full + ".")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters then buffers of each layer, in call order; the arrays themselves, not copies."""
        out: dict[str, np.ndarray] = {}
        self._collect_state("", out)
        return out

    def _collect_state(self, prefix: str, out: dict) -> None:
        for k, v in self.params.items():
            out[prefix + k] = v
        for k, v in self.buffers.items():
            out[prefix + k] = v
        for name, child in self.children.items():
            child._collect_state(f"{prefix}{name}.", out)

    def load_state_dict(self, state: dict[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays into this layer tree. Missing, extra or misshaped keys raise a ``KeyError``/``ValueError``
        naming the key and both shapes."""
        own = self.state_dict()
        if strict:
            missing = [k for k in own if k not in state]
            extra = [k for k in state if k not in own]
            if missing or extra:
                raise KeyError(f"state dict mismatch: missing keys {missing}, unexpected keys {extra}")
        for k, dst in own.items():
            if k not in state:
                continue
            src = np.asarray(state[k])
            if src.shape != dst.shape:
                raise ValueError(f"state dict key '{k}': expected shape {dst.shape}, got {src.shape}")
            dst[...] = src.astype(dst.dtype, copy=False)

    def num_parameters(self) -> int:
        return int(sum(p.size for _, p, _ in self.named_parameters()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class HookHandle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook (twice is harmless)."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = HookHandle._next_id
        HookHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


class Sequential(Layer):
    """Layers applied one after the other; ``backward`` walks them in reverse.

    ``Sequential(conv, relu, pool)`` names the children ``0, 1, 2``; ``names=[...]`` gives them names, which
    become the prefixes of their state-dict keys (``conv1.weight``).
    """

    def __init__(self, *layers: Layer, names: list[str] | None = None):
        super().__init__()
        names = names or [str(i) for i in range(len(layers))]
        if len(names) != len(layers):
            raise ValueError(f"Sequential: {len(layers)} layers but {len(names)} names")
        for name, layer in zip(names, layers):
            self.add_child(name, layer)

    def forward(self, x, training=None):
        training = self._is_training(training)
        for layer in self.children.values():
            x = layer(x, training=training)
        return x

    def backward(self, dout):
        for layer in reversed(list(self.children.values())):
            dout = layer.backward(dout)
        return dout
