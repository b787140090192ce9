"""The real Dockerfile, built and run the way GitHub runs a Docker action, against the fake GitHub.

Needs a Docker engine (``DOCKER_HOST``) and a base image (``METASUP_BASE_IMAGE``); CI gets both
from ``../shared/tools/docker-standin`` and sets ``METASUP_REQUIRE_DOCKER=1`` so that a missing
engine fails the run instead of skipping the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fakegithub import ACTIONS_TOKEN, FakeGitHub, Repo

from metasup.examples import EXAMPLES_DIR
from metasup.render.comment import MARKER

ROOT = Path(__file__).resolve().parents[2]
REPO = "octo-org/fleet"
IMAGE = "metasup:test"
BASE_IMAGE = os.environ.get("METASUP_BASE_IMAGE", "")
"""Read at import: the autouse ``clean_environ`` fixture hides METASUP_* variables from tests."""

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def image() -> str:
    """Build the action's image from the real Dockerfile (layers cached between runs)."""
    base = os.environ.get("METASUP_BASE_IMAGE")
    reachable = shutil.which("docker") is not None and docker("info", timeout=30).returncode == 0
    if not (base and reachable):
        if os.environ.get("METASUP_REQUIRE_DOCKER") == "1":
            pytest.fail("METASUP_REQUIRE_DOCKER=1 but no Docker engine or METASUP_BASE_IMAGE is available")
        pytest.skip("no Docker engine here: set DOCKER_HOST and METASUP_BASE_IMAGE (see .ci/run)")
    built = docker("build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE, str(ROOT))
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return IMAGE


def test_container__review_comment_appears(
    image: str,
    fake_github: FakeGitHub,
    fake_repo: Repo,
    tmp_path: Path,
    github_event_path: Callable[..., Path],
) -> None:
    fake_github.create_branch(REPO, "feature")
    number = fake_github.open_pull(REPO, "feature", title="Tune agents").number
    workspace = tmp_path / "workspace"
    shutil.copytree(
        EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md")
    )
    commands = tmp_path / "file_commands"
    commands.mkdir()
    event = github_event_path("pull_request.opened", repo=REPO, number=number)
    shutil.copy(event, tmp_path / "event.json")

    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": "/github/file_commands/output",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
        "GITHUB_RUN_ID": "777",
        "METASUP_GITHUB_TOKEN": ACTIONS_TOKEN,
        "METASUP_CONFIG": "metasup.yml",
        "METASUP_MODE": "auto",
        "METASUP_FAIL_ON": "never",
    }
    run = docker(
        "run",
        "--rm",
        "--network",
        "host",
        "-v",
        f"{workspace}:/github/workspace",
        "-v",
        f"{tmp_path / 'event.json'}:/github/workflow/event.json:ro",
        "-v",
        f"{commands}:/github/file_commands",
        "--workdir",
        "/github/workspace",
        *[arg for name, value in env.items() for arg in ("-e", f"{name}={value}")],
        image,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    comments = [c for c in fake_github.comments(REPO, number) if c.body.startswith(MARKER)]
    assert len(comments) == 1
    assert "## 🤖 Meta-Agent Review Report" in comments[0].body
    assert "comment-id<<" in (commands / "output").read_text()
    assert str(comments[0].id) in (commands / "output").read_text()
    assert ACTIONS_TOKEN not in run.stdout.replace(f"::add-mask::{ACTIONS_TOKEN}", "")
    report = json.loads((workspace / "metasup-review.json").read_text())
    assert report["run_id"] == "777"


MAX_ADDED_MB = 300
"""What the image may add on top of its base, uncompressed (docs/performance.md, "Image and start-up")."""


def test_container__pruned_image_still_runs_every_stage(image: str, tmp_path: Path) -> None:
    """``metasup demo`` in the image: load, evaluate, comment, and the LP report with its two charts
    (matplotlib, fonts, pillow) — what tools/prune_venv.py must not have removed."""
    out = tmp_path / "demo"
    out.mkdir()
    run = docker(
        "run", "--rm", "--network", "host", "-v", f"{out}:/demo", "--entrypoint", "python",
        image, "-m", "metasup", "demo", "--out", "/demo",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (out / "lp-report.html").read_text().count('<img src="data:image/png;base64,') == 2
    assert "## 🤖 Meta-Agent Review Report" in (out / "comment.md").read_text()


def test_container__final_image_is_slim(image: str) -> None:
    """No pip, compilers, headers, test suites or build caches; metasup byte-compiled; size budget."""
    script = r"""
        set -u
        python -c 'import pip' 2>/dev/null && echo "pip importable"
        for tool in gcc cc c++ strip; do command -v $tool >/dev/null && echo "has $tool"; done
        site=$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
        find "$site" -type d -name tests | head -3 | sed 's/^/tests dir: /'
        find "$site" \( -name '*.h' -o -name '*.a' -o -name '*.pyx' -o -name '*.pyi' \) \
            | head -3 | sed 's/^/file: /'
        find / -xdev -type d \( -name .cache -o -name pip-\* \) -path '*root*' | head -3 | sed 's/^/cache: /'
        ls /opt/metasup/metasup/__pycache__/action.*.pyc >/dev/null || echo "metasup not byte-compiled"
        git --version >/dev/null || echo "no git"
        python -c 'import pandas, pyarrow.json, pyarrow.csv, matplotlib, github, jinja2, pydantic' \
            || echo "import failed"
    """
    run = docker("run", "--rm", "--entrypoint", "sh", image, "-c", script)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "", run.stdout
    sizes = [int(docker("image", "inspect", "-f", "{{.Size}}", name).stdout) for name in (image, BASE_IMAGE)]
    assert sizes[0] - sizes[1] <= MAX_ADDED_MB * 10**6, f"adds {(sizes[0] - sizes[1]) / 1e6:.0f} MB"
