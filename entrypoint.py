"""Container entrypoint of the metasup GitHub Action (see action.yml).

Python's cyclic garbage collector is off while the action's modules are imported: pandas, pyarrow,
pydantic and PyGithub create a few hundred thousand objects, none of them garbage, and the passes
the collector makes over them on the way cost about a sixth of the start-up (0.1 s;
``docs/performance.md``, "Start-up"). The imported objects are then frozen (left out of every later
pass) and collection resumes before the run starts.
"""

import gc
import os
import sys

gc.disable()
from metasup.action import run  # noqa: E402
from metasup.runtime import prepare_one_shot_process  # noqa: E402

gc.freeze()
gc.enable()

if __name__ == "__main__":
    prepare_one_shot_process()
    sys.exit(run(os.environ))
