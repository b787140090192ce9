"""Every GitHub call metasup makes, and the only module that imports PyGithub.

Functions take a client plus plain values and return dataclasses or raise our exceptions, so
the action can be tested against a fake GitHub and read without knowing PyGithub.

Retries: PyGithub's ``GithubRetry`` already implements GitHub's rules (5xx, secondary rate
limits with ``Retry-After``, primary limits until ``X-RateLimit-Reset``); we bound it in count
and in wait so a run never hangs for an hour on a rate limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from github import Auth, Github, GithubException, GithubRetry
from github.IssueComment import IssueComment

GITHUB_ACTIONS_LOGIN = "github-actions[bot]"
MAX_RETRIES = 5
MAX_RATE_LIMIT_WAIT_SECONDS = 120.0
SECONDARY_RATE_WAIT_SECONDS = 30.0
PER_PAGE = 100


class GitHubIOError(Exception):
    """A GitHub call failed in a way the action must report."""


class NotPermitted(GitHubIOError):
    """The token may not write here (fork PRs, read-only GITHUB_TOKEN): degrade, don't crash."""


@dataclass(frozen=True)
class CommentOutcome:
    comment_id: int
    action: Literal["created", "updated", "unchanged"]
    deleted_duplicates: list[int] = field(default_factory=list)


def connect(
    token: str, api_url: str, timeout: int = 30, retry_wait: float = SECONDARY_RATE_WAIT_SECONDS
) -> Github:
    """A client for ``api_url`` (``GITHUB_API_URL``; GHES is ``https://HOST/api/v3``)."""
    retry = GithubRetry(
        total=MAX_RETRIES,
        backoff_factor=0.5,
        secondary_rate_wait=retry_wait,
        max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_SECONDS,
        status_forcelist=[429, *range(500, 600)],
    )
    return Github(
        auth=Auth.Token(token),
        base_url=api_url.rstrip("/"),
        timeout=timeout,
        retry=retry,
        per_page=PER_PAGE,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def own_login(gh: Github) -> str | None:
    """The login the token writes as, or None when GitHub won't say (an App installation token).

    ``GET /user`` answers 403 for GITHUB_TOKEN and App tokens; both write as a bot, which
    ``is_own_comment`` then recognises by author type.
    """
    try:
        login: str = gh.get_user().login
    except GithubException as exc:
        if exc.status in (401, 403, 404):
            return None
        raise
    return login


def is_own_comment(comment: IssueComment, marker: str, login: str | None) -> bool:
    """Ours = carries the marker AND was written by our identity (a human can't hijack it)."""
    if not (comment.body or "").startswith(marker):
        return False
    author = comment.user
    if login is not None:
        return bool(author.login == login)
    return bool(author.type == "Bot")


def _normalized(body: str) -> str:
    return body.replace("\r\n", "\n").rstrip("\n")


def upsert_comment(gh: Github, repository: str, number: int, body: str, marker: str) -> CommentOutcome:
    """Keep exactly one comment of ours on issue/PR ``number``, with ``body``.

    Lists every comment (all pages), edits the first of ours, deletes later copies a racing
    run may have left, and writes nothing when the body is already current.
    """
    try:
        issue = gh.get_repo(repository, lazy=True).get_issue(number)
        login = own_login(gh)
        ours = [c for c in issue.get_comments() if is_own_comment(c, marker, login)]
        if not ours:
            created = issue.create_comment(body)
            return CommentOutcome(created.id, "created")
        keep, duplicates = ours[0], ours[1:]
        deleted = _delete_comments(duplicates)
        if _normalized(keep.body or "") == _normalized(body):
            return CommentOutcome(keep.id, "unchanged", deleted)
        keep.edit(body)
        return CommentOutcome(keep.id, "updated", deleted)
    except GithubException as exc:
        raise _translate(exc, f"comment on #{number} in {repository}") from None


def _delete_comments(comments: Iterable[IssueComment]) -> list[int]:
    deleted: list[int] = []
    for comment in comments:
        try:
            comment.delete()
        except GithubException as exc:
            if exc.status != 404:  # already deleted by the other run: fine
                raise
        deleted.append(comment.id)
    return deleted


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    return str(data.get("message") or exc.data or exc)


def _translate(exc: GithubException, what: str) -> GitHubIOError:
    """Turn PyGithub's exception into ours, with a message that says what to do."""
    message = _message(exc)
    if exc.status == 403 and "not accessible by integration" in message.lower():
        return NotPermitted(
            f"cannot write the {what}: the token lacks permission ({message}). "
            "Pull requests from forks get a read-only token; grant `pull-requests: write` for others."
        )
    if exc.status in (401, 403, 404):
        return NotPermitted(f"cannot write the {what}: GitHub answered {exc.status} ({message})")
    return GitHubIOError(f"GitHub error on the {what}: {exc.status} {message}")
