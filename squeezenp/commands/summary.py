"""``squeezenp summary``: layer table of a network (output shapes, parameters, FLOPs)."""
from __future__ import annotations

from ._common import bounded_int, input_size


def register(sub) -> None:
    from ..models import available
    p = sub.add_parser("summary", help="print a network's layers, output shapes, parameters and FLOPs",
                       description="One line per layer of an untrained network: its output shape for one "
                                   "image, its parameters and multiply-adds, then the totals.")
    p.add_argument("name", choices=available(), help="the network: the paper's experiments 1-4 in this order")
    p.add_argument("--input-size", type=input_size, default=227, help="side of the input image in pixels")
    p.add_argument("--classes", type=bounded_int(1, 1000), default=2, help="output classes")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..models import create
    model = create(args.name, num_classes=args.classes, input_size=args.input_size)
    print(model.summary((1, 3, args.input_size, args.input_size)))
    return 0
