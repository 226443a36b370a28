"""``squeezenp export``: write a model (a saved ``.npz``, or a fresh network by name) as ONNX."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ._common import input_size, positive_int


def register(sub) -> None:
    from ..models import available
    from ..interop.onnx_export import DEFAULT_OPSET
    p = sub.add_parser("export", help="export a model to ONNX (needs: pip install squeezenp[onnx])",
                       description="Write MODEL as an ONNX inference graph: input 'input' (batch, C, H, W) float32 "
                                   "with a dynamic batch, outputs 'probabilities' (softmax) and 'logits'. See "
                                   "docs/onnx.md.")
    p.add_argument("model", metavar="MODEL", help=f"a saved model (.npz), or a network name for an untrained "
                                                  f"network: {', '.join(available())}")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument("--opset", type=positive_int, default=DEFAULT_OPSET, help=f"default {DEFAULT_OPSET}")
    p.add_argument("--input-size", type=input_size, help="H = W of the graph input (default: the model's)")
    p.add_argument("--no-logits", action="store_true", help="output only 'probabilities'")
    p.add_argument("--seed", type=int, default=0, help="seed of an untrained network given by name")
    p.add_argument("--verify", action="store_true",
                   help="run the file in onnxruntime on random inputs and print the largest difference")
    p.set_defaults(func=run)


def _model(args):
    from ..models import available, create, load_model
    if args.model in available() and not Path(args.model).exists():
        kw = {"input_size": args.input_size} if args.input_size else {}
        return create(args.model, seed=args.seed, **kw)   # network 3 loads the ImageNet weights, as in training
    return load_model(args.model)


def run(args) -> int:
    from ..interop.onnx_export import OnnxUnavailableError, export_onnx, verify_onnx
    model = _model(args)
    try:
        out = export_onnx(model, args.onnx, opset=args.opset, logits=not args.no_logits,
                          input_size=args.input_size)
    except OnnxUnavailableError as e:
        print(f"squeezenp export: error: {e}", file=sys.stderr)
        return 1
    size = args.input_size or model.input_size
    outputs = "probabilities" + ("" if args.no_logits else ", logits")
    print(f"wrote {out} ({model.name}, opset {args.opset}, input 'input' [batch, {model.in_channels}, {size}, "
          f"{size}], outputs {outputs})")
    if args.verify:
        x = np.random.default_rng(0).normal(size=(2, model.in_channels, size, size)).astype(np.float32)
        diff = verify_onnx(model, out, x)
        print("onnxruntime vs squeezenp, max abs difference: "
              + ", ".join(f"{k} {v:.2e}" for k, v in diff.items()))
    return 0
