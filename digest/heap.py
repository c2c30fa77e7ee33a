"""Memory a stage frees goes back to the system (glibc's allocator; elsewhere, nothing is done).

glibc raises its mmap and trim thresholds each time a large block is freed (numpy arrays are
large blocks), up to 32 MB: from then on, what a stage frees stays in the process's heap, and
the next stage's peak adds to it. Fixing the thresholds turns that adjustment off (as Dask
does for its workers with MALLOC_TRIM_THRESHOLD_). And what a stage frees between the objects
it keeps (reading: parsers' buffers between the articles) only goes back when asked for
(`give_back`, glibc's malloc_trim).

benchmarks/selection.py, 40,000 candidates against 100,000 remembered: the selecting process
peaks at 482-484 MB with the thresholds fixed as below, 500-520 MB without. The price is page
faults: arrays mapped on their own, and memory given back at the heap's top, are mapped afresh
when next asked for (10,000 candidates: about 43,000 faults a select without, 63,000-81,000
with). Selection's helper processes leave the thresholds as they are: fixed, their peak was
the same.
"""

from __future__ import annotations

import ctypes
import functools
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
# Arrays from MMAP_THRESHOLD on are mapped on their own (unless a free block of the heap
# fits them) and given back when freed; smaller ones come from the heap, whose pages the next
# reuses, but for free memory at its top beyond TRIM_THRESHOLD, given back at once. A selection
# reads the history's key blocks, 2 MB each, block after block: 10,000 candidates, a select
# made 146,000 page faults with both at 512 KiB, 63,000-81,000 with MMAP_THRESHOLD at 4 MiB,
# and was 3% faster (median of 10 alternating pairs); the 40k peak 480-483 MB with 512 KiB,
# 482-484 with 4 MiB (one run of seven 492). TRIM_THRESHOLD at 8 MiB too, as glibc's own rule
# sets it, keeps the top's pages for the next block (37,000 faults a select), but the 40k
# peak rose to 489-496 MB, too near 500.
MMAP_THRESHOLD = 4 << 20
TRIM_THRESHOLD = 512 << 10


@functools.cache
def glibc() -> ctypes.CDLL | None:
    """The C library, when it is glibc (not musl, not macOS)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def return_freed_memory() -> None:
    """Fix glibc's thresholds. Only for digest's own process (the CLI): a library must not
    change the allocator of the process it runs in. Thresholds the environment sets win
    (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_, or the same in GLIBC_TUNABLES)."""
    libc = glibc()
    if libc is not None and not _thresholds_from_environment():
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def _thresholds_from_environment() -> bool:
    """A threshold the environment sets. (A value glibc refuses, such as an mmap threshold
    above 32 MiB, counts as set here: then neither fixes it, and glibc's own rule stays.)"""
    tunables = {
        name
        for name, equals, _ in (
            setting.partition("=") for setting in os.environ.get("GLIBC_TUNABLES", "").split(":")
        )
        if equals  # glibc ignores a name without a value
    }
    return bool(
        {"MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"} & set(os.environ)
        or {"glibc.malloc.trim_threshold", "glibc.malloc.mmap_threshold"} & tunables
    )


def give_back() -> None:
    """Give the free pages inside the heap back now (a few milliseconds)."""
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)
