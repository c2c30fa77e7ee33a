"""Memory a stage frees goes back to the system (glibc's allocator; elsewhere, nothing is done).

glibc raises its mmap and trim thresholds each time a large block is freed (numpy arrays are
large blocks), up to 32 MB: from then on, what a stage frees stays in the process's heap, and
the next stage's peak adds to it. Fixing the thresholds turns that adjustment off (as Dask
does for its workers with MALLOC_TRIM_THRESHOLD_). And what a stage frees between the objects
it keeps (reading: parsers' buffers between the articles) only goes back when asked for
(`give_back`, glibc's malloc_trim).

benchmarks/selection.py, 40,000 candidates against 100,000 remembered: the selecting process
peaks at about 485 MB with the thresholds fixed, 500-520 MB without; 10,000 candidates select
about 3% slower for it (arrays mapped on their own are mapped afresh: more page faults).
Selection's helper processes leave them as they are: fixed, their peak was the same.
"""

from __future__ import annotations

import ctypes
import functools
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
# Arrays from MMAP_THRESHOLD on are mapped on their own, and given back when freed; smaller
# ones come from the heap, where the next reuses their pages (a selection reads the history's
# key blocks, 2 MB each, block after block: 10,000 candidates, 146,000 page faults a selection
# with 512 KiB, 81,000 with 4 MiB, 3% faster; the 40k peak 480-483 MB against 482-484, one
# run of seven 492). Free memory at the heap's top beyond TRIM_THRESHOLD is given back too.
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
    change the allocator of the process it runs in. The environment's MALLOC_TRIM_THRESHOLD_
    / MALLOC_MMAP_THRESHOLD_ win."""
    libc = glibc()
    if libc is not None and not {"MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"} & set(
        os.environ
    ):
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def give_back() -> None:
    """Give the free pages inside the heap back now (a few milliseconds)."""
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)
