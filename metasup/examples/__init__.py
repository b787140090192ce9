"""Bundled demo data: a small, deterministic fleet that exercises every decision metasup makes.

The files next to this module are written by :mod:`metasup.examples.generate`
(``python -m metasup.examples.generate``); ``README.md`` tells each agent's story.
"""

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent
"""Folder of the bundled ``metasup.yml``, ``agents.yaml`` and artifacts."""

CONFIG_PATH = EXAMPLES_DIR / "metasup.yml"
