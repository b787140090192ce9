"""Process-wide settings for a process that runs one evaluation and exits (the CLI, the action).

This lives at the edge: only the console script and the action's entrypoint call
:func:`prepare_one_shot_process`, never a library import, so a long-lived process that imports
metasup (a notebook, the test suite) keeps its own settings. Measurements: ``docs/performance.md``.

* **Memory.** An evaluation builds a few dozen arrays of millions of values and drops them
  again. By default glibc's ``malloc`` serves each large block from freshly mapped pages and hands
  it back to the kernel when freed, so every new array pays its page faults again (the cost per
  MB, measured, is in the docs). A one-shot process keeps what it frees for the next array.
* **Stopping.** SIGTERM ends the run the way Ctrl-C does (``KeyboardInterrupt``), so the CLI and
  the action say "interrupted" in one line. As a container's PID 1, Python would otherwise ignore
  SIGTERM (the kernel applies no default action to PID 1): ``docker stop``, or a runner cancelling
  the job, would wait for SIGKILL, and the job log would end in a traceback for SIGINT.
* **Output.** A reader that goes away (``metasup evaluate | head``) is not a bug: the command ends
  with :data:`PIPE_CLOSED` and nothing on stderr (:func:`stdout_closed`).
* **Threads.** Prices are loaded, and signals joined, in two threads that mostly run numpy and
  pyarrow without the GIL but take it back between calls. With Python's default 5 ms switch
  interval a thread waiting for the GIL can idle for most of that; 0.5 ms hands it over sooner.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
from collections.abc import Sequence
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


INTERRUPTED: Final = 130
"""Exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT, as a shell reports Ctrl-C)."""

STOPPED_IN_ACTION: Final = (
    "metasup was stopped before it finished (the job was cancelled, or the runner shut down)."
    " What it wrote to GitHub stands; the next run starts from there."
)
"""The action's one ``::error::`` line for a run stopped by SIGINT or SIGTERM."""

SWITCH_INTERVAL_S: Final = 0.0005
"""How long a thread may hold the GIL while another waits for it (Python's default: 5 ms)."""


def prepare_one_shot_process() -> None:
    """Every setting above: call once, first thing, in a process that evaluates and exits."""
    keep_freed_memory()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


PIPE_CLOSED: Final = 141
"""Exit code when the reader of our output went away (``metasup evaluate | head``): 128 + SIGPIPE,
what a shell reports for any command that pipe stopped. Files were written before the printing."""


def stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone; if so, send what is left of the
    output nowhere, so the interpreter's last flush does not fail again with a second message."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        closed = any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False
    if closed:
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    return closed


def console_script(argv: Sequence[str] | None = None) -> int:
    """The ``metasup`` command: the process is prepared *before* the command's imports.

    Importing pandas, pyarrow and PyGithub takes most of a second; a Ctrl-C or SIGTERM in that
    time ended in an import traceback, or (SIGTERM, no handler yet) in exit 143 — not the
    "Interrupted." and 130 the README promises.
    """
    prepare_one_shot_process()
    try:
        from metasup.cli import main
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return INTERRUPTED
    return main(argv)
