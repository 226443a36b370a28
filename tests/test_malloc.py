"""squeezenp/core/malloc.py: applied in a fresh process unless opted out; glibc then serves a large block from the
heap (no mmap), so freeing and allocating it again touches no new pages."""
import os
import subprocess
import sys

import pytest

CHILD = """
import resource, sys
import numpy as np
import squeezenp.core.malloc as m
applied = m.keep_freed_memory()
a = np.ones(50_000_000 // 8); del a                       # 50 MB, freed
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
b = np.ones(50_000_000 // 8)                              # the same size again
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(applied, faults)
"""


def run(env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_freed_large_blocks_are_reused_without_page_faults():
    applied, faults = run({})
    assert applied
    opted_out, faults_system = run({"SQUEEZENP_MALLOC": "system"})
    assert not opted_out
    # without the setting the new 50 MB block faults in again (455-966 faults measured: NumPy asks for huge pages,
    # the kernel maps several pages per fault; at least 25 with 2 MiB pages); with it the block comes back from the
    # heap already mapped (0 measured)
    assert faults_system >= 20 and faults <= faults_system // 10


def test_user_glibc_settings_win():
    applied, _ = run({"MALLOC_MMAP_MAX_": "65536"})
    assert not applied


THREAD_CHILD = """
import resource, threading
import numpy as np
import squeezenp.core.malloc as m
m.keep_freed_memory()
faults = []
def work():                      # 120 MB in one thread: more than one 64 MB heap of a thread arena
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        a, b, c = (np.ones(40_000_000 // 8) for _ in range(3))
        del a, b, c
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
t = threading.Thread(target=work)
t.start(); t.join()
print(faults[-1])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_a_threads_freed_blocks_are_reused_without_page_faults_even_under_the_benchmark_settings():
    """One arena for every thread (the threads of a split evaluation batch): with the benchmarks' two glibc
    variables set, which keep squeezenp's own two settings off, the arena count is still set; with several arenas
    a thread's emptied heaps are unmapped and fault in again at every repeat (570 faults measured)."""
    bench = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}

    def faults(extra):
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        env.update(bench, **extra)
        out = subprocess.run([sys.executable, "-c", THREAD_CHILD], capture_output=True, text=True, env=env,
                             check=True)
        return int(out.stdout.split()[-1])

    one_arena, several = faults({}), faults({"MALLOC_ARENA_MAX": "8"})
    assert several >= 50 and one_arena <= several // 10, (one_arena, several)
