"""``python -m metasup``: the same command as ``metasup``, for when scripts are not on PATH."""

import sys

from metasup.cli import run

sys.exit(run())
