"""The state branch: read its files at one head, write them back with a compare-and-swap."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from github import GithubException

from metasup.github.client import GitHubClient, GitHubIOError, NotPermitted, error_message, translate_error
from metasup.github.git import branch_head, commit_files, loaded_ref, read_texts_at

STATE_COMMIT_MESSAGE = "metasup: update supervision state"


class StateMoved(GitHubIOError):
    """The state branch moved under us (another run wrote first): re-read, re-apply, retry."""


@dataclass(frozen=True)
class StateSnapshot:
    head: str | None
    files: dict[str, str]


def read_state(gh: GitHubClient, repository: str, branch: str, paths: Iterable[str]) -> StateSnapshot:
    """The state branch's head and the files of ``paths`` that exist there (read at that head, as
    Git blobs: the ledger only grows, past the contents API's 1 MB).

    A byte that is not UTF-8 reads as U+FFFD: every state file is metasup's own JSON, and its
    readers check it (the ledger's hash chain, the JSON of the others), so a damaged file is
    reported as such by them rather than as a decoding error here."""
    head = branch_head(gh, repository, branch)
    if head is None:
        return StateSnapshot(None, {})
    return StateSnapshot(head, read_texts_at(gh, repository, head, paths, errors="replace"))


def write_state(
    gh: GitHubClient,
    repository: str,
    branch: str,
    files: dict[str, str],
    expected_head: str | None,
    message: str = STATE_COMMIT_MESSAGE,
) -> str:
    """Commit ``files`` to the state branch iff it is still at ``expected_head``; else ``StateMoved``.

    The ref update is a compare-and-swap: without ``force`` GitHub refuses a non-fast-forward,
    and creating a ref that exists is refused too, so two racing runs cannot both win.
    A retried ref write whose first attempt landed (its answer lost) is recognised: the branch
    then already points at our commit.
    """
    sha: str | None = None
    try:
        sha = commit_files(gh, repository, expected_head, files, message)
        repo = gh.get_repo(repository)
        if expected_head is None:
            repo.create_git_ref(f"refs/heads/{branch}", sha)
        else:
            loaded_ref(repo, branch).edit(sha, force=False)
    except GithubException as exc:
        if exc.status in (409, 422) and sha is not None and branch_head(gh, repository, branch) == sha:
            return sha
        if exc.status in (409, 422):
            raise StateMoved(f"state branch {branch} moved: {error_message(exc)}") from None
        raise _state_error(exc, branch) from None
    return sha


def _state_error(exc: GithubException, branch: str) -> GitHubIOError:
    if exc.status in (403, 404):
        return NotPermitted(
            f"cannot write the state branch {branch}: GitHub answered {exc.status} ({error_message(exc)}). "
            "The workflow needs `permissions: contents: write`, and the branch must not be protected."
        )
    return translate_error(exc, f"state branch {branch}")
