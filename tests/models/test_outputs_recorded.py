"""The networks still compute what ``outputs_record.py`` recorded: evaluation and training logits, the input
gradient, every parameter gradient and every buffer (projected), for the three networks without weight files,
in float64 and float32, on the fast path and (float64) on the textbook path (``ops.reference_backend``).

Tolerances are float rounding only: the sums may run in another order (threads, BLAS kernels), nothing else
may change."""
import numpy as np
import pytest

from squeezenp import ops

from outputs_record import DTYPES, NETWORKS, RECORDING, outputs

TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=1e-5, atol=1e-6)}


def _recorded(name, dtype):
    with np.load(RECORDING, allow_pickle=False) as f:
        prefix = f"{name}/{dtype}/"
        return {k[len(prefix):]: f[k] for k in f.files if k.startswith(prefix)}


def _compare(got, want, dtype):
    assert sorted(got) == sorted(want)
    for k in want:
        scale = max(1.0, float(np.max(np.abs(want[k]))))
        np.testing.assert_allclose(got[k], want[k], rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale,
                                   err_msg=k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NETWORKS)
def test_fast_path_matches_recording(name, dtype):
    _compare(outputs(name, dtype), _recorded(name, dtype), dtype)


@pytest.mark.parametrize("name", NETWORKS)
def test_textbook_path_matches_recording(name):
    with ops.reference_backend():
        got = outputs(name, "float64")
    _compare(got, _recorded(name, "float64"), "float64")
