"""The layout of SPEC §1 holds: contracts enforced by import-linter, small modules, pure wings.

The contracts live in ``pyproject.toml``; ``.ci/run`` runs ``lint-imports``. These tests show the
contracts bite (a forbidden import in a copy of the package breaks the run) and check what
import-linter cannot see: no clock or environment read in a pure wing, and module size.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "metasup"
PURE = [
    "evaluate", "render", "lp/statistics.py", "lp/report.py", "lp/values.py", "lp/log.py",
    "rolling/plan.py", "rolling/dashboard.py", "rolling/lifecycle.py", "rolling/ownership.py",
    "rolling/kills.py",
]  # fmt: skip
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LINT],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layout")
    shutil.copytree(PACKAGE, root / "metasup", ignore=shutil.ignore_patterns("__pycache__", "examples"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_lint_imports__the_package_keeps_every_contract(package_copy: Path) -> None:
    result = lint_imports(package_copy)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("evaluate/metrics.py", "import metasup.ingest.load", "Pure wings"),
        ("render/comment.py", "import metasup.github", "Pure wings"),
        ("evaluate/promotion.py", "import os", "Pure wings"),
        ("model/config.py", "import metasup.evaluate.supervisor", "model/ is the base"),
        ("rolling/run.py", "import github", "PyGithub only in github/"),
        ("ingest/load.py", "import metasup.evaluate.reconcile", "ingest/ turns files"),
        ("github/pulls.py", "import metasup.rolling.plan", "github/ builds model/ values"),
    ],
)
def test_lint_imports__a_forbidden_import_breaks_its_contract(
    package_copy: Path, module: str, line: str, contract: str
) -> None:
    target = package_copy / "metasup" / module
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(original + f"\n{line}  # noqa\n", encoding="utf-8")
        result = lint_imports(package_copy)
    finally:
        target.write_text(original, encoding="utf-8")

    assert result.returncode != 0
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout


def _pure_files() -> list[Path]:
    files: list[Path] = []
    for entry in PURE:
        path = PACKAGE / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


CLOCK_AND_ENVIRONMENT = {"now", "utcnow", "today", "environ", "getenv", "time", "monotonic", "perf_counter"}


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_wings__read_no_clock_and_no_environment(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reads = [
        f"{path.name}:{node.lineno} .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in CLOCK_AND_ENVIRONMENT
    ]

    assert reads == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules__stay_under_400_lines_or_say_why(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    docstring = ast.get_docstring(ast.parse(text)) or ""

    assert lines <= 420 or "lines because" in docstring, f"{path.name}: {lines} lines"
