"""``python -m metasup``: the same command as ``metasup``, for when scripts are not on PATH."""

import sys

from metasup.runtime import console_script

sys.exit(console_script())
