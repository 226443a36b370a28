"""Loading a benchmark script as a module in the test process (benchmarks/ is no package; its scripts import
``_common`` from their folder and re-execute themselves with glibc settings unless told not to)."""
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(mp: pytest.MonkeyPatch, filename: str):
    """The module of ``benchmarks/<filename>``, with ``benchmarks/`` on the path and no re-execution."""
    mp.setenv("_BENCH_REEXEC", "1")
    mp.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"{Path(filename).stem}_under_test", BENCH / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
