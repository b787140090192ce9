"""Container entrypoint of the metasup GitHub Action (see action.yml).

The process is prepared first (``metasup.runtime``: SIGTERM ends the run as Ctrl-C does), so a job
cancelled while the action's modules are still importing ends in the same one ``::error::`` line
and exit 130 as one cancelled later — not in an import traceback, or, as the container's PID 1
without a handler, in waiting for SIGKILL.

Python's cyclic garbage collector is off while the action's modules are imported: pandas, pyarrow,
pydantic and PyGithub create a few hundred thousand objects, none of them garbage, and the passes
the collector makes over them on the way cost about a sixth of the start-up (0.1 s;
``docs/performance.md``, "Start-up"). The imported objects are then frozen (left out of every later
pass) and collection resumes before the run starts.
"""

import gc
import os
import sys
from collections.abc import Callable, Mapping

from metasup.runtime import INTERRUPTED, STOPPED_IN_ACTION, prepare_one_shot_process


def import_action() -> Callable[[Mapping[str, str]], int]:
    """The action's ``run``, imported with the collector off; then frozen, and collecting again."""
    gc.disable()
    try:
        from metasup.action import run
    finally:
        gc.freeze()
        gc.enable()
    return run


def main() -> int:
    prepare_one_shot_process()
    try:
        run = import_action()
    except KeyboardInterrupt:
        print(f"::error::{STOPPED_IN_ACTION}", flush=True)
        return INTERRUPTED
    return run(os.environ)


if __name__ == "__main__":
    sys.exit(main())
