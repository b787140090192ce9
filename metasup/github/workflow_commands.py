"""GitHub Actions workflow commands, step outputs and the job summary.

Everything the runner reads from our stdout or from ``$GITHUB_OUTPUT``/``$GITHUB_STEP_SUMMARY``
is written here, with the escaping GitHub requires, so no message from an artifact can start a
workflow command of its own.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from metasup.model.errors import MetasupError


def escape_command_data(text: str) -> str:
    """Workflow-command escaping, so a newline in a message cannot start a new command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


@dataclass
class Console:
    """Workflow commands on stdout; kept as a value so tests can read what was said."""

    stream: TextIO = field(default_factory=lambda: sys.stdout)

    def command(self, name: str, message: str) -> None:
        print(f"::{name}::{escape_command_data(message)}", file=self.stream, flush=True)

    def info(self, message: str) -> None:
        print(message, file=self.stream, flush=True)


class WorkflowFileError(MetasupError):
    """``$GITHUB_OUTPUT`` or ``$GITHUB_STEP_SUMMARY`` cannot be written (a runner set up by hand)."""


def write_outputs(path: Path | None, outputs: Mapping[str, str]) -> None:
    """Append to ``$GITHUB_OUTPUT`` with a random heredoc delimiter: multi-line safe."""
    if path is None:
        return
    try:
        with path.open("a", encoding="utf-8") as handle:
            for name, value in outputs.items():
                delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
                handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    except OSError as exc:
        raise WorkflowFileError(
            f"GITHUB_OUTPUT {path}: cannot write the step outputs ({exc.strerror or exc});"
            f" later steps would not see {', '.join(outputs)}"
        ) from None


def append_summary(path: Path | None, markdown: str) -> None:
    if path is None:
        return
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n")
    except OSError as exc:
        raise WorkflowFileError(
            f"GITHUB_STEP_SUMMARY {path}: cannot append the job summary ({exc.strerror or exc})"
        ) from None
