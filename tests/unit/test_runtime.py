"""One-shot process settings: freed memory is reused, and the GIL changes hands quickly."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from metasup import cli
from metasup.examples import EXAMPLES_DIR
from metasup.runtime import INTERRUPTED, PIPE_CLOSED, STOPPED_IN_ACTION

# Allocates and frees a 64 MiB array ten times after a first one, then prints how many pages the
# kernel had to map meanwhile. Run in a process of its own: the settings are process-wide.
REUSE = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from metasup.runtime import keep_freed_memory
    applied = keep_freed_memory() if sys.argv[1] == "tuned" else None
    np.ones(8 << 20).sum()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        np.ones(8 << 20).sum()
    print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def page_faults(mode: str) -> tuple[str, int]:
    output = subprocess.run(
        [sys.executable, "-c", REUSE, mode], check=True, capture_output=True, text=True
    ).stdout.split()
    return output[0], int(output[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_keep_freed_memory__freed_arrays_are_reused_without_page_faults() -> None:
    applied, tuned_faults = page_faults("tuned")
    _, default_faults = page_faults("default")
    assert applied == "True"
    # 10 × 64 MiB is 163 840 pages of 4 KiB: by default a good share is mapped again each time.
    assert default_faults > 1000
    assert tuned_faults < 100


def test_prepare_one_shot_process__shortens_the_switch_interval() -> None:
    code = "import sys, metasup.runtime as r; r.prepare_one_shot_process(); print(sys.getswitchinterval())"
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert float(output.stdout) == pytest.approx(0.0005)


def test_metasup_command_stopped_by_sigterm_says_interrupted_without_a_traceback() -> None:
    """``docker stop`` or a cancelled job sends SIGTERM: the command ends as Ctrl-C would, one line.
    Without the handler the process dies silently (or, as a container's PID 1, ignores it)."""
    code = (
        "import os, signal, sys, time\n"
        "from metasup import cli\n"
        "def stopped(*args, **kwargs):  # the review is under way when the signal comes\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(60)\n"
        "cli.evaluate = stopped\n"
        "sys.exit(cli.run(['evaluate', '--config', sys.argv[1]]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLES_DIR / "metasup.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == INTERRUPTED, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "Interrupted."
    assert "Traceback" not in result.stderr


# Sends the process a signal the moment a given module starts importing: the window between the
# start of the command and the end of its (slow) imports, where no handler used to be installed.
SIGNAL_DURING_IMPORT = textwrap.dedent(
    """
    import builtins, os, runpy, signal, sys, time
    module, signum, script = sys.argv[1], getattr(signal, sys.argv[2]), sys.argv[3]
    original = builtins.__import__
    def importing(name, *args, **kwargs):
        if name == module:
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler interrupts this; without one SIGTERM ends the process here
        return original(name, *args, **kwargs)
    builtins.__import__ = importing
    sys.argv = [script, *sys.argv[4:]]
    if script == "metasup":
        from metasup.runtime import console_script
        sys.exit(console_script())
    runpy.run_path(script, run_name="__main__")
    """
)


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_metasup_command_stopped_while_importing_says_interrupted(signum: str, tmp_path: Path) -> None:
    demo = str(tmp_path / "demo")
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_DURING_IMPORT, "metasup.cli", signum, "metasup", "demo", "--out", demo],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == INTERRUPTED, result.stderr
    assert result.stderr == "Interrupted.\n"


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_action_stopped_while_importing_says_so_in_one_error_line(signum: str) -> None:
    entrypoint = str(Path(__file__).resolve().parents[2] / "entrypoint.py")
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_DURING_IMPORT, "metasup.action", signum, entrypoint],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == INTERRUPTED, result.stderr
    assert result.stdout == f"::error::{STOPPED_IN_ACTION}\n"
    assert result.stderr == ""


def test_metasup_command_whose_reader_went_away_ends_quietly(tmp_path: Path) -> None:
    """``metasup demo | head -1``: the pipe closes before the comment is printed."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "metasup", "demo", "--out", str(tmp_path / "demo")],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert result.returncode == PIPE_CLOSED
    assert "Internal error" not in result.stderr
    assert "Exception ignored" not in result.stderr
    assert (tmp_path / "demo" / "review.json").exists()


def test_console_script_prepares_the_process_and_runs_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli, "prepare_one_shot_process", lambda: calls.append("prepared"))
    monkeypatch.setattr(cli, "main", lambda argv: calls.append(f"main {argv}") or 0)
    assert cli.run(["demo"]) == 0
    assert calls == ["prepared", "main ['demo']"]
