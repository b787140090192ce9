"""Helpers of the unit tests that live outside this folder.

The demo data's generator is a script in ``tests/demo`` (the package ships data only, SPEC §1):
``python tests/demo/generate.py``. Its folder goes on ``sys.path`` so ``test_examples.py`` can
``import generate`` the way that script imports its own sibling modules.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"

if str(DEMO_DIR) not in sys.path:
    sys.path.insert(0, str(DEMO_DIR))
