"""``summary_table(model, input_shape)``: layer, output shape, parameters and FLOPs, with totals.

How: a forward hook on each leaf layer (``Layer.register_forward_hook``) records the call order, input and
output shapes during one unfused evaluation-mode pass on zeros (batch as given); the hooks are removed and the
fusion restored afterwards (also on error).

FLOPs = 2 x multiply-adds of the convolutions, transposed convolutions and linear layers, per forward pass of
the whole batch. Bias additions, batch norm, activations, pooling, concatenation and sums are not counted
(they are a few percent of the total). Tests in ``tests/models/test_summary.py``.
"""
from __future__ import annotations

import numpy as np

from ..layers import Conv2d, ConvTranspose2d, Linear


def layer_flops(layer, in_shapes, out_shape) -> int:
    """2 x multiply-adds of one call (0 for layers without weights)."""
    if isinstance(layer, Conv2d):
        N, C_out, OH, OW = out_shape
        kh, kw = layer.kernel_size
        return 2 * N * C_out * OH * OW * layer.in_channels * kh * kw
    if isinstance(layer, ConvTranspose2d):
        N, C_in, H, W = in_shapes[0]
        kh, kw = layer.kernel_size
        return 2 * N * H * W * C_in * layer.out_channels * kh * kw
    if isinstance(layer, Linear):
        return 2 * out_shape[0] * layer.in_features * layer.out_features
    return 0


def trace(model, input_shape):
    """Rows ``(name, type, output shape, parameters, flops)`` of one eval-mode forward pass, in call order."""
    if len(input_shape) == 3:
        input_shape = (1, *input_shape)
    leaves = [(n, l) for n, l in model.named_layers() if not l.children]
    rows = []

    def record(name):
        def hook(layer, args, out):
            in_shapes = [a.shape for a in args if isinstance(a, np.ndarray)]
            params = sum(p.size for p in layer.params.values())
            rows.append((name, type(layer).__name__, tuple(out.shape), int(params),
                         layer_flops(layer, in_shapes, out.shape)))
        return hook

    handles = [layer.register_forward_hook(record(name)) for name, layer in leaves]
    try:
        with model.unfused():          # a fused Fire does not call its children: every layer must run
            dtype = next(iter(model.state_dict().values())).dtype
            model.forward(np.zeros(input_shape, dtype=dtype), training=False)
    finally:
        for h in handles:
            h.remove()
    return rows


def summary_table(model, input_shape) -> str:
    """A printable table; ``input_shape`` is (N, C, H, W) or (C, H, W) (then N = 1)."""
    rows = trace(model, tuple(input_shape))
    shape_in = tuple(input_shape) if len(input_shape) == 4 else (1, *input_shape)
    header = ("layer", "type", "output shape", "params", "FLOPs")
    body = [(n, t, "x".join(map(str, s)), f"{p:,}", f"{f:,}") for n, t, s, p, f in rows]
    total_p = model.num_parameters()
    total_f = sum(r[4] for r in rows)
    counted = sum(r[3] for r in rows)
    footer = [("total", "", "", f"{total_p:,}", f"{total_f:,}")]
    widths = [max(len(str(r[i])) for r in [header, *body, *footer]) for i in range(5)]

    def fmt(r):
        return "  ".join(str(v).ljust(w) if i < 3 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
    rule = "-" * len(fmt(header))
    name = getattr(model, "config", {}).get("name", type(model).__name__)
    lines = [f"{name}: input {'x'.join(map(str, shape_in))}", rule, fmt(header), rule,
             *map(fmt, body), rule, *map(fmt, footer), rule,
             "FLOPs = 2 x multiply-adds of conv / transposed conv / linear layers for the whole batch; "
             "bias, BN, activations and pooling not counted.",
             f"GFLOPs per image: {total_f / shape_in[0] / 1e9:.3f}; parameters: {total_p:,} "
             f"({total_p * 4 / 2**20:.2f} MiB in float32)"]
    if counted != total_p:   # a layer that was never called (should not happen)
        lines.append(f"warning: layers called hold {counted:,} parameters, the model {total_p:,}")
    return "\n".join(lines)
