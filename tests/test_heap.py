"""What digest/heap.py asks of glibc's allocator, seen in a fresh process's resident set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from digest.heap import MMAP_THRESHOLD, glibc

pytestmark = pytest.mark.skipif(glibc() is None, reason="glibc's allocator only")

# A stage's pattern: one big array freed (glibc, left to itself, then raises its thresholds),
# then 48 arrays of 1 MB between objects that stay, all freed. Prints the resident MB it keeps.
# The objects that stay are 64 KiB: smaller ones may all fit in the holes the imports left in
# the heap (how many depends on the environment's size), and the freed arrays then lie at the
# heap's top, which is given back (CI, with 1 KiB ones: 0 MB kept where 48 were expected).
STAGE = """
import sys
import numpy as np
from digest.heap import give_back, return_freed_memory

def resident():
    status = open("/proc/self/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024

if "fixed" in sys.argv:
    return_freed_memory()
big = np.ones(8 << 20, np.uint8)
del big
before = resident()
arrays, kept = [], []
for _ in range(48):
    arrays.append(np.ones(1 << 20, np.uint8))
    kept.append(np.ones(64 << 10, np.uint8))
del arrays
if "give_back" in sys.argv:
    give_back()
print(resident() - before)
"""


def kept_mb(*how: str, array: int = 1 << 20, **environment: str) -> int:
    """Malloc settings in the environment (MALLOC_*, GLIBC_TUNABLES) can change what glibc
    does (a top pad or an mmap maximum turns its own thresholds off): only those given are
    passed."""
    stage = STAGE.replace("np.ones(1 << 20", f"np.ones({array}")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"
    }
    out = subprocess.run(
        [sys.executable, "-c", stage, *how],
        capture_output=True,
        text=True,
        check=True,
        env=env | environment,
    )
    return int(out.stdout)


@pytest.mark.slow
def test_left_to_itself_glibc_keeps_what_a_stage_freed():
    assert kept_mb() >= 40


@pytest.mark.slow
def test_fixed_thresholds_give_freed_arrays_back_as_they_are_freed():
    """Arrays from MMAP_THRESHOLD on; smaller ones stay in the heap for the next to reuse."""
    assert kept_mb("fixed", array=MMAP_THRESHOLD) <= 8
    assert kept_mb("fixed") >= 40


@pytest.mark.slow
def test_give_back_returns_the_free_pages_between_the_kept_objects():
    assert kept_mb("fixed", "give_back") <= 8


@pytest.mark.slow
@pytest.mark.parametrize(
    "environment",
    [
        {"MALLOC_MMAP_THRESHOLD_": "131072"},
        {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=8:glibc.malloc.mmap_threshold=131072"},
    ],
)
def test_a_threshold_the_environment_sets_wins(environment):
    """128 KiB from the environment: the 1 MB arrays are mapped on their own and go back."""
    assert kept_mb("fixed", **environment) <= 8


@pytest.mark.slow
@pytest.mark.parametrize(
    "tunables",
    ["glibc.malloc.arena_max=2:glibc.malloc.tcache_count=8", "glibc.malloc.mmap_threshold"],
)
def test_other_tunables_leave_digests_thresholds_in_place(tunables):
    """Tunables that set no threshold (a name without a value sets nothing, for glibc)."""
    assert kept_mb("fixed", array=MMAP_THRESHOLD, GLIBC_TUNABLES=tunables) <= 8
