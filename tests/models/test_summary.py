"""summary_table / Model.summary: rows, totals, FLOP formulas; leaves the model untouched."""
import numpy as np

import squeezenp.models as M
from squeezenp.models.summary import trace


def test_summary_totals_and_formulas():
    m = M.create("proposed", input_size=35)
    rows = trace(m, (2, 3, 35, 35))
    names = [r[0] for r in rows]
    assert names[:3] == ["conv1", "relu_conv1", "pool1"] and names[-1] == "pool10"
    assert "fire3.expand3x3" in names and "upconv" in names
    assert sum(r[3] for r in rows) == m.num_parameters()
    row = dict((r[0], r) for r in rows)
    assert row["conv1"][2] == (2, 64, 17, 17)
    assert row["conv1"][4] == 2 * 2 * 64 * 17 * 17 * 3 * 9               # 2 x MACs, whole batch
    assert row["upconv"][4] == 2 * 2 * 2 * 2 * 512 * 64 * 16              # input 2x2, 512 -> 64, 4x4 kernel
    assert row["pool10"][2] == (2, 2)
    text = M.summary_table(m, (3, 35, 35))
    assert f"{m.num_parameters():,}" in text and "FLOPs" in text and "multiply-adds" in text


def test_summary_restores_forward_and_state():
    m = M.create("squeezenet_bypass", input_size=35)
    before = {k: v.copy() for k, v in m.state_dict().items()}
    text = m.summary()
    assert "bypass9" in text and "1x2" in text
    assert "forward" not in vars(m.conv1)                    # wrappers removed
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert m.training                                          # mode unchanged
    x = np.zeros((1, 3, 35, 35), np.float32)
    assert m.forward(x).shape == (1, 2)


def test_default_input_is_config_size():
    text = M.create("squeezenet").summary()
    assert text.splitlines()[0] == "squeezenet: input 1x3x227x227"
    assert "1x2x14x14" in text


def test_summary_lists_every_layer_of_a_fused_model_and_keeps_it_fused():
    m = M.create("proposed", input_size=35)
    assert m.fused
    names = [r[0] for r in trace(m, (1, 3, 35, 35))]
    assert "fire9.expand3x3" in names and "fire2.bn" in names
    assert m.fused and m.fire9.fused
    assert not any(layer._forward_hooks for _, layer in m.named_layers())      # hooks removed
