"""Container entrypoint of the metasup GitHub Action (see action.yml)."""

import os
import sys

from metasup.action import run

if __name__ == "__main__":
    sys.exit(run(os.environ))
