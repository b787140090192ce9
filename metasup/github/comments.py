"""Bodies we keep exactly one of: the review comment on a PR and the dashboard issue.

Ours = carries the hidden marker AND was written by our exact login (:func:`client.own_login`), so
neither a human nor another bot (``renovate[bot]``) whose comment carries the marker is ever
edited or deleted. Nothing is written when the body is already current; bodies are fitted to
GitHub's limit (:func:`client.fit_body`); a creation whose answer was lost is looked up before it
is tried again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from github import GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment
from github.Repository import Repository

from metasup.github.client import (
    CreateUnconfirmed,
    GitHubClient,
    confirm_written_as,
    fit_body,
    fit_title,
    login_of,
    own_login,
    same_body,
    translate_error,
    wait_budget,
)


@dataclass(frozen=True)
class CommentOutcome:
    comment_id: int
    action: Literal["created", "updated", "unchanged"]
    deleted_duplicates: list[int] = field(default_factory=list)


def is_own_comment(comment: IssueComment, marker: str, login: str) -> bool:
    """Ours = carries the marker AND was written by our exact login (no one else can hijack it)."""
    return (comment.body or "").startswith(marker) and login_of(comment.user) == login


def upsert_comment(gh: GitHubClient, repository: str, number: int, body: str, marker: str) -> CommentOutcome:
    """Keep exactly one comment of ours on issue/PR ``number``, with ``body``.

    Lists every comment (all pages), edits the first of ours, deletes later copies a racing
    run may have left, and writes nothing when the body is already current. A comment it creates
    is followed by one more listing: two runs that both found none and both created one see each
    other there, and both keep the first (so the PR never shows two, nor none).
    """
    body = fit_body(body)
    try:
        issue = gh.get_repo(repository).get_issue(number)
        login = own_login(gh)
        while True:
            ours = [c for c in issue.get_comments() if is_own_comment(c, marker, login)]
            if ours:
                break
            try:
                created = issue.create_comment(body)
            except CreateUnconfirmed as failure:  # landed or not: the next listing tells
                if any(is_own_comment(c, marker, login) for c in issue.get_comments()):
                    continue
                wait_budget(gh).wait_for(failure)
                continue
            confirm_written_as(gh, created.user.login, f"comment {created.id} on #{number}")
            ours = [c for c in issue.get_comments() if is_own_comment(c, marker, login)]
            if not ours or ours[0].id == created.id:
                return CommentOutcome(created.id, "created", _delete_comments(ours[1:]))
            break  # a racing run's comment came first: it is kept, and ours is a copy
        keep, duplicates = ours[0], ours[1:]
        deleted = _delete_comments(duplicates)
        if same_body(keep.body or "", body):
            return CommentOutcome(keep.id, "unchanged", deleted)
        try:
            keep.edit(body)
        except GithubException as exc:
            if exc.status != 404:
                raise
            # Deleted since we listed it (a person, or a racing run keeping its own): start again,
            # so the PR ends with one comment of ours, not none.
            return upsert_comment(gh, repository, number, body, marker)
        return CommentOutcome(keep.id, "updated", deleted)
    except GithubException as exc:
        raise translate_error(exc, f"comment on #{number} in {repository}") from None


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


def _own_open_issue(repo: Repository, login: str, marker: str) -> Issue | None:
    for issue in repo.get_issues(state="open"):
        ours = issue.pull_request is None and login_of(issue.user) == login
        if ours and (issue.body or "").startswith(marker):
            return issue
    return None


def read_own_issue(gh: GitHubClient, repository: str, marker: str) -> tuple[int, str] | None:
    """Number and body of our open issue whose body starts with ``marker`` (None: there is none)."""
    try:
        issue = _own_open_issue(gh.get_repo(repository), own_login(gh), marker)
    except GithubException as exc:
        raise translate_error(exc, "dashboard issue") from None
    return None if issue is None else (issue.number, issue.body or "")


def upsert_issue(gh: GitHubClient, repository: str, title: str, body: str, marker: str) -> tuple[int, str]:
    """Keep one open issue of ours with ``body`` (found by marker and author); returns number, action."""
    title, body = fit_title(title), fit_body(body)
    try:
        repo = gh.get_repo(repository)
        login = own_login(gh)
        while True:
            issue = _own_open_issue(repo, login, marker)
            if issue is not None:
                if same_body(issue.body or "", body):
                    return issue.number, "unchanged"
                issue.edit(title=title, body=body)
                return issue.number, "updated"
            try:
                created = repo.create_issue(title=title, body=body)
            except CreateUnconfirmed as failure:  # landed or not: the next listing tells
                if _own_open_issue(repo, login, marker) is None:
                    wait_budget(gh).wait_for(failure)
                continue
            confirm_written_as(gh, created.user.login, f"issue #{created.number}")
            return created.number, "created"
    except GithubException as exc:
        raise translate_error(exc, "dashboard issue") from None
