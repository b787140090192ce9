"""Container entrypoint of the metasup GitHub Action (see action.yml)."""

import os
import sys

from metasup.action import run
from metasup.allocator import keep_freed_memory

if __name__ == "__main__":
    keep_freed_memory()
    sys.exit(run(os.environ))
