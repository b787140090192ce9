"""The release path without ghcr.io: push with the release workflow's script to a local registry,
point a released action.yml at it, then pull and run the image the way the runner runs it.

Needs a Docker engine and a base image (as tests/integration/test_container.py) and a registry
at ``METASUP_TEST_REGISTRY`` (``.ci/run`` starts Debian's docker-registry with
``tools/local_registry.sh``). Skipped without them, unless ``METASUP_REQUIRE_DOCKER=1``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from fakegithub import ACTIONS_TOKEN, FakeGitHub, Repo

from metasup.examples import EXAMPLES_DIR
from metasup.render.comment import MARKER

ROOT = Path(__file__).resolve().parents[2]
REPO = "octo-org/fleet"
BASE_IMAGE = os.environ.get("METASUP_BASE_IMAGE", "")
REGISTRY = os.environ.get("METASUP_TEST_REGISTRY", "")
"""Read at import: the autouse ``clean_environ`` fixture hides METASUP_* variables from tests."""
REQUIRED = os.environ.get("METASUP_REQUIRE_DOCKER") == "1"

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def registry_answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """(version, digest, released action.yml) after tools/release_image.sh pushed to the local registry."""
    reachable = shutil.which("docker") is not None and docker("info", timeout=30).returncode == 0
    if not (BASE_IMAGE and reachable and REGISTRY and registry_answers(REGISTRY)):
        if REQUIRED:
            pytest.fail("METASUP_REQUIRE_DOCKER=1 but no Docker engine, base image or METASUP_TEST_REGISTRY")
        pytest.skip(
            "no Docker engine or registry: set DOCKER_HOST, METASUP_BASE_IMAGE, METASUP_TEST_REGISTRY"
        )
    version = f"v9.{os.getpid()}.{int(time.time())}"  # a fresh release each run; the registry may persist
    push = subprocess.run(
        [str(ROOT / "tools/release_image.sh"), REGISTRY, version,
         "--network", "host", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert push.returncode == 0, push.stdout[-3000:] + push.stderr[-3000:]
    digest = push.stdout.strip().splitlines()[-1]
    assert re.fullmatch(rf"{re.escape(REGISTRY)}/metasup@sha256:[0-9a-f]{{64}}", digest), digest
    # The release commit's action.yml, pointing at the pushed image under the runner's name for it.
    action = tmp_path_factory.mktemp("release") / "action.yml"
    shutil.copy(ROOT / "action.yml", action)
    port = REGISTRY.rsplit(":", 1)[1]
    rewrite = subprocess.run(
        [sys.executable, str(ROOT / "tools/action_image.py"), "set", f"localhost:{port}/metasup:{version}",
         "--file", str(action)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert rewrite.returncode == 0, rewrite.stderr
    # Nothing of the release stays tagged locally: the run below must pull.
    for tag in (version, "v9"):
        docker("rmi", f"{REGISTRY}/metasup:{tag}")
    return version, digest, action


def test_release__tags_pushed_and_twice_refused(released: tuple[str, str, Path]) -> None:
    version, _, _ = released
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/metasup/tags/list", timeout=10) as response:
        tags = yaml.safe_load(response.read())["tags"]
    assert {version, "v9"} <= set(tags)
    again = subprocess.run(
        [str(ROOT / "tools/release_image.sh"), REGISTRY, version, "--network", "host"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 1
    assert "never pushed twice" in again.stderr


def runner_environment(action: dict, inputs: dict[str, str], github: dict[str, str]) -> dict[str, str]:  # type: ignore[type-arg]
    """What the runner passes to a Docker action: GITHUB_*, INPUT_<NAME> for every input (defaults
    filled in, hyphens kept), and runs.env with ``${{ inputs.x }}`` evaluated."""
    values = {name: inputs.get(name, str(spec.get("default", ""))) for name, spec in action["inputs"].items()}
    values = {name: ACTIONS_TOKEN if v == "${{ github.token }}" else v for name, v in values.items()}
    env = dict(github)
    env.update({f"INPUT_{name.upper()}": value for name, value in values.items()})
    for name, expression in action["runs"].get("env", {}).items():
        match = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", expression)
        assert match, f"runs.env.{name}: {expression}"
        env[name] = values[match.group(1)]
    return env


def test_release__pulled_image_reviews_the_pull_request(
    released: tuple[str, str, Path],
    fake_github: FakeGitHub,
    fake_repo: Repo,
    tmp_path: Path,
    github_event_path: Callable[..., Path],
) -> None:
    version, digest, action_file = released
    action = yaml.safe_load(action_file.read_text())
    image = action["runs"]["image"]
    assert image == f"docker://localhost:{REGISTRY.rsplit(':', 1)[1]}/metasup:{version}"
    reference = image.removeprefix("docker://")
    pull = docker("pull", reference)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    assert digest.split("@")[1] in docker("image", "inspect", "-f", "{{.RepoDigests}}", reference).stdout
    assert (
        docker("pull", f"localhost:{REGISTRY.rsplit(':', 1)[1]}/metasup@{digest.split('@')[1]}").returncode
        == 0
    )

    fake_github.create_branch(REPO, "feature")
    number = fake_github.open_pull(REPO, "feature", title="Tune agents").number
    workspace = tmp_path / "workspace"
    shutil.copytree(
        EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md")
    )
    commands = tmp_path / "file_commands"
    commands.mkdir()
    shutil.copy(github_event_path("pull_request.opened", repo=REPO, number=number), tmp_path / "event.json")
    env = runner_environment(
        action,
        {"fail-on": "never"},
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": fake_github.url,
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_OUTPUT": "/github/file_commands/output",
            "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
            "GITHUB_RUN_ID": "888",
            "GITHUB_ACTIONS": "true",
        },
    )
    assert env["METASUP_GITHUB_TOKEN"] == ACTIONS_TOKEN
    assert env["INPUT_GITHUB-TOKEN"] == ACTIONS_TOKEN  # present, as on the runner, and never read
    run = docker(
        "run", "--rm", "--network", "host",
        "-v", f"{workspace}:/github/workspace",
        "-v", f"{tmp_path / 'event.json'}:/github/workflow/event.json:ro",
        "-v", f"{commands}:/github/file_commands",
        "--workdir", "/github/workspace",
        *[arg for name, value in env.items() for arg in ("-e", f"{name}={value}")],
        reference,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    comments = [c for c in fake_github.comments(REPO, number) if c.body.startswith(MARKER)]
    assert len(comments) == 1
    assert "## 🤖 Meta-Agent Review Report" in comments[0].body
    assert "comment-id<<" in (commands / "output").read_text()
    assert "Meta-Agent Review Report" in (commands / "summary").read_text()
    assert ACTIONS_TOKEN not in run.stdout.replace(f"::add-mask::{ACTIONS_TOKEN}", "")
