"""Exceptions raised by metasup.

The tree, so callers can catch at the right depth::

    MetasupError
     ├── InputError            bad input from the user: exit code 2, nothing written
     │    ├── ConfigError      metasup.yml or agents.yaml failed validation
     │    └── ArtifactError    an artifact file is missing, unreadable or of the wrong format
     ├── rolling.audit_records.LedgerError    the audit ledger cannot be used
     │    └── LedgerCorrupt    its hash chain is broken (CRITICAL: the run writes nothing)
     ├── rolling.registry_edit.RegistryEditError   agents.yaml cannot be edited safely
     ├── rolling.state.StateDamaged   a state-branch file is not what metasup wrote (the run stops)
     ├── engine.dask.ClusterError   the Dask cluster failed during a run (scheduler gone, worker died)
     ├── github.workflow_commands.WorkflowFileError   $GITHUB_OUTPUT or the job summary cannot be written
     └── lp.smtp.EmailError    the LP e-mail could not be sent

    github.client.GitHubIOError      a GitHub call failed (the action reports it, exit 1)
     ├── NotPermitted                the token may not do this (fork PRs: degrade, do not fail)
     │    └── github.pulls.PullCreationNotPermitted   Actions may not open PRs in this repository
     ├── GitHubUnavailable           retries ran out within the wait budget; names the call
     │    ├── RateLimited            …because of a rate limit
     │    └── CreateUnconfirmed      a creating POST failed and did not land: safe to repeat
     ├── github.pulls.HeadMoved      the PR head is not the commit metasup recorded: never merged
     ├── github.pulls.PullAlreadyExists   422 on PR creation; carries the existing PR
     └── github.state.StateMoved     the state branch moved under a compare-and-swap write

Core modules raise these; only ``cli`` and ``action`` turn them into one ``Error: …`` line and
an exit code, so no user ever sees a traceback for a mistake in their own files.
"""

from __future__ import annotations

import errno


class MetasupError(Exception):
    """Base of every error metasup raises on purpose."""


class InputError(MetasupError):
    """The user's input cannot be used; the message says which file and what to fix."""

    exit_code = 2


class ConfigError(InputError):
    """A configuration or registry file failed validation."""


class ArtifactError(InputError):
    """An artifact file is missing, unreadable or not in a supported format."""


def why_unreadable(exc: OSError) -> str:
    """What went wrong opening or reading a file, in the words every such error of metasup uses."""
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return f"cannot read file ({exc.strerror or exc})"


DONE_NOTE = "done before it stopped: "
"""Prefix of the notes (``BaseException.add_note``) a rolling run's error carries when it fails
part-way: each decision it had carried out, the last one the action it stopped in. The action
lists them in the job summary (``rolling.run.noting_done``, ``action._failure_summary``)."""
