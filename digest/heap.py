"""Memory a stage frees goes back to the system (glibc's allocator; elsewhere, nothing is done).

glibc raises its mmap and trim thresholds each time a large block is freed (numpy arrays are
large blocks), up to 32 MB: from then on, what a stage frees stays in the process's heap, and
the next stage's peak adds to it. Fixing the thresholds turns that adjustment off (as Dask
does for its workers with MALLOC_TRIM_THRESHOLD_). And what a stage frees between the objects
it keeps (reading: parsers' buffers between the articles) only goes back when asked for
(`give_back`, glibc's malloc_trim).

benchmarks/selection.py, 40,000 candidates against 100,000 remembered: the selecting process
peaks at about 490 MB with the thresholds fixed, 530 MB without; 10,000 candidates select about 5%
slower for it (freed arrays are mapped afresh: more page faults). Selection's helper
processes leave them as they are: fixed, their peak was the same.
"""

from __future__ import annotations

import ctypes
import functools
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
# Arrays from this size on are mapped on their own, and given back when freed; free memory at
# the heap's top beyond it is given back too. glibc starts both at 128 KiB, which gave the
# same peak (494 MB against 496).
THRESHOLD = 512 * 1024


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
        libc.mallopt(_M_MMAP_THRESHOLD, THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, THRESHOLD)


def give_back() -> None:
    """Give the free pages inside the heap back now (a few milliseconds)."""
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)
