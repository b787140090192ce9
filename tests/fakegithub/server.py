"""A stateful fake GitHub REST server on 127.0.0.1, every response checked against GitHub's OpenAPI.

Usage (the ``fake_github`` fixture does the start/stop and the final error check)::

    fake = FakeGitHub(spec).start()
    fake.create_repo("octo-org/fleet", {"README.md": "hi\\n"})
    gh = fake.client(PAT_TOKEN)                 # github.Github pointed at the fake
    gh.get_repo("octo-org/fleet").get_issue(1)
    fake.stop(); fake.assert_clean()

Both ``http://127.0.0.1:PORT`` and the GHES-style ``http://127.0.0.1:PORT/api/v3`` are served; the
``url`` fields of returned objects keep the prefix the client used.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from github import Auth, Github

from . import api_issues, routes
from .factories import Urls
from .gitstore import GitError, GitStore, Signature
from .openapi import OpenAPISpec
from .routes import Request, Response
from .state import (
    BOT_LOGIN,
    DEFAULT_START,
    ApiError,
    Clock,
    Comment,
    Identity,
    Ids,
    Issue,
    Label,
    PullInfo,
    Repo,
    Review,
    User,
    not_found,
)

GHES_PREFIX = "/api/v3"
PAT_TOKEN = "ghp_octocatPersonalAccessToken0000000001"
ACTIONS_TOKEN = "ghs_githubActionsInstallationToken00001"
FORK_TOKEN = "ghs_forkPullRequestReadOnlyToken0000001"
PAT_LOGIN = "octocat"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Ids of well-known GitHub App bots (a login ending in "[bot]" is a Bot; others get a fresh id).
KNOWN_BOT_IDS = {"github-actions[bot]": 41898282, "dependabot[bot]": 49699333, "renovate[bot]": 29139614}
# The labels GitHub gives a new repository: (name, color, description).
GITHUB_DEFAULT_LABELS = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)
RATE_WINDOW = 3600  # seconds in a primary rate-limit window
_REPOSITORIES = re.compile(r"/repositories/(\d+)(/.*)?")
_REPOS = re.compile(r"/repos/([^/]+)/([^/]+)(/.*)?")

PathPattern = str | re.Pattern[str] | None


def _matches(pattern_method: str | None, pattern_path: PathPattern, method: str, path: str) -> bool:
    if pattern_method is not None and pattern_method.upper() != method:
        return False
    if pattern_path is None:
        return True
    if isinstance(pattern_path, re.Pattern):
        return pattern_path.fullmatch(path) is not None
    return fnmatch.fnmatchcase(path, pattern_path)


@dataclass
class LoggedRequest:
    method: str
    path: str  # without the /api/v3 prefix and the query string
    query: dict[str, str]
    body: Any
    status: int
    login: str | None
    prefix: str  # "" or "/api/v3"
    raw_path: str = ""  # the path as sent (``path`` turns /repositories/{id}/... into /repos/{o}/{r}/...)

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass
class RequestInfo:
    """What a ``before_request`` hook sees."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    token: str | None


@dataclass
class Fault:
    method: str | None
    path: PathPattern
    remaining: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    after_handling: bool = False  # handle the request (state changes) and then answer the fault
    exhaust_rate_limit: bool = False
    reset_in: int = 60  # primary rate limit: the window resets this many seconds after the first hit
    cut_body: bool = False  # handle the request, answer it, and hang up halfway through the body


Hook = Callable[["FakeGitHub", RequestInfo], None]


@dataclass
class _HookEntry:
    hook: Hook
    method: str | None
    path: PathPattern
    remaining: int | None


@dataclass
class _RateLimit:
    limit: int
    reset: int  # epoch seconds when the window ends
    used: int = 0
    exhausted_by: Fault | None = None  # a primary_rate_limit fault in force


class _Server(ThreadingHTTPServer):
    # Daemon handler threads (a script that forgets stop() still exits); stop() joins them itself.
    daemon_threads = True
    fake: FakeGitHub
    connections: set[socket.socket]
    threads: set[threading.Thread]
    conn_lock: threading.Lock

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client vanishing mid-request (closed keep-alive socket) is not a test failure.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one send per response (flushed in _write), no Nagle/delayed-ACK stalls
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)
            self.server.threads.add(threading.current_thread())

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)
                self.server.threads.discard(threading.current_thread())

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch  # noqa: N815


@dataclass
class FakeGitHub:
    """The fake's state, its HTTP server, test helpers, fault injection and validation results."""

    spec: OpenAPISpec | None = None
    start_time: datetime = DEFAULT_START
    clock: Clock = field(init=False)
    ids: Ids = field(init=False, default_factory=Ids)
    users: dict[str, User] = field(init=False, default_factory=dict)
    tokens: dict[str, Identity] = field(init=False, default_factory=dict)
    repos: dict[str, Repo] = field(init=False, default_factory=dict)  # key: lower-cased full name
    log: list[LoggedRequest] = field(init=False, default_factory=list)
    errors: list[str] = field(init=False, default_factory=list)
    request_warnings: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.clock = Clock(self.start_time)
        self.lock = threading.RLock()
        self._faults: list[Fault] = []
        self._hooks: list[_HookEntry] = []
        self._rate: dict[str | None, _RateLimit] = {}
        self._clients: list[Github] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if self.spec is not None:
            for method, template in routes.served_operations():
                self.spec.operation(method, template)  # every served route must be documented
        self.add_user(PAT_LOGIN, name="The Octocat", email="octocat@github.com")
        self.add_user(BOT_LOGIN, type="Bot", name=BOT_LOGIN, user_id=41898282)
        self.add_token(PAT_TOKEN, PAT_LOGIN)
        self.add_token(ACTIONS_TOKEN, BOT_LOGIN, installation=True)
        self.add_token(FORK_TOKEN, BOT_LOGIN, installation=True, read_only=True)

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        server.connections = set()
        server.threads = set()
        server.conn_lock = threading.Lock()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakegithub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.conn_lock:
            conns, threads = list(server.connections), list(server.threads)
        for conn in conns:  # wake handler threads parked on idle keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeGitHub is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for ``Github(base_url=...)`` / ``GITHUB_API_URL`` (github.com style)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ghes_url(self) -> str:
        """GHES-style base URL (``/api/v3``)."""
        return f"{self.url}{GHES_PREFIX}"

    def client(self, token: str = PAT_TOKEN, *, ghes: bool = False, **kwargs: Any) -> Github:
        """A ``github.Github`` talking to this fake (closed by :meth:`stop`); kwargs go to Github().

        PyGithub throttles by default (0.25 s between requests, 1 s between writes); this client
        does not unless ``seconds_between_requests`` / ``seconds_between_writes`` are passed.
        """
        kwargs.setdefault("seconds_between_requests", None)
        kwargs.setdefault("seconds_between_writes", None)
        gh = Github(auth=Auth.Token(token), base_url=self.ghes_url if ghes else self.url, **kwargs)
        self._clients.append(gh)
        return gh

    # -- identities -------------------------------------------------------------------------------

    def add_user(
        self,
        login: str,
        *,
        type: str | None = None,
        name: str | None = None,
        email: str | None = None,
        user_id: int | None = None,
    ) -> User:
        """A user (kept if it exists): ``type`` "User" | "Bot" | "Organization"; by default "Bot"
        for a login ending in "[bot]" (``renovate[bot]``, with its real id when well known)."""
        with self.lock:
            if login in self.users:
                return self.users[login]
            if type is None:
                type = "Bot" if login.endswith("[bot]") else "User"
            if user_id is None:
                user_id = KNOWN_BOT_IDS.get(login) if type == "Bot" else None
            user = User(login, user_id or self.ids.next("user"), type, name, email)
            self.users[login] = user
            return user

    def delete_user(self, login: str) -> None:
        """The account is deleted: what it wrote stays, with ``user: null`` (``factories.author``)."""
        with self.lock:
            self.users[login].deleted = True

    def add_token(
        self, token: str, login: str, *, installation: bool = False, read_only: bool = False
    ) -> Identity:
        """Map ``token`` to ``login`` (created as a User when unknown)."""
        with self.lock:
            if login not in self.users:
                self.add_user(login)
            ident = Identity(token, login, installation, read_only)
            self.tokens[token] = ident
            return ident

    def signature(self, login: str) -> Signature:
        user = self.users[login]
        return Signature(user.name or user.login, user.commit_email, self.clock.now())

    def _bucket(self, identity: Identity | None) -> _RateLimit:
        key = identity.token if identity else None
        if key not in self._rate:
            limit = 60 if identity is None else (1000 if identity.installation else 5000)
            self._rate[key] = _RateLimit(limit, int(time.time()) + RATE_WINDOW)
        return self._rate[key]

    def rate_limit_state(self, identity: Identity | None) -> tuple[int, int, int]:
        """(limit, remaining, reset) of the identity's primary rate limit, as the headers tell it."""
        rl = self._bucket(identity)
        return rl.limit, max(rl.limit - rl.used, 0), rl.reset

    # -- repositories and git -------------------------------------------------------------------------

    def create_repo(
        self,
        full_name: str,
        files: dict[str, str | bytes] | None = None,
        *,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
        actions_can_create_prs: bool = True,
        message: str = "Initial commit",
        auto_init: bool = True,
        default_labels: bool = False,
        repo_id: int | None = None,
    ) -> Repo:
        """A repository whose default branch holds one commit with ``files`` ({path: text}).

        ``auto_init=False`` leaves it empty (no commit, no branch: the first ``commit_files`` or
        ``PUT /contents`` makes the root commit); ``default_labels`` gives it GitHub's nine labels
        (``bug``, ``documentation``...); ``repo_id`` pins its id (``/repositories/{id}`` URLs).
        """
        owner, _, name = full_name.partition("/")
        with self.lock:
            if full_name.lower() in self.repos:
                raise ValueError(f"repository {full_name} exists")
            if owner not in self.users:
                self.add_user(owner, type="Organization")
            if repo_id is not None and any(r.id == repo_id for r in self.repos.values()):
                raise ValueError(f"repository id {repo_id} is taken")
            repo = Repo(
                id=repo_id if repo_id is not None else self.ids.next("repo"),
                owner=owner,
                name=name,
                default_branch=default_branch,
                created_at=self.clock.now(),
                private=private,
                description=description,
                actions_can_create_prs=actions_can_create_prs,
            )
            if auto_init or files:
                sig = self.signature(owner if self.users[owner].type != "Organization" else PAT_LOGIN)
                repo.commit_files(default_branch, dict(files or {}), message, sig)
            self.repos[full_name.lower()] = repo
            for label_name, color, text in GITHUB_DEFAULT_LABELS if default_labels else ():
                self._new_label(repo, label_name, color, text, default=True)
            return repo

    def _new_label(
        self, repo: Repo, name: str, color: str, description: str | None, *, default: bool = False
    ) -> Label:
        if repo.find_label(name) is not None:
            raise ValueError(f"{repo.full_name}: label {name!r} exists")
        lab = Label(self.ids.next("label"), name, color, description, default)
        repo.labels[name.lower()] = lab
        return lab

    def create_label(
        self, full_name: str, name: str, color: str = "ededed", description: str | None = None
    ) -> Label:
        """A repository label (as if made in the web UI)."""
        with self.lock:
            return self._new_label(self.repo(full_name), name, color, description)

    def fork_repo(
        self, full_name: str, owner: str, *, name: str | None = None, default_branch_only: bool = True
    ) -> Repo:
        """``owner`` forks ``full_name``: a repository sharing its git objects (as GitHub's fork
        network does), with a copy of its default branch (every branch with
        ``default_branch_only=False``); ``owner`` is created as a User when unknown."""
        with self.lock:
            parent = self.repo(full_name)
            self.add_user(owner)
            fork_name = f"{owner}/{name or parent.name}"
            if fork_name.lower() in self.repos:
                raise ValueError(f"repository {fork_name} exists")
            refs = {
                ref: sha
                for ref, sha in parent.git.refs.items()
                if not default_branch_only or ref == f"refs/heads/{parent.default_branch}"
            }
            git = GitStore(parent.git.blobs, parent.git.trees, parent.git.commits, refs)
            fork = Repo(
                id=self.ids.next("repo"),
                owner=owner,
                name=name or parent.name,
                default_branch=parent.default_branch,
                created_at=self.clock.now(),
                private=parent.private,
                description=parent.description,
                git=git,
                pushed_at=parent.pushed_at,
                parent=parent,
            )
            parent.forks_count += 1
            if parent.source is not parent:
                parent.source.forks_count += 1
            self.repos[fork_name.lower()] = fork
            return fork

    def head_repository(self, base: Repo, owner: str | None, name: str | None = None) -> Repo | None:
        """The repository a PR's head is in: ``base`` itself, or ``owner``'s repository in the
        same fork network (``name`` when given, as the ``head_repo`` field of POST /pulls)."""
        owner = owner or base.owner
        if name is None and owner.lower() == base.owner.lower():
            return base
        for repo in self.repos.values():
            if (
                repo.owner.lower() == owner.lower()
                and (name is None or repo.name.lower() == name.lower())
                and repo.source is base.source
            ):
                return repo
        return None

    def pulls_with_head(self, head_repo: Repo, branch: str) -> list[tuple[Repo, Issue]]:
        """Open PRs (in any repository) whose head is ``branch`` of ``head_repo``."""
        return [
            (repo, iss)
            for repo in self.repos.values()
            for iss in repo.issues.values()
            if iss.pull is not None
            and iss.state == "open"
            and iss.pull.head_ref == branch
            and repo.pull_head_repo(iss) is head_repo
        ]

    def repo(self, full_name: str) -> Repo:
        try:
            return self.repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"no repository {full_name} in the fake") from None

    def ref_sha(self, full_name: str, ref: str) -> str | None:
        """SHA a ref points to: "main", "heads/main", "refs/heads/main" or a tag/sha."""
        with self.lock:
            repo = self.repo(full_name)
            name = (
                ref
                if ref.startswith("refs/")
                else (f"refs/{ref}" if ref.startswith(("heads/", "tags/")) else None)
            )
            if name is not None:
                return repo.git.refs.get(name)
            return repo.resolve_commitish(ref)

    def read_file(self, full_name: str, path: str, ref: str | None = None) -> str | None:
        """Text of ``path`` at ``ref`` (default branch when None); None when absent."""
        with self.lock:
            data = self.repo(full_name).read_file(path, ref)
            return None if data is None else data.decode()

    def files_at(self, full_name: str, ref: str | None = None) -> dict[str, str]:
        """Every file at ``ref`` as {path: text}."""
        with self.lock:
            repo = self.repo(full_name)
            sha = repo.resolve_commitish(ref)
            if sha is None:
                raise KeyError(f"{full_name}: no ref {ref!r}")
            flat = repo.git.flatten(repo.git.commits[sha].tree)
            return {
                p: repo.git.blobs[e.sha].decode("utf-8", "replace")
                for p, e in flat.items()
                if e.type == "blob"
            }

    def create_branch(self, full_name: str, branch: str, from_ref: str | None = None) -> str:
        with self.lock:
            repo = self.repo(full_name)
            sha = repo.resolve_commitish(from_ref)
            if sha is None:
                raise KeyError(f"{full_name}: no ref {from_ref!r}")
            repo.git.refs[f"refs/heads/{branch}"] = sha
            return sha

    def commit_files(
        self,
        full_name: str,
        branch: str,
        files: dict[str, str | bytes | None],
        *,
        message: str = "Update files",
        user: str = PAT_LOGIN,
        create_from: str | None = None,
    ) -> str:
        """Push one commit on ``branch`` (created from ``create_from`` when missing; None deletes)."""
        with self.lock:
            self.add_user(user)
            repo = self.repo(full_name)
            if repo.branch_sha(branch) is None and create_from is None and repo.git.refs:
                create_from = repo.default_branch  # (an empty repository gets a root commit)
            return repo.commit_files(branch, files, message, self.signature(user), create_from=create_from)

    def push_to_pull(
        self,
        full_name: str,
        number: int,
        files: dict[str, str | bytes | None],
        *,
        message: str = "Update files",
        user: str = "alice",
    ) -> str:
        """``user`` pushes one commit to PR ``number``'s head branch (in its fork, if it is a fork
        PR); the PR's ``head.sha`` moves to the returned SHA."""
        with self.lock:
            repo = self.repo(full_name)
            iss = repo.issues[number]
            if iss.pull is None:
                raise KeyError(f"#{number} is not a pull request")
            head = repo.pull_head_repo(iss)
            return self.commit_files(head.full_name, iss.pull.head_ref, files, message=message, user=user)

    # -- issues, pull requests, comments, reviews ----------------------------------------------------

    def new_issue(self, repo: Repo, title: str, body: str | None, user: str) -> Issue:
        now = self.clock.now()
        iss = Issue(self.ids.next("issue"), repo.next_number, title, body, user, now, now)
        repo.issues[iss.number] = iss
        repo.next_number += 1
        return iss

    def new_comment(self, repo: Repo, iss: Issue, body: str, user: str) -> Comment:
        now = self.clock.now()
        com = Comment(self.ids.next("comment"), iss.number, user, body, now, now)
        repo.comments[com.id] = com
        iss.updated_at = now
        return com

    def new_review(self, repo: Repo, iss: Issue, user: str, state: str, body: str, commit_id: str) -> Review:
        now = self.clock.now()
        rev = Review(
            self.ids.next("review"),
            iss.number,
            user,
            body,
            state,
            commit_id,
            None if state == "PENDING" else now,
        )
        repo.reviews[rev.id] = rev
        return rev

    def merge_pull(
        self,
        repo: Repo,
        iss: Issue,
        who: str,
        *,
        method: str = "merge",
        expected_sha: str | None = None,
        title: str | None = None,
        message: str | None = None,
    ) -> str:
        """Merge an open PR: a new commit on the base branch (409/405 like GitHub when it can't)."""
        pr = iss.pull
        assert pr is not None
        if iss.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if method == "squash" and not repo.allow_squash_merge:  # as GitHub answers (akuity/kargo#6490)
            raise ApiError(405, "Squash merges are not allowed on this repository.")
        head, base = repo.head_sha(iss), repo.base_sha(iss)
        if expected_sha is not None and expected_sha != head:
            raise ApiError(
                409,
                "Head branch was modified. Review and try the merge again.",
                documentation_url=f"{routes.DOCS}/pulls/pulls#merge-a-pull-request",
            )
        flat = repo.git.three_way(base, head)
        if flat is None:
            raise ApiError(405, "Pull Request is not mergeable")
        tree = repo.git.build_tree(flat)
        if method == "merge":
            head_owner = repo.pull_head_repo(iss).owner
            subject = title or f"Merge pull request #{iss.number} from {head_owner}/{pr.head_ref}"
            parents = [base, head]
        else:
            subject = title or f"{iss.title} (#{iss.number})"
            parents = [base]
        text = f"{subject}\n\n{message if message is not None else iss.title}"
        committer = Signature("GitHub", "noreply@github.com", self.clock.now())
        try:
            sha = repo.git.put_commit(tree, parents, text, self.signature(who), committer)
        except GitError as exc:  # pragma: no cover - trees and parents come from the store
            raise ApiError(422, exc.message) from None
        repo.git.refs[f"refs/heads/{pr.base_ref}"] = sha
        now = self.clock.now()
        pr.merged, pr.merged_at, pr.merged_by, pr.merge_commit_sha = True, now, who, sha
        pr.head_sha, pr.base_sha = head, base
        iss.state, iss.closed_at, iss.closed_by, iss.updated_at = "closed", now, who, now
        repo.pushed_at = now
        return sha

    def create_issue(
        self, full_name: str, title: str, body: str = "", *, user: str = "alice", labels: Iterable[str] = ()
    ) -> Issue:
        with self.lock:
            self.add_user(user)
            repo = self.repo(full_name)
            iss = self.new_issue(repo, title, body, user)
            api_issues.apply_labels(self, repo, iss, list(labels))
            return iss

    def open_pull(
        self,
        full_name: str,
        head: str,
        base: str | None = None,
        *,
        title: str = "A pull request",
        body: str = "",
        user: str = "alice",
        labels: Iterable[str] = (),
        draft: bool = False,
        head_repo: str | None = None,
        maintainer_can_modify: bool = False,
    ) -> Issue:
        """Open a PR as ``user`` (no permission checks; a login ending in "[bot]" is a Bot).

        ``head`` is a branch of ``full_name``, or ``"owner:branch"`` / ``head_repo="owner/name"`` for
        a branch of a fork (see :meth:`fork_repo`) — it may have the base branch's name.
        """
        with self.lock:
            self.add_user(user)
            repo = self.repo(full_name)
            base = base or repo.default_branch
            head_owner, _, head = head.rpartition(":")
            if head_repo is not None:
                source = self.repo(head_repo)
            else:
                found = self.head_repository(repo, head_owner or None)
                if found is None:
                    raise KeyError(f"{full_name}: no fork owned by {head_owner!r}")
                source = found
            head_sha, base_sha = source.branch_sha(head), repo.branch_sha(base)
            if head_sha is None or base_sha is None:
                raise KeyError(f"{full_name}: branch {head!r} ({source.full_name}) or {base!r} missing")
            iss = self.new_issue(repo, title, body, user)
            iss.pull = PullInfo(
                head,
                base,
                head_sha,
                base_sha,
                draft=draft,
                maintainer_can_modify=maintainer_can_modify,
                head_repo=None if source is repo else source,
            )
            api_issues.apply_labels(self, repo, iss, list(labels))
            return iss

    def issue(self, full_name: str, number: int) -> Issue:
        with self.lock:
            return self.repo(full_name).issues[number]

    def pulls(self, full_name: str, state: str = "open") -> list[Issue]:
        with self.lock:
            return [
                i
                for i in sorted(self.repo(full_name).issues.values(), key=lambda i: i.number)
                if i.pull is not None and state in ("all", i.state)
            ]

    def comments(self, full_name: str, number: int) -> list[Comment]:
        with self.lock:
            repo = self.repo(full_name)
            return sorted((c for c in repo.comments.values() if c.issue_number == number), key=lambda c: c.id)

    def add_comment(self, full_name: str, number: int, body: str, *, user: str = "alice") -> Comment:
        """A comment written by someone else (a human, another bot) — no HTTP, not logged."""
        with self.lock:
            self.add_user(user)
            repo = self.repo(full_name)
            return self.new_comment(repo, repo.issues[number], body, user)

    def close_pull(self, full_name: str, number: int, *, user: str = "alice") -> Issue:
        """A human closes the PR without merging it (a veto)."""
        with self.lock:
            self.add_user(user)
            repo = self.repo(full_name)
            iss = repo.issues[number]
            if iss.pull is None:
                raise KeyError(f"#{number} is not a pull request")
            repo.head_sha(iss)
            repo.base_sha(iss)
            api_issues.set_state(self, iss, "closed", user)
            return iss

    def merge(
        self,
        full_name: str,
        number: int,
        *,
        user: str = "alice",
        method: str = "merge",
        sha: str | None = None,
    ) -> str:
        """A human merges the PR (``sha``: refused with ApiError 409 unless it is the head)."""
        with self.lock:
            self.add_user(user)
            repo = self.repo(full_name)
            return self.merge_pull(repo, repo.issues[number], user, method=method, expected_sha=sha)

    def submit_review(
        self,
        full_name: str,
        number: int,
        state: str = "CHANGES_REQUESTED",
        body: str = "",
        *,
        user: str = "alice",
    ) -> Review:
        """A review by a human: state APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED."""
        with self.lock:
            self.add_user(user)
            repo = self.repo(full_name)
            iss = repo.issues[number]
            return self.new_review(repo, iss, user, state, body, repo.head_sha(iss))

    def advance(self, **kwargs: float) -> datetime:
        """Move the fake's clock, e.g. ``advance(hours=25)``."""
        with self.lock:
            return self.clock.advance(timedelta(**kwargs))

    # -- traffic ------------------------------------------------------------------------------------

    def requests(self, method: str | None = None, path: PathPattern = None) -> list[LoggedRequest]:
        """Logged HTTP requests, optionally filtered (path: glob like "/repos/*/comments" or regex)."""
        with self.lock:
            return [r for r in self.log if _matches(method, path, r.method, r.path)]

    def writes(self, method: str | None = None, path: PathPattern = None) -> list[LoggedRequest]:
        """Logged POST/PUT/PATCH/DELETE requests (whatever their status)."""
        return [r for r in self.requests(method, path) if r.is_write]

    def write_counts(self) -> dict[tuple[str, str], int]:
        """{(method, path): n} over logged writes."""
        out: dict[tuple[str, str], int] = {}
        for r in self.writes():
            out[(r.method, r.path)] = out.get((r.method, r.path), 0) + 1
        return out

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()

    # -- faults and hooks -------------------------------------------------------------------------------

    def _add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            self._faults.append(fault)
        return fault

    def fail_next(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: PathPattern = None,
        status: int = 502,
        after_handling: bool = False,
    ) -> Fault:
        """The next ``n`` matching requests answer ``status`` (5xx).

        With ``after_handling`` the request is processed first (its write happens) and only the
        answer is lost — a client retry then sees the effect of its first attempt.
        """
        messages = {
            500: "Server Error",
            502: "Server Error",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        return self._add_fault(
            Fault(
                method, path, n, status, {"message": messages.get(status, "Server Error")}, {}, after_handling
            )
        )

    def refuse_next(
        self, errors: list[dict[str, str]], *, method: str | None = None, path: PathPattern = None, n: int = 1
    ) -> Fault:
        """The next ``n`` matching requests answer 422 "Validation Failed" with ``errors``, as GitHub
        does for a PR created right after its branch (``{"resource": "PullRequest", "field":
        "head", "code": "invalid"}``, transient) or one with nothing to merge."""
        body = {
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": "https://docs.github.com/rest",
            "status": "422",
        }
        return self._add_fault(Fault(method, path, n, 422, body, {}))

    def cut_body_next(self, n: int = 1, *, method: str | None = None, path: PathPattern = None) -> Fault:
        """The next ``n`` matching requests are handled (their writes happen) and answered, but the
        connection closes halfway through the answer's body, as a proxy or a network cut does."""
        return self._add_fault(Fault(method, path, n, 200, {}, {}, after_handling=True, cut_body=True))

    def secondary_rate_limit(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: PathPattern = None,
        retry_after: int = 1,
        status: int = 403,
    ) -> Fault:
        """GitHub's secondary rate limit: 403 (or 429) with ``retry-after``."""
        body = {
            "message": "You have exceeded a secondary rate limit. "
            "Please wait a few minutes before you try again. "
            "If you reach out to GitHub Support for help, please include the request ID.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            "#about-secondary-rate-limits",
            "status": str(status),
        }
        return self._add_fault(Fault(method, path, n, status, body, {"retry-after": str(retry_after)}))

    def primary_rate_limit(
        self,
        n: int = 1,
        *,
        method: str | None = None,
        path: PathPattern = None,
        status: int = 403,
        reset_in: int = 60,
    ) -> Fault:
        """GitHub's primary rate limit: the next ``n`` matching requests answer 403 (or 429) with
        ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` ``reset_in`` s after the first of them.

        The caller's rate-limit window is exhausted from that first answer on (every response on
        that token says remaining 0, ``/rate_limit`` too); after the ``n``-th a new window starts
        (used 0, reset one hour after the old reset).
        """
        body = {
            "message": "API rate limit exceeded.",  # made specific to the caller when answered
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            "#about-primary-rate-limits",
            "status": str(status),
        }
        return self._add_fault(
            Fault(method, path, n, status, body, {}, exhaust_rate_limit=True, reset_in=reset_in)
        )

    def before_request(
        self, hook: Hook, *, method: str | None = None, path: PathPattern = None, times: int | None = 1
    ) -> None:
        """Run ``hook(fake, info)`` just before a matching request is handled (``times=None``: always).

        The hook runs outside the state lock, so it may call any helper (add a comment, move a ref)
        to simulate a concurrent actor racing the client.
        """
        with self.lock:
            self._hooks.append(_HookEntry(hook, method, path, times))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()
            self._hooks.clear()

    # -- validation results -----------------------------------------------------------------------------

    def take_errors(self) -> list[str]:
        """Return and forget the recorded errors (invalid responses, unserved routes, crashes)."""
        with self.lock:
            out, self.errors[:] = list(self.errors), []
            return out

    def assert_clean(self) -> None:
        errors = self.take_errors()
        if errors:
            raise AssertionError("fake GitHub recorded errors:\n" + "\n".join(f"- {e}" for e in errors))

    # -- HTTP -------------------------------------------------------------------------------------------

    def _serve(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        raw_path = split.path
        prefix = GHES_PREFIX if raw_path == GHES_PREFIX or raw_path.startswith(GHES_PREFIX + "/") else ""
        sent_path = raw_path[len(prefix) :] or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        method = h.command
        length = int(h.headers.get("Content-Length") or 0)
        raw_body = h.rfile.read(length) if length else b""
        token = self._token(h.headers.get("Authorization"))
        accept = h.headers.get("Accept") or ""
        host = h.headers.get("Host") or f"127.0.0.1:{self.port}"
        urls = Urls(api=f"http://{host}{prefix}", web=f"http://{host}")
        with self.lock:
            path, link_path = self._resolve_path(sent_path)
        body: Any = None
        bad_json = False
        if raw_body.strip():
            try:
                body = json.loads(raw_body)
            except ValueError:
                bad_json = True
        info = RequestInfo(method, path or sent_path, query, body, token)
        hook_error = self._run_hooks(info)
        with self.lock:
            identity = self.tokens.get(token) if token is not None else None
            template: str | None = None
            internal = False  # a crash of the fake itself: answered 500, not validated
            fault: Fault | None = None
            try:
                if hook_error is not None:  # already recorded by _run_hooks
                    internal = True
                    raise ApiError(500, "fakegithub: a before_request hook raised (see the test's errors)")
                if token is not None and identity is None:
                    raise ApiError(401, "Bad credentials")
                if path is None:  # /repositories/{id} of no repository
                    raise not_found()
                fault = self._take_fault(method, path)
                found = self._route(method, path)
                if found is None:
                    self.errors.append(f"{method} {path}: not served by the fake (add a route in routes.py)")
                    raise ApiError(404, "Not Found")
                rt, params = found
                template = rt.template
                if fault is not None and not fault.after_handling:
                    resp = self._fault_response(fault, identity)
                else:
                    if bad_json:
                        raise ApiError(400, "Problems parsing JSON")
                    if method in WRITE_METHODS and identity is not None and identity.read_only:
                        raise ApiError(403, routes.INTEGRATION_MESSAGE)
                    if method in WRITE_METHODS and identity is None:
                        raise ApiError(401, "Requires authentication")
                    self._check_request(method, rt.template, body)
                    req = Request(
                        method, path, rt.template, params, query, body, identity, urls, accept, link_path
                    )
                    resp = rt.handler(self, req)
                    template = resp.template or template
                    if fault is not None and not fault.cut_body:
                        resp = self._fault_response(fault, identity)
                        template = rt.template
            except ApiError as exc:
                resp = Response(exc.status, exc.body(), dict(exc.headers))
            except Exception:
                internal = True
                self.errors.append(f"{method} {path}: handler crashed\n{traceback.format_exc()}")
                resp = Response(500, {"message": "fakegithub: handler crashed (see the test's errors)"})
            if resp.raw is not None:
                payload = resp.raw
            else:
                payload = b"" if resp.body is None else json.dumps(resp.body).encode()
            counts = template != "/rate_limit"  # GitHub: /rate_limit does not count against the limit
            headers = self._headers(identity, resp, counts=counts)
            if template is not None and self.spec is not None and not internal:
                try:
                    answered = re.search(r"param=([\w-]+)", headers.get("x-github-media-type", ""))
                    problems = self.spec.validate_response(
                        method,
                        template,
                        resp.status,
                        headers,
                        payload,
                        media=answered.group(1) if answered else None,
                    )
                except Exception:
                    problems = [f"validator crashed:\n{traceback.format_exc()}"]
                if problems:
                    self.errors.append(
                        f"{method} {prefix}{sent_path} -> {resp.status}: response does not match GitHub's "
                        f"OpenAPI description ({method.lower()} {template}):\n  " + "\n  ".join(problems)
                    )
                    resp = Response(
                        500, {"message": "fakegithub: response failed OpenAPI validation", "errors": problems}
                    )
                    payload = json.dumps(resp.body).encode()
                    headers = self._headers(identity, resp, counts=False)
            self.log.append(
                LoggedRequest(
                    method,
                    path or sent_path,
                    query,
                    body,
                    resp.status,
                    identity.login if identity else None,
                    prefix,
                    sent_path,
                )
            )
        if fault is not None and fault.cut_body:
            payload_sent = payload[: len(payload) // 2]
            self._write(h, resp.status, headers, payload, cut_to=payload_sent)
            return
        self._write(h, resp.status, headers, payload)

    def _resolve_path(self, path: str) -> tuple[str | None, str]:
        """(path to route, path for Link headers): ``/repositories/{id}/rest`` is routed as
        ``/repos/{owner}/{name}/rest`` (None when no repository has that id), and a repository's
        ``/repos/{owner}/{name}/rest`` is linked as ``/repositories/{id}/rest``, as GitHub does."""
        m = _REPOSITORIES.fullmatch(path)
        if m is not None:
            repo_id, rest = int(m.group(1)), m.group(2) or ""
            repo = next((r for r in self.repos.values() if r.id == repo_id), None)
            return (None, path) if repo is None else (f"/repos/{repo.full_name}{rest}", path)
        m = _REPOS.fullmatch(path)
        if m is not None:
            repo = self.repos.get(f"{unquote(m.group(1))}/{unquote(m.group(2))}".lower())
            if repo is not None:
                return path, f"/repositories/{repo.id}{m.group(3) or ''}"
        return path, path

    @staticmethod
    def _token(header: str | None) -> str | None:
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() in ("token", "bearer") and value.strip() else header.strip()

    def _run_hooks(self, info: RequestInfo) -> str | None:
        with self.lock:
            due = []
            for entry in self._hooks:
                if _matches(entry.method, entry.path, info.method, info.path) and entry.remaining != 0:
                    if entry.remaining is not None:
                        entry.remaining -= 1
                    due.append(entry.hook)
            self._hooks = [e for e in self._hooks if e.remaining != 0]
        for hook in due:
            try:
                hook(self, info)
            except Exception:
                msg = f"{info.method} {info.path}: before_request hook raised\n{traceback.format_exc()}"
                with self.lock:
                    self.errors.append(msg)
                return msg
        return None

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and _matches(fault.method, fault.path, method, path):
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
                return fault
        return None

    def _fault_response(self, fault: Fault, identity: Identity | None) -> Response:
        body = dict(fault.body)
        if fault.exhaust_rate_limit:
            rl = self._bucket(identity)
            if rl.exhausted_by is not fault:
                rl.exhausted_by, rl.used, rl.reset = fault, rl.limit, int(time.time()) + fault.reset_in
            if identity is None:
                body["message"] = (
                    "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated "
                    "requests get a higher rate limit. Check out the documentation for more details.)"
                )
            elif identity.installation:
                body["message"] = "API rate limit exceeded for installation ID 1."
            else:
                body["message"] = f"API rate limit exceeded for user ID {self.users[identity.login].id}."
        return Response(fault.status, body, dict(fault.headers))

    def _route(self, method: str, path: str) -> tuple[routes.Route, dict[str, str]] | None:
        for rt in routes.ROUTES:
            if rt.method != method:
                continue
            m = rt.pattern.fullmatch(path)
            if m is not None:
                return rt, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def _check_request(self, method: str, template: str, body: Any) -> None:
        if self.spec is None or body is None:
            return
        problems = self.spec.validate_request(method, template, body)
        if problems:
            self.request_warnings.append(f"{method} {template}: request body: " + "; ".join(problems))

    def _headers(self, identity: Identity | None, resp: Response, *, counts: bool = True) -> dict[str, str]:
        """Every response's headers, with the caller's primary rate limit (``x-ratelimit-*``)."""
        rl = self._bucket(identity)
        rl.used = min(rl.used + counts, rl.limit)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": uuid.uuid4().hex[:20].upper(),
            "x-ratelimit-limit": str(rl.limit),
            "x-ratelimit-remaining": str(rl.limit - rl.used),
            "x-ratelimit-reset": str(rl.reset),
            "x-ratelimit-used": str(rl.used),
            "x-ratelimit-resource": "core",
        }
        headers.update(resp.headers)
        if rl.exhausted_by is not None and rl.exhausted_by.remaining == 0:  # its last answer: new window
            rl.exhausted_by, rl.used, rl.reset = None, 0, rl.reset + RATE_WINDOW
        return headers

    @staticmethod
    def _write(
        h: _Handler, status: int, headers: dict[str, str], payload: bytes, cut_to: bytes | None = None
    ) -> None:
        """Answer; with ``cut_to``, announce the whole payload, send only ``cut_to`` and hang up."""
        try:
            h.send_response(status)
            for name, value in headers.items():
                h.send_header(name, value)
            if status != 204 and status != 304:
                h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            if payload and status not in (204, 304) and h.command != "HEAD":
                h.wfile.write(payload if cut_to is None else cut_to)
            h.wfile.flush()
            if cut_to is not None:
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            h.close_connection = True
