"""Container entrypoint of the metasup GitHub Action (see action.yml)."""

import os
import sys

from metasup.action import run
from metasup.runtime import prepare_one_shot_process

if __name__ == "__main__":
    prepare_one_shot_process()
    sys.exit(run(os.environ))
