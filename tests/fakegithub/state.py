"""The fake's GitHub state: users, tokens, repositories, issues/PRs, comments, labels, reviews.

Plain dataclasses, no HTTP.  Issues and pull requests share one number space per repository (a
pull request is an :class:`Issue` whose ``pull`` is set), as on GitHub.  Each repository owns a
:class:`~.gitstore.GitStore`; a pull request's head/base SHAs are read from the branch refs.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .gitstore import GitStore, Signature, TreeEntry

DEFAULT_START = datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)
BOT_LOGIN = "github-actions[bot]"
"""The login GITHUB_TOKEN writes as (the github-actions App's bot)."""


class ApiError(Exception):
    """An error response: ``status`` and GitHub's JSON error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        documentation_url: str = "https://docs.github.com/rest",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(
    resource: str, field_name: str | None, code: str, message: str | None = None
) -> ApiError:
    err: dict[str, Any] = {"resource": resource, "code": code}
    if field_name is not None:
        err["field"] = field_name
    if message is not None:
        err["message"] = message
    return ApiError(422, "Validation Failed", errors=[err])


class Clock:
    """The fake's notion of "now" for created_at/updated_at/submitted_at and commit dates."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = start.astimezone(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or ``timedelta(**kwargs)`` (e.g. ``advance(hours=25)``)."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        self._now = self._now.replace(microsecond=0)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC).replace(microsecond=0)


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User" | "Bot" | "Organization"
    name: str | None = None
    email: str | None = None
    created_at: datetime = DEFAULT_START - timedelta(days=3650)
    deleted: bool = False  # the account is gone: its issues, comments, PRs and reviews say ``user: null``

    @property
    def commit_email(self) -> str:
        return self.email or f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class Identity:
    """What a token authenticates as."""

    token: str
    login: str
    installation: bool = False  # GITHUB_TOKEN / app installation: GET /user is 403
    read_only: bool = False  # e.g. the GITHUB_TOKEN of a fork PR: every write is 403


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Comment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Review:
    id: int
    pull_number: int
    user: str
    body: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | PENDING | DISMISSED
    commit_id: str
    submitted_at: datetime | None


@dataclass
class PullInfo:
    head_ref: str
    base_ref: str
    head_sha: str  # last known tip of head (kept after the branch is deleted)
    base_sha: str
    draft: bool = False
    maintainer_can_modify: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    # The repository holding ``head_ref`` when it is not the base repository (a fork PR).
    head_repo: Repo | None = field(default=None, repr=False, compare=False)


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)  # label names (repo labels hold the objects)
    assignees: list[str] = field(default_factory=list)
    closed_at: datetime | None = None
    closed_by: str | None = None
    locked: bool = False
    pull: PullInfo | None = None

    @property
    def is_pull(self) -> bool:
        return self.pull is not None


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    created_at: datetime
    private: bool = False
    description: str | None = None
    actions_can_create_prs: bool = True  # Settings → Actions → "Allow GitHub Actions to create PRs"
    allow_squash_merge: bool = True  # Settings → General → "Allow squash merging"
    pull_head_lag: float = 0.0
    """Seconds (wall clock) a PR takes to show its branch's new head: GitHub updates a PR after a
    push asynchronously, a few seconds later (0: at once)."""
    head_moves_seen: dict[tuple[int, str], float] = field(default_factory=dict, repr=False, compare=False)
    collaborators: set[str] = field(default_factory=set)
    git: GitStore = field(default_factory=GitStore)
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # key: lower-cased name
    reviews: dict[int, Review] = field(default_factory=dict)
    next_number: int = 1
    pushed_at: datetime | None = None
    parent: Repo | None = field(default=None, repr=False, compare=False)  # set on a fork
    forks_count: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def source(self) -> Repo:
        """The root of this repository's fork network (itself when it is not a fork)."""
        return self if self.parent is None else self.parent.source

    def pull_head_repo(self, issue: Issue) -> Repo:
        """The repository a PR's head branch lives in (this one, or a fork)."""
        assert issue.pull is not None
        return issue.pull.head_repo or self

    def find_label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())

    def branch_sha(self, branch: str) -> str | None:
        return self.git.refs.get(f"refs/heads/{branch}")

    def head_sha(self, issue: Issue) -> str:
        assert issue.pull is not None
        if issue.state == "open":
            live = self.pull_head_repo(issue).branch_sha(issue.pull.head_ref)
            if live is not None and live != issue.pull.head_sha and self.pull_head_lag > 0:
                first = self.head_moves_seen.setdefault((issue.number, live), time.monotonic())
                if time.monotonic() - first < self.pull_head_lag:
                    return issue.pull.head_sha
            if live is not None:
                issue.pull.head_sha = live
        return issue.pull.head_sha

    def base_sha(self, issue: Issue) -> str:
        assert issue.pull is not None
        if issue.state == "open":
            live = self.branch_sha(issue.pull.base_ref)
            if live is not None:
                issue.pull.base_sha = live
        return issue.pull.base_sha

    def resolve_commitish(self, ref: str | None) -> str | None:
        """A commit SHA for a branch/tag name, a full ref, or a commit SHA (None: default branch)."""
        if ref is None or ref == "":
            return self.branch_sha(self.default_branch)
        for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if candidate in self.git.refs:
                return self.git.refs[candidate]
        if ref in self.git.commits:
            return ref
        matches = [sha for sha in self.git.commits if len(ref) >= 7 and sha.startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    def read_file(self, path: str, ref: str | None = None) -> bytes | None:
        sha = self.resolve_commitish(ref)
        if sha is None:
            return None
        entry = self.git.lookup(self.git.commits[sha].tree, path)
        if entry is None or entry.type != "blob":
            return None
        return self.git.blobs[entry.sha]

    def commit_files(
        self,
        branch: str,
        files: dict[str, str | bytes | None],
        message: str,
        signature: Signature,
        *,
        create_from: str | None = None,
    ) -> str:
        """Commit ``files`` (None deletes a path) on top of ``branch`` and move the branch."""
        parent = self.branch_sha(branch)
        if parent is None:
            parent = self.resolve_commitish(create_from) if create_from is not None else None
            if create_from is not None and parent is None:
                raise KeyError(f"{self.full_name}: no such ref {create_from!r}")
        flat = self.git.flatten(self.git.commits[parent].tree) if parent else {}
        for path, content in files.items():
            if content is None:
                flat.pop(path, None)
                continue
            data = content.encode() if isinstance(content, str) else content
            flat[path] = TreeEntry("100644", "blob", self.git.put_blob(data))
        tree = self.git.build_tree(flat)
        sha = self.git.put_commit(tree, [parent] if parent else [], message, signature, signature)
        self.git.refs[f"refs/heads/{branch}"] = sha
        self.pushed_at = signature.date
        return sha


class Ids:
    """Realistic-looking, distinct id sequences per kind of object."""

    def __init__(self) -> None:
        self._seqs = {
            "user": itertools.count(583231),
            "repo": itertools.count(1296269),
            "issue": itertools.count(1000000001),
            "comment": itertools.count(2000000001),
            "label": itertools.count(208045946),
            "review": itertools.count(80000001),
        }

    def next(self, kind: str) -> int:
        return next(self._seqs[kind])
