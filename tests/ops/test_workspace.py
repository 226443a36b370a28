"""Scratch arrays reused between calls (squeezenp/ops/workspace.py): the same arrays come back for the same name,
shapes and dtype, new ones otherwise, fresh ones without a workspace."""
import numpy as np

from squeezenp.ops.workspace import part_scratch, scratch


def test_scratch_reused_until_shape_or_dtype_changes():
    work = {}
    a = scratch(work, "cols", (2, 3), np.float32)
    assert scratch(work, "cols", (2, 3), np.float32) is a
    assert scratch(work, "cols", (3, 2), np.float32) is not a
    assert scratch(work, "cols", (3, 2), np.float64).dtype == np.float64
    assert scratch(None, "cols", (2, 3), np.float32) is not scratch(None, "cols", (2, 3), np.float32)


def test_part_scratch_one_tuple_per_part_reused():
    work = {}
    parts = part_scratch(work, "z", 2, ((4, 5), (3,)), np.float32)
    assert len(parts) == 2 and [a.shape for a in parts[0]] == [(4, 5), (3,)]
    assert parts[0][0] is not parts[1][0]                      # each thread writes only its own
    assert part_scratch(work, "z", 2, ((4, 5), (3,)), np.float32) is parts
    assert part_scratch(work, "z", 1, ((4, 5), (3,)), np.float32) is not parts
    assert part_scratch(work, "z", 2, ((4, 6), (3,)), np.float32) is not parts
    assert part_scratch(None, "z", 2, ((4, 5),), np.float64)[1][0].dtype == np.float64
