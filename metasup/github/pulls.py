"""metasup's pull requests: list them as :class:`PullState` values, push their branches, open,
refresh, merge and close them."""

from __future__ import annotations

from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from metasup.github.client import GitHubClient, NotPermitted, error_message, same_body, translate_error
from metasup.github.git import commit_files, loaded_ref
from metasup.rolling.plan import PullState

PR_CREATION_SETTING = (
    "GitHub Actions is not permitted to create pull requests in this repository. Enable "
    "Settings → Actions → General → Workflow permissions → "
    "“Allow GitHub Actions to create and approve pull requests”, or pass a PAT as github-token."
)


def list_pull_states(gh: GitHubClient, repository: str, prefixes: tuple[str, ...]) -> list[PullState]:
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
        raise translate_error(exc, "pull request list") from None
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
    gh: GitHubClient, repository: str, branch: str, base_sha: str, path: str, text: str, message: str
) -> str:
    """One commit on ``base_sha`` changing ``path``; the branch is created or moved onto it."""
    try:
        sha = commit_files(gh, repository, base_sha, {path: text}, message)
        repo = gh.get_repo(repository)
        try:
            loaded_ref(repo, branch).edit(sha, force=True)
        except GithubException as exc:
            if exc.status != 404:
                raise
            repo.create_git_ref(f"refs/heads/{branch}", sha)
    except GithubException as exc:
        raise translate_error(exc, f"branch {branch}") from None
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
    gh: GitHubClient, repository: str, branch: str, base: str, title: str, body: str, label: str
) -> tuple[int, str]:
    """Open a PR with ``label``; returns its number and URL."""
    try:
        repo = gh.get_repo(repository)
        pull = repo.create_pull(base=base, head=branch, title=title, body=body)
        ensure_label(repo, label, "5319e7", "Opened by metasup")
        pull.add_to_labels(label)
    except GithubException as exc:
        if exc.status == 403 and "not permitted to create" in error_message(exc).lower():
            raise NotPermitted(PR_CREATION_SETTING) from None
        raise translate_error(exc, f"pull request for {branch}") from None
    return pull.number, pull.html_url


def update_pull_body(gh: GitHubClient, repository: str, number: int, body: str) -> bool:
    """Refresh a PR's body; False (no write) when it is already current."""
    try:
        pull = gh.get_repo(repository).get_pull(number)
        if same_body(pull.body or "", body):
            return False
        pull.edit(body=body)
    except GithubException as exc:
        raise translate_error(exc, f"pull request #{number}") from None
    return True


def merge_pull(gh: GitHubClient, repository: str, number: int, message: str) -> bool:
    try:
        pull = gh.get_repo(repository).get_pull(number)
        status = pull.merge(commit_message=message, merge_method="squash")
    except GithubException as exc:
        if exc.status in (405, 409):  # not mergeable (conflict, checks) or head moved: try next run
            return False
        raise translate_error(exc, f"merge of #{number}") from None
    return bool(status.merged)


def close_pull(gh: GitHubClient, repository: str, number: int, comment: str, label: str) -> None:
    """Label (so the close is never read as a human veto), explain, close."""
    try:
        repo = gh.get_repo(repository)
        pull = repo.get_pull(number)
        ensure_label(repo, label, "cccccc", "Closed by metasup, not vetoed by a person")
        pull.add_to_labels(label)
        pull.create_issue_comment(comment)
        pull.edit(state="closed")
    except GithubException as exc:
        raise translate_error(exc, f"pull request #{number}") from None
