"""The GitHub client: connecting, who we write as, and PyGithub's errors turned into ours.

Functions across ``metasup.github`` take a :data:`GitHubClient` plus plain values and return
dataclasses or raise :class:`GitHubIOError`, so the action can be tested against a fake GitHub
and read without knowing PyGithub.

Retries: PyGithub's ``GithubRetry`` already implements GitHub's rules (5xx, secondary rate
limits with ``Retry-After``, primary limits until ``X-RateLimit-Reset``); we bound it in count
and in wait so a run never hangs for an hour on a rate limit.
"""

from __future__ import annotations

from typing import TypeAlias

from github import Auth, Github, GithubException, GithubRetry

GitHubClient: TypeAlias = Github
"""The client every function of ``metasup.github`` takes; what :func:`connect` returns."""

GITHUB_ACTIONS_LOGIN = "github-actions[bot]"
MAX_RETRIES = 5
MAX_RATE_LIMIT_WAIT_SECONDS = 120.0
SECONDARY_RATE_WAIT_SECONDS = 30.0
PER_PAGE = 100


class GitHubIOError(Exception):
    """A GitHub call failed in a way the action must report."""


class NotPermitted(GitHubIOError):
    """The token may not write here (fork PRs, read-only GITHUB_TOKEN): degrade, don't crash."""


def connect(
    token: str, api_url: str, timeout: int = 30, retry_wait: float = SECONDARY_RATE_WAIT_SECONDS
) -> GitHubClient:
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
        lazy=True,
    )


def own_login(gh: GitHubClient) -> str | None:
    """The login the token writes as, or None when GitHub won't say (an App installation token).

    ``GET /user`` answers 403 for GITHUB_TOKEN and App tokens; both write as a bot, which
    ``comments.is_own_comment`` then recognises by author type.
    """
    try:
        login: str = gh.get_user().login
    except GithubException as exc:
        if exc.status in (401, 403, 404):
            return None
        raise
    return login


def same_body(current: str, wanted: str) -> bool:
    """Equal bodies up to line endings and trailing newlines (GitHub returns ``\\r\\n``)."""
    return _normalized(current) == _normalized(wanted)


def _normalized(body: str) -> str:
    return body.replace("\r\n", "\n").rstrip("\n")


def error_message(exc: GithubException) -> str:
    """GitHub's own message of an error answer."""
    data = exc.data if isinstance(exc.data, dict) else {}
    return str(data.get("message") or exc.data or exc)


def translate_error(exc: GithubException, what: str) -> GitHubIOError:
    """Turn PyGithub's exception into ours, with a message that says what to do."""
    message = error_message(exc)
    if exc.status == 403 and "not accessible by integration" in message.lower():
        return NotPermitted(
            f"cannot write the {what}: the token lacks permission ({message}). "
            "Pull requests from forks get a read-only token; grant `pull-requests: write` for others."
        )
    if exc.status in (401, 403, 404):
        return NotPermitted(f"cannot write the {what}: GitHub answered {exc.status} ({message})")
    return GitHubIOError(f"GitHub error on the {what}: {exc.status} {message}")
