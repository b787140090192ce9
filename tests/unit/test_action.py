"""The action's pure parts: settings, mode selection, workflow commands, outputs."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metasup.action import run
from metasup.action_event import default_base_ref, pull_request_number, rolling_ref_problem, select_mode
from metasup.action_settings import ActionSettings
from metasup.github.workflow_commands import Console, escape_command_data, write_outputs
from metasup.model.errors import InputError
from metasup.runner import write_output

OURS = {"url": "https://api.github.com/repos/o/r", "id": 2, "name": "r"}
"""``base.repo`` of a ``workflow_run`` PR entry as GitHub writes it, for GITHUB_REPOSITORY ``o/r``."""


@pytest.mark.parametrize(
    ("event_name", "mode_input", "event", "expected"),
    [
        ("pull_request", "auto", {}, "review"),
        ("pull_request_target", "auto", {}, "review"),
        ("schedule", "auto", {"schedule": "0 */6 * * *"}, "rolling"),
        ("workflow_dispatch", "auto", {}, "rolling"),
        ("push", "auto", {"ref": "refs/heads/main"}, "rolling"),
        ("push", "auto", {"ref": "refs/heads/feature"}, "skip"),
        (
            "workflow_run",
            "auto",
            {"workflow_run": {"pull_requests": [{"number": 3, "base": {"repo": OURS}}]}},
            "review",
        ),
        ("workflow_run", "auto", {"workflow_run": {"pull_requests": [{"number": 3}]}}, "skip"),
        ("workflow_run", "auto", {"workflow_run": {"pull_requests": []}}, "skip"),
        ("issues", "auto", {}, "skip"),
        ("schedule", "review", {}, "review"),
        ("pull_request", "rolling", {}, "rolling"),
    ],
)
def test_select_mode__events(event_name: str, mode_input: str, event: dict, expected: str) -> None:  # type: ignore[type-arg]
    assert select_mode(event_name, mode_input, event, "main", "o/r") == expected  # type: ignore[arg-type]


def test_pull_request_number__sources() -> None:
    assert pull_request_number({"pull_request": {"number": 7}}, "o/r") == 7
    assert (
        pull_request_number(
            {"workflow_run": {"pull_requests": [{"number": 9, "base": {"repo": OURS}}]}}, "o/r"
        )
        == 9
    )
    assert pull_request_number({"schedule": "x"}, "o/r") is None


def test_pull_request_number__workflow_run_takes_only_a_pr_of_this_repository() -> None:
    """GitHub lists other repositories' PRs whose head is the run's branch: their number is not ours."""
    theirs = {
        "number": 5,
        "base": {"repo": {"url": "https://api.github.com/repos/alice/r", "id": 9, "name": "r"}},
    }
    ghes = {
        "number": 6,
        "base": {"repo": {"url": "https://ghe.example/api/v3/repos/O/R", "id": 2, "name": "R"}},
    }
    assert pull_request_number({"workflow_run": {"pull_requests": [theirs]}}, "o/r") is None
    assert pull_request_number({"workflow_run": {"pull_requests": [theirs, ghes]}}, "o/r") == 6
    other_owner_same_suffix = {"number": 7, "base": {"repo": {"url": "https://api.github.com/repos/xo/r"}}}
    assert pull_request_number({"workflow_run": {"pull_requests": [other_owner_same_suffix]}}, "o/r") is None


def test_default_base_ref__input_then_pr_then_config() -> None:
    event = {"pull_request": {"number": 3, "base": {"ref": "develop"}}}
    assert default_base_ref(event, "o/r", "release", "main") == "release"
    assert default_base_ref(event, "o/r", None, "main") == "develop"
    assert default_base_ref({}, "o/r", None, "main") == "main"


def test_default_base_ref__a_workflow_runs_pr_gives_its_base() -> None:
    """A ``workflow_run`` review of a PR into ``develop`` was compared with ``main`` (an audit)."""

    def entry(number: int, owner: str, ref: str) -> dict[str, object]:
        return {"number": number, "base": {"ref": ref, "repo": {"url": f"https://api/repos/{owner}/r"}}}

    pulls = [entry(9, "alice", "theirs"), entry(4, "o", "develop")]
    assert default_base_ref({"workflow_run": {"pull_requests": pulls}}, "o/r", None, "main") == "develop"
    assert default_base_ref({"workflow_run": {"pull_requests": pulls[:1]}}, "o/r", None, "main") == "main"


def test_action_settings__missing_token_is_input_error() -> None:
    with pytest.raises(InputError, match="token"):
        ActionSettings.from_environ({"GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "o/r"})


def test_action_settings__bad_fail_on_lists_allowed() -> None:
    environ = {"METASUP_GITHUB_TOKEN": "x", "GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "o/r"}
    with pytest.raises(InputError, match="fail-on: Input should be 'never', 'blocked', 'high' or 'critical'"):
        ActionSettings.from_environ({**environ, "METASUP_FAIL_ON": "sometimes"})


@pytest.mark.parametrize("typed", ["ture", "y", "enabled", "t", "dry"])
def test_action_settings__a_dry_run_that_is_not_true_or_false_is_refused(typed: str) -> None:
    """``dry-run: ture`` read as false: the run wrote to GitHub (in rolling mode: PRs, merges,
    kills) where the user asked it not to (found by an audit)."""
    environ = {"METASUP_GITHUB_TOKEN": "x", "GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "o/r"}
    with pytest.raises(InputError, match=f"dry-run: '{typed}' is neither true nor false"):
        ActionSettings.from_environ({**environ, "METASUP_DRY_RUN": typed})
    for word, meant in (
        ("True", True),
        (" on ", True),
        ("1", True),
        ("FALSE", False),
        ("off", False),
        ("", False),
    ):
        assert ActionSettings.from_environ({**environ, "METASUP_DRY_RUN": word}).dry_run is meant


def test_action_settings__errors_name_the_input_or_variable_the_user_set() -> None:
    """pydantic's field names (``token``, ``fail_on``, ``event_name``) are not what a workflow sets."""
    with pytest.raises(InputError) as raised:
        ActionSettings.from_environ({"METASUP_FAIL_ON": "x"})
    for name in ("github-token: Field required", "GITHUB_EVENT_NAME: Field required", "fail-on: Input"):
        assert name in str(raised.value)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "is not an http(s) URL with a host"),
        ("ftp://ghe.example", "is not an http(s) URL with a host"),
        ("http://[::1", "is not an http(s) URL with a host"),
        ("https://ghe..example/api/v3", "is not an http(s) URL with a host"),
        ("http://[::1]:8080", "an IPv6 address; give the host's name"),
    ],
)
def test_action_settings__github_api_url_the_client_cannot_use_is_input_error(url: str, words: str) -> None:
    """Each of these reached PyGithub or urllib3 and ended the run as an internal error."""
    environ = {"METASUP_GITHUB_TOKEN": "x", "GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "o/r"}
    with pytest.raises(InputError, match=f"GITHUB_API_URL: '.*':? {re.escape(words)}"):
        ActionSettings.from_environ({**environ, "GITHUB_API_URL": url})
    for fine in ("https://api.github.com", "https://ghe.example/api/v3", "http://127.0.0.1:8080"):
        assert ActionSettings.from_environ({**environ, "GITHUB_API_URL": fine}).api_url == fine


@pytest.mark.parametrize("repository", ["noslash", "a/b/c", "../x", "o/..", "o/r?x=1", " o/r", "o/r\n"])
def test_action_settings__github_repository_must_be_owner_slash_name(repository: str) -> None:
    """It goes into every API path: ``../x`` sent the token's requests to ``GET /x/…``."""
    environ = {"METASUP_GITHUB_TOKEN": "x", "GITHUB_EVENT_NAME": "push"}
    with pytest.raises(InputError, match=r"GITHUB_REPOSITORY: .* is not owner/name"):
        ActionSettings.from_environ({**environ, "GITHUB_REPOSITORY": repository})
    for fine in ("octo-org/fleet", "octocat_acme/x.js", "o/.github"):
        assert ActionSettings.from_environ({**environ, "GITHUB_REPOSITORY": fine}).repository == fine


def test_action_settings__falls_back_to_github_token_and_defaults() -> None:
    settings = ActionSettings.from_environ(
        {
            "GITHUB_TOKEN": "abc",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": "o/r",
            "METASUP_BASE_REF": "",
        }
    )
    assert settings.token.get_secret_value() == "abc"
    assert settings.base_ref is None
    assert settings.api_url == "https://api.github.com"
    assert (settings.mode, settings.fail_on, settings.dry_run) == ("auto", "high", False)


def test_action_settings__token_pasted_with_its_line_end_is_stripped() -> None:
    """The header would carry the newline (requests refuses it, quoting the token) and the mask
    would cover ``token%0A``, not the token."""
    environ = {"GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "o/r"}
    assert (
        ActionSettings.from_environ(
            {**environ, "METASUP_GITHUB_TOKEN": " ghs_x\r\n"}
        ).token.get_secret_value()
        == "ghs_x"
    )
    blank = {**environ, "METASUP_GITHUB_TOKEN": "\n", "GITHUB_TOKEN": "ghs_y\n"}
    assert ActionSettings.from_environ(blank).token.get_secret_value() == "ghs_y"
    with pytest.raises(InputError, match="github-token: Field required"):
        ActionSettings.from_environ({**environ, "METASUP_GITHUB_TOKEN": " \n"})


@pytest.mark.parametrize("inside", ["\r", "\n", "\r\n", " ", "\t", "\x00", "\u2028"])
def test_action_settings__a_token_broken_inside_is_refused_and_never_printed(inside: str) -> None:
    """A secret pasted from two lines: requests refused the header and quoted it (``'\\r'`` in the
    quote, so the raw token the mask and the redaction looked for was not found) — the run's
    internal-error line printed the token. Now the settings refuse it, naming no part of it."""
    secret = f"ghs_SECRETpartONE{inside}partTWOsecret"
    environ = {"GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "o/r", "METASUP_GITHUB_TOKEN": secret}
    with pytest.raises(InputError, match="token: the token holds a line break, a space") as refused:
        ActionSettings.from_environ(environ)
    assert "SECRET" not in str(refused.value)

    stream = io.StringIO()
    assert run(environ, console=Console(stream)) != 0
    printed = stream.getvalue()
    assert "::error::" in printed
    assert "paste the secret again as one line" in printed
    assert "SECRET" not in printed
    assert "Internal error" not in printed


def test_write_output__a_hard_link_to_an_input_is_replaced_not_written_through(tmp_path: Path) -> None:
    """``--json`` naming a hard link of the signals file wrote the review into the signals (found
    by an audit): the output is a new file renamed over the name, the input keeps its content."""
    signals, output = tmp_path / "events.jsonl", tmp_path / "review.json"
    signals.write_text('{"signal_id": "s1"}\n')
    os.link(signals, output)
    write_output("--json", output, "{}")
    assert (signals.read_text(), output.read_text()) == ('{"signal_id": "s1"}\n', "{}")


def test_write_output__the_cli_writes_into_a_pipe_in_place() -> None:
    """``--json /dev/stdout`` or ``--json >(jq .)``: a pipe has no folder to put a new file in."""
    read_end, write_end = os.pipe()
    try:
        write_output("--json", Path(f"/dev/fd/{write_end}"), '{"a": 1}')
        os.close(write_end)
        with os.fdopen(read_end, "rb") as stream:
            assert stream.read() == b'{"a": 1}'
    finally:
        for end in (read_end, write_end):
            with contextlib.suppress(OSError):
                os.close(end)


def test_write_output__dev_stdout_into_a_file_keeps_what_the_file_holds(tmp_path: Path) -> None:
    """``metasup evaluate --json /dev/stdout >> all.log``: renaming a new file over the log (the
    link's target) lost its earlier lines and everything printed afterwards (found by a review)."""
    log = tmp_path / "all.log"
    log.write_text("earlier\n")
    script = (
        "from pathlib import Path\n"
        "from metasup.runner import write_output\n"
        "print('before', flush=True)\n"
        "write_output('--json', Path('/dev/stdout'), '{}\\n')\n"
        "print('after', flush=True)\n"
    )
    with log.open("a") as appended:
        subprocess.run([sys.executable, "-c", script], stdout=appended, check=True)
    assert log.read_text() == "earlier\nbefore\n{}\nafter\n"


def test_write_output__a_write_that_fails_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    """Disk full halfway (here: a file size limit, EFBIG, in a child process): the previous
    review stays as it was, no half-written file and no temporary file is left."""
    output = tmp_path / "review.json"
    output.write_text('{"previous": true}\n')
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from metasup.model.errors import InputError\n"
        "from metasup.runner import write_output\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n    write_output('--json', Path(sys.argv[1]), 'x' * 100_000)\n"
        "except InputError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(output)], capture_output=True, text=True)
    assert done.stdout.startswith(f"--json: cannot write {output} (File too large)"), done.stderr
    assert output.read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.json"]


def test_write_output__confined_refuses_a_link_the_cli_follows_it(tmp_path: Path) -> None:
    """The action never writes through a link the PR committed; a user's own CLI run may."""
    workspace, victim = tmp_path / "ws", tmp_path / "victim.txt"
    workspace.mkdir()
    victim.write_text("precious\n")
    (workspace / "metasup-review.json").symlink_to(victim)
    with pytest.raises(
        InputError,
        match=r"report-path: .*metasup-review\.json is a symbolic link \(to .*victim\.txt\): refused",
    ):
        write_output("report-path", workspace / "metasup-review.json", "{}", confine_to=workspace)
    assert victim.read_text() == "precious\n"
    write_output("--output", workspace / "metasup-review.json", "{}")
    assert victim.read_text() == "{}"


def test_escape_command_data__newlines_cannot_start_commands() -> None:
    assert escape_command_data("a\n::error::x\r100%") == "a%0A::error::x%0D100%25"


def test_write_outputs__multiline_safe(tmp_path: Path) -> None:
    path = tmp_path / "out"
    write_outputs(path, {"killed": '["a",\n"b"]', "severity": "HIGH"})
    lines = path.read_text().splitlines()
    name, delimiter = lines[0].split("<<")
    assert name == "killed"
    assert delimiter.startswith("ghadelimiter_")
    assert lines[1:3] == ['["a",', '"b"]']
    assert lines[3] == delimiter
    assert lines[4].startswith("severity<<")


def test_rolling_ref_problem__only_the_base_branch_acts() -> None:
    assert rolling_ref_problem("workflow_dispatch", "refs/heads/main", "main") is None
    assert rolling_ref_problem("workflow_dispatch", None, "main") is None  # outside a runner
    for ref in ("refs/heads/loosen", "refs/tags/v1", "refs/heads/main2"):
        assert f"this workflow_dispatch run is on {ref}" in (
            rolling_ref_problem("workflow_dispatch", ref, "main") or ""
        )
    assert rolling_ref_problem("pull_request", "refs/pull/7/merge", "main")  # mode: rolling on a PR


def test_rolling_ref_problem__a_schedule_runs_the_default_branch_whatever_the_base() -> None:
    """GitHub runs a schedule with GITHUB_REF = the default branch; a repository whose base is
    another branch checks that one out: every scheduled run was refused (found by a review)."""
    assert rolling_ref_problem("schedule", "refs/heads/develop", "main") is None
    assert rolling_ref_problem("workflow_run", "refs/heads/develop", "main") is None
