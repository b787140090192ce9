"""Memory allocator settings for a process that runs one evaluation and exits (CLI, action).

An evaluation builds a few dozen arrays of millions of values and drops them again. By default
glibc's ``malloc`` serves each large block from freshly mapped pages and hands it back to the
kernel when freed, so every new array pays its page faults again: 0.1–0.35 ms per MB on the
project's machine, about 0.1 s of a one-million-signal evaluation (``docs/performance.md``).
A one-shot process can keep what it frees for the next array instead. This lives at the edge:
only the console script and the action's entrypoint call it, never a library import, so a
long-lived process that imports metasup (a notebook, the test suite) keeps its own settings.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Final

_M_TRIM_THRESHOLD: Final = -1
_M_TOP_PAD: Final = -2
_M_MMAP_MAX: Final = -4
_M_ARENA_MAX: Final = -8
_KEEP_FREED_MEMORY: Final = (
    (_M_MMAP_MAX, 0),  # large blocks come from the heap too, so freed ones are reused
    (_M_ARENA_MAX, 1),  # one heap for all threads: what a worker thread frees, the next step reuses
    (_M_TRIM_THRESHOLD, 2**31 - 1),  # never give the heap's free top back to the kernel
    (_M_TOP_PAD, 256 << 20),  # grow the heap in steps of 256 MiB rather than block by block
)


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` reuse freed memory instead of returning it to the kernel.

    Returns whether the settings took effect: ``False`` where there is no glibc ``mallopt``
    (macOS, musl), which then simply keeps its defaults.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return all(mallopt(option, value) == 1 for option, value in _KEEP_FREED_MEMORY)
