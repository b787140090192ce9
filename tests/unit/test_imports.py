"""Start-up: what importing the action and the command loads (SPEC §4.3, "The image starts fast").

Behaviour, not timing: each check runs in a fresh interpreter and reads ``sys.modules``. The
timings are in docs/performance.md ("Image and start-up").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY_FOR_REVIEW = ("matplotlib", "smtplib", "PIL", "fontTools")
"""Only rolling mode (the LP e-mail) and the drawing commands use these."""


def loaded_after(statement: str, names: tuple[str, ...]) -> list[str]:
    report = f"print(json.dumps([n for n in {list(names)!r} if n in sys.modules]))"
    code = f"import json, sys\n{statement}\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", ["metasup.action", "metasup.cli"])
def test_import__no_charts_or_smtp_at_start(module: str) -> None:
    assert loaded_after(f"import {module}", HEAVY_FOR_REVIEW) == []


def test_import__entrypoint_module_loads_no_charts_or_smtp() -> None:
    statement = "import runpy; runpy.run_path('entrypoint.py', run_name='not_main')"
    assert loaded_after(statement, HEAVY_FOR_REVIEW) == []


def test_import__rolling_mode_still_reaches_the_lp_email() -> None:
    """The lazy import is only deferred: rolling mode's modules import and bring matplotlib and SMTP."""
    statement = "import metasup.action\nfrom metasup.rolling.run import run_rolling"
    assert loaded_after(statement, ("matplotlib", "smtplib")) == ["matplotlib", "smtplib"]


def test_entrypoint__the_collector_is_back_on_for_the_run_with_the_imports_frozen() -> None:
    """The entrypoint imports with the cyclic collector off (start-up); the run itself collects."""
    statement = (
        "import gc, runpy\nrunpy.run_path('entrypoint.py', run_name='not_main')\n"
        "print(json.dumps([gc.isenabled(), gc.get_freeze_count() > 100_000]))"
    )
    code = f"import json\n{statement}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True]
