"""Memory a stage frees goes back to the system (glibc's allocator; elsewhere, nothing is done).

glibc raises its mmap and trim thresholds each time a large block is freed (numpy arrays are
large blocks), up to 32 MB: from then on, what a stage frees stays in the process's heap, and
the next stage's peak adds to it. Fixing the trim threshold turns that adjustment off (as Dask
does for its workers with MALLOC_TRIM_THRESHOLD_). And what a stage frees between the objects
it keeps (reading: parsers' buffers between the articles) only goes back when asked for
(`give_back`, glibc's malloc_trim). Figures: benchmarks/selection.py, 40,000 candidates.
"""

from __future__ import annotations

import ctypes
import functools
import os

_M_TRIM_THRESHOLD = -1  # mallopt's parameter number in glibc's malloc.h
TRIM_THRESHOLD = 128 * 1024  # glibc's own starting value, kept


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None  # not musl, not macOS


def return_freed_memory() -> None:
    """Keep glibc's thresholds where they start. Only for digest's own processes (the CLI,
    selection's helpers): a library must not change the allocator of the process it runs
    in. The environment's MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_ win."""
    libc = _glibc()
    if libc is not None and not {"MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"} & set(
        os.environ
    ):
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def give_back() -> None:
    """Give the free pages inside the heap back now (a few milliseconds)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
