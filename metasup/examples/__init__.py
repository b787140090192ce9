"""Bundled demo data: a small, deterministic fleet that exercises every decision metasup makes.

The folder holds data only (SPEC §1). The files are written by ``tests/demo/generate.py`` of the
source repository (``python tests/demo/generate.py``); ``README.md`` tells each agent's story.
"""

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent
"""Folder of the bundled ``metasup.yml``, ``agents.yaml`` and artifacts."""

CONFIG_PATH = EXAMPLES_DIR / "metasup.yml"
