"""One-shot process settings: freed memory is reused, and the GIL changes hands quickly."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from metasup import cli
from metasup.examples import EXAMPLES_DIR
from metasup.runtime import INTERRUPTED

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


def test_console_script_prepares_the_process_and_runs_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli, "prepare_one_shot_process", lambda: calls.append("prepared"))
    monkeypatch.setattr(cli, "main", lambda argv: calls.append(f"main {argv}") or 0)
    assert cli.run(["demo"]) == 0
    assert calls == ["prepared", "main ['demo']"]
