"""action.yml, the workflows and the Dockerfile: valid, linted, and consistent with the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from metasup.action_settings import ActionSettings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sysconfig.get_path("scripts"))
"""Where this interpreter's console scripts live (pyenv does not put them on PATH by itself)."""


def tool(name: str) -> str:
    """A console script installed with the test extra (next to this Python, else on PATH)."""
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


def action_yml() -> dict:  # type: ignore[type-arg]
    data: dict = yaml.safe_load((ROOT / "action.yml").read_text())  # type: ignore[type-arg]
    return data


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-actions", ["action.yml"]),
        (
            "vendor.github-workflows",
            sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github/workflows").glob("*.y*ml")),
        ),
    ],
)
def test_check_jsonschema__action_and_workflows_valid(schema: str, files: list[str]) -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows__every_one_schema_checked_release_included() -> None:
    workflows = {p.name for p in (ROOT / ".github/workflows").iterdir()}
    assert {"ci.yml", "metasup.yml", "release.yml"} <= workflows


def test_release_workflow__version_tags_least_privilege_same_script_attested() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    assert workflow[True] == {"push": {"tags": ["v*.*.*"]}}  # YAML reads the key `on` as True
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    writers = {name for name, job in jobs.items() if job.get("permissions", {}).get("packages") == "write"}
    assert writers == {"image"}
    steps = jobs["image"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "tools/release_image.sh" in runs
    assert "tools/action_image.py check" in runs
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    assert "actions/attest-build-provenance" in uses
    assert "actions/attest-sbom" in uses
    assert jobs["major-tag"]["needs"] == "image"
    assert jobs["major-tag"]["permissions"] == {"contents": "write"}


def test_action_image_tool__release_commit_rewrites_only_the_image_line(tmp_path: Path) -> None:
    released = tmp_path / "action.yml"
    released.write_text((ROOT / "action.yml").read_text())
    tool = [sys.executable, str(ROOT / "tools/action_image.py")]
    image = "ghcr.io/marketagents/metasup:v1.4.2"
    subprocess.run([*tool, "set", image, "--file", str(released)], check=True, capture_output=True)
    before = (ROOT / "action.yml").read_text().splitlines()
    after = released.read_text().splitlines()
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        ("  image: Dockerfile", f"  image: docker://{image}")
    ]
    check = [*tool, "check", image, "--file", str(released)]
    assert subprocess.run(check, capture_output=True).returncode == 0
    assert subprocess.run([*check[:-3], "ghcr.io/marketagents/metasup:v1.4.3", *check[-2:]]).returncode == 1


def test_hadolint__dockerfile_clean() -> None:
    result = subprocess.run([tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_yml__docker_action_with_every_input_mapped() -> None:
    action = action_yml()
    assert action["runs"]["using"] == "docker"
    assert action["runs"]["image"] == "Dockerfile"
    env = action["runs"]["env"]
    for name in action["inputs"]:
        variable = "METASUP_" + name.upper().replace("-", "_")
        assert env[variable] == "${{ inputs." + name + " }}", name
    assert not any("-" in variable for variable in env)  # never INPUT_A-B style names


def test_action_yml__every_input_read_by_settings(tmp_path: Path) -> None:
    environ = {
        "METASUP_GITHUB_TOKEN": "t0ken",
        "METASUP_APP_SLUG": "fleet-bot",
        "METASUP_CONFIG": "fleet/metasup.yml",
        "METASUP_MODE": "rolling",
        "METASUP_BASE_REF": "develop",
        "METASUP_AS_OF": "2026-10-30T20:00:00Z",
        "METASUP_DRY_RUN": "true",
        "METASUP_FAIL_ON": "critical",
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_REPOSITORY": "o/r",
    }
    assert set(environ) >= set(action_yml()["runs"]["env"])
    settings = ActionSettings.from_environ(environ)
    assert (settings.config, settings.mode, settings.base_ref) == (
        Path("fleet/metasup.yml"),
        "rolling",
        "develop",
    )
    assert (settings.as_of, settings.dry_run, settings.fail_on) == ("2026-10-30T20:00:00Z", True, "critical")
    assert settings.app_slug == "fleet-bot"
    assert "t0ken" not in repr(settings)


def test_action_yml__documented_in_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    action = action_yml()
    for kind in ("inputs", "outputs"):
        for name, spec in action[kind].items():
            assert spec.get("description"), f"{kind}.{name} has no description"
            assert f"`{name}`" in readme, f"{kind}.{name} is not in README.md"


def test_action_outputs__all_written(tmp_path: Path) -> None:
    source = (ROOT / "metasup" / "action.py").read_text()
    for name in action_yml()["outputs"]:
        assert re.search(rf'"{re.escape(name)}":', source), name


def test_example_workflow__least_privilege_schedule_and_concurrency() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/metasup.yml").read_text())
    triggers = workflow[True]  # YAML reads the key `on` as True
    assert "pull_request" in triggers
    assert {"cron": "0 */6 * * *"} in triggers["schedule"]
    assert workflow["permissions"] == {"contents": "read"}
    assert "concurrency" in workflow
    review = workflow["jobs"]["review"]["permissions"]
    assert review == {"contents": "read", "pull-requests": "write"}


def test_dockerfile__base_is_an_arg_and_deps_pinned_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ")
    assert "ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE} AS builder" in dockerfile
    assert "--require-hashes" in dockerfile
    assert "-r /tmp/requirements.lock" in dockerfile
    assert "git config --system --add safe.directory '*'" in dockerfile
    assert dockerfile.index("COPY requirements.lock") < dockerfile.index("COPY metasup")  # deps layer cached
    lock = (ROOT / "requirements.lock").read_text()
    pinned = re.findall(r"^([A-Za-z0-9_.-]+)==", lock, flags=re.M)
    assert {"pandas", "pyarrow", "pydantic", "pygithub", "jinja2"} <= {p.lower() for p in pinned}
    assert lock.count("--hash=sha256:") >= len(pinned)


def test_dockerfile__multi_stage_final_stage_copies_only_the_venv_and_metasup() -> None:
    """SPEC §4.3: the final stage is the base + git + the builder's venv + metasup, byte-compiled."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    final = dockerfile[dockerfile.rindex("\nFROM ") :]
    assert final.startswith("\nFROM ${BASE_IMAGE}\n")
    assert "pip" not in final.replace("PIP_", "")  # nothing installed with pip in the final stage
    assert "binutils" not in final
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    assert "compileall" in final
    assert [line.split()[1] for line in final.splitlines() if line.startswith("COPY ")] == [
        "--from=builder",
        "entrypoint.py",
        "metasup",
    ]
    context = (ROOT / ".dockerignore").read_text().split()
    assert context[0] == "*"
    assert "!tools/prune_venv.py" in context


def test_entrypoint__runs_the_action(tmp_path: Path) -> None:
    """The container's entrypoint, outside the container: bad settings → one ::error:: line, exit 2."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout.startswith("::error::action settings are not valid:")
