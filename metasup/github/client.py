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

from github import Auth, Github, GithubException, GithubRetry, InputGitTreeElement
from github.GitRef import GitRef
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest
from github.Repository import Repository

from metasup.rolling.plan import PullState

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
        lazy=True,
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
        issue = gh.get_repo(repository).get_issue(number)
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


# --- files and the state branch ---------------------------------------------------------------


class StateMoved(GitHubIOError):
    """The state branch moved under us (another run wrote first): re-read, re-apply, retry."""


@dataclass(frozen=True)
class StateSnapshot:
    head: str | None
    files: dict[str, str]


def _loaded_ref(repo: Repository, branch: str) -> GitRef:
    """The branch's ref, fetched: a lazy GitRef keeps the ``/git/ref/`` URL, which GitHub's
    PATCH does not serve (it wants ``/git/refs/``); loading it takes the URL GitHub returns."""
    ref = repo.get_git_ref(f"heads/{branch}")
    _ = ref.object.sha
    return ref


def branch_head(gh: Github, repository: str, branch: str) -> str | None:
    try:
        sha: str = gh.get_repo(repository).get_git_ref(f"heads/{branch}").object.sha
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise _translate(exc, f"branch {branch}") from None
    return sha


def read_text(gh: Github, repository: str, path: str, ref: str) -> str | None:
    """A file's text at ``ref``; None when the file (or the ref) does not exist."""
    try:
        content = gh.get_repo(repository).get_contents(path, ref=ref)
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise _translate(exc, f"file {path}@{ref}") from None
    if isinstance(content, list):
        return None
    text: str = content.decoded_content.decode("utf-8")
    return text


def read_state(gh: Github, repository: str, branch: str, paths: Iterable[str]) -> StateSnapshot:
    """The state branch's head and the files of ``paths`` that exist there (read at that head)."""
    head = branch_head(gh, repository, branch)
    if head is None:
        return StateSnapshot(None, {})
    files = {path: text for path in paths if (text := read_text(gh, repository, path, head)) is not None}
    return StateSnapshot(head, files)


def commit_files(gh: Github, repository: str, parent: str | None, files: dict[str, str], message: str) -> str:
    """A commit with ``files`` changed on top of ``parent`` (an orphan when None), via the Git data API."""
    repo = gh.get_repo(repository)
    elements = [
        InputGitTreeElement(path, "100644", "blob", sha=repo.create_git_blob(text, "utf-8").sha)
        for path, text in files.items()
    ]
    if parent is None:
        tree = repo.create_git_tree(elements)
        commit = repo.create_git_commit(message, tree, [])
    else:
        parent_commit = repo.get_git_commit(parent)
        tree = repo.create_git_tree(elements, base_tree=parent_commit.tree)
        commit = repo.create_git_commit(message, tree, [parent_commit])
    sha: str = commit.sha
    return sha


def write_state(
    gh: Github, repository: str, branch: str, files: dict[str, str], expected_head: str | None
) -> str:
    """Commit ``files`` to the state branch iff it is still at ``expected_head``; else ``StateMoved``.

    The ref update is a compare-and-swap: without ``force`` GitHub refuses a non-fast-forward,
    and creating a ref that exists is refused too, so two racing runs cannot both win.
    """
    try:
        sha = commit_files(gh, repository, expected_head, files, "metasup: update supervision state")
        repo = gh.get_repo(repository)
        if expected_head is None:
            repo.create_git_ref(f"refs/heads/{branch}", sha)
        else:
            _loaded_ref(repo, branch).edit(sha, force=False)
    except GithubException as exc:
        if exc.status in (409, 422):
            raise StateMoved(f"state branch {branch} moved: {_message(exc)}") from None
        raise _state_error(exc, branch) from None
    return sha


def _state_error(exc: GithubException, branch: str) -> GitHubIOError:
    if exc.status in (401, 403, 404):
        return NotPermitted(
            f"cannot write the state branch {branch}: GitHub answered {exc.status} ({_message(exc)}). "
            "The workflow needs `permissions: contents: write`, and the branch must not be protected."
        )
    return _translate(exc, f"state branch {branch}")


# --- pull requests ----------------------------------------------------------------------------

PR_CREATION_SETTING = (
    "GitHub Actions is not permitted to create pull requests in this repository. Enable "
    "Settings → Actions → General → Workflow permissions → "
    "“Allow GitHub Actions to create and approve pull requests”, or pass a PAT as github-token."
)


def list_pull_states(gh: Github, repository: str, prefixes: tuple[str, ...]) -> list[PullState]:
    """Every PR (open and closed) whose head branch starts with one of ``prefixes``."""
    try:
        repo = gh.get_repo(repository)
        states = []
        for pull in repo.get_pulls(state="all"):
            branch = pull.head.ref
            if not branch.startswith(prefixes):
                continue
            open_ = pull.state == "open"
            states.append(
                PullState(
                    number=pull.number,
                    branch=branch,
                    state="open" if open_ else "closed",
                    merged=bool(pull.merged_at),
                    created_at=pull.created_at,
                    closed_at=pull.closed_at,
                    labels=frozenset(label.name for label in pull.labels),
                    changes_requested=open_ and _changes_requested(pull),
                    branch_parent=_first_parent(repo, pull.head.sha) if open_ else None,
                    url=pull.html_url,
                )
            )
    except GithubException as exc:
        raise _translate(exc, "pull request list") from None
    return states


def _changes_requested(pull: PullRequest) -> bool:
    """True when some reviewer's latest decisive review requests changes."""
    latest: dict[str, str] = {}
    for review in pull.get_reviews():
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.user.login if review.user else ""] = review.state
    return "CHANGES_REQUESTED" in latest.values()


def _first_parent(repo: Repository, sha: str) -> str | None:
    parents = repo.get_git_commit(sha).parents
    return parents[0].sha if parents else None


def push_branch(
    gh: Github, repository: str, branch: str, base_sha: str, path: str, text: str, message: str
) -> str:
    """One commit on ``base_sha`` changing ``path``; the branch is created or moved onto it."""
    try:
        sha = commit_files(gh, repository, base_sha, {path: text}, message)
        repo = gh.get_repo(repository)
        try:
            _loaded_ref(repo, branch).edit(sha, force=True)
        except GithubException as exc:
            if exc.status != 404:
                raise
            repo.create_git_ref(f"refs/heads/{branch}", sha)
    except GithubException as exc:
        raise _translate(exc, f"branch {branch}") from None
    return sha


def ensure_label(repo: Repository, name: str, color: str, description: str) -> None:
    try:
        repo.get_label(name)
    except GithubException as exc:
        if exc.status != 404:
            raise
        try:
            repo.create_label(name, color, description)
        except GithubException as create_exc:
            if create_exc.status != 422:  # created concurrently
                raise


def open_pull(
    gh: Github, repository: str, branch: str, base: str, title: str, body: str, label: str
) -> tuple[int, str]:
    """Open a PR with ``label``; returns its number and URL."""
    try:
        repo = gh.get_repo(repository)
        pull = repo.create_pull(base=base, head=branch, title=title, body=body)
        ensure_label(repo, label, "5319e7", "Opened by metasup")
        pull.add_to_labels(label)
    except GithubException as exc:
        if exc.status == 403 and "not permitted to create" in _message(exc).lower():
            raise NotPermitted(PR_CREATION_SETTING) from None
        raise _translate(exc, f"pull request for {branch}") from None
    return pull.number, pull.html_url


def update_pull_body(gh: Github, repository: str, number: int, body: str) -> bool:
    """Refresh a PR's body; False (no write) when it is already current."""
    try:
        pull = gh.get_repo(repository).get_pull(number)
        if _normalized(pull.body or "") == _normalized(body):
            return False
        pull.edit(body=body)
    except GithubException as exc:
        raise _translate(exc, f"pull request #{number}") from None
    return True


def merge_pull(gh: Github, repository: str, number: int, message: str) -> bool:
    try:
        pull = gh.get_repo(repository).get_pull(number)
        status = pull.merge(commit_message=message, merge_method="squash")
    except GithubException as exc:
        if exc.status in (405, 409):  # not mergeable (conflict, checks) or head moved: try next run
            return False
        raise _translate(exc, f"merge of #{number}") from None
    return bool(status.merged)


def close_pull(gh: Github, repository: str, number: int, comment: str, label: str) -> None:
    """Label (so the close is never read as a human veto), explain, close."""
    try:
        repo = gh.get_repo(repository)
        pull = repo.get_pull(number)
        ensure_label(repo, label, "cccccc", "Closed by metasup, not vetoed by a person")
        pull.add_to_labels(label)
        pull.create_issue_comment(comment)
        pull.edit(state="closed")
    except GithubException as exc:
        raise _translate(exc, f"pull request #{number}") from None


def upsert_issue(gh: Github, repository: str, title: str, body: str, marker: str) -> tuple[int, str]:
    """Keep one open issue of ours with ``body`` (found by marker and author); returns number, action."""
    try:
        repo = gh.get_repo(repository)
        login = own_login(gh)
        for issue in repo.get_issues(state="open"):
            if issue.pull_request is not None or not (issue.body or "").startswith(marker):
                continue
            if (issue.user.login == login) if login is not None else issue.user.type == "Bot":
                if _normalized(issue.body or "") == _normalized(body):
                    return issue.number, "unchanged"
                issue.edit(title=title, body=body)
                return issue.number, "updated"
        created = repo.create_issue(title=title, body=body)
    except GithubException as exc:
        raise _translate(exc, "dashboard issue") from None
    return created.number, "created"
