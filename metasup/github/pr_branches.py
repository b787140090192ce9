"""metasup's PR branches: point one at the commit metasup wrote, never over someone else's commit."""

from __future__ import annotations

from collections.abc import Callable

from github import GithubException
from github.Repository import Repository

from metasup.github.client import (
    GitHubClient,
    GitHubIOError,
    NotPermitted,
    error_message,
    translate_error,
    wait_budget,
)
from metasup.github.git import loaded_ref


def point_branch(
    gh: GitHubClient, repository: str, branch: str, sha: str, is_ours: Callable[[str], bool]
) -> None:
    """Create ``branch`` at commit ``sha``, or move it there (also when another run created it
    between our look and our create: two overlapping runs push the same change).

    A branch is moved only from a commit ``is_ours`` accepts (one metasup recorded): a head someone
    else pushed — to a branch without a PR, or during this run — raises :class:`BranchNotOurs`
    and stays where it is. The check and the move are two requests; GitHub has no compare-and-swap
    for a forced ref update, so a push landing between them is the one that is overwritten.
    """
    try:
        repo = gh.get_repo(repository)
        try:
            _move_own_branch(repo, branch, sha, is_ours)
        except GithubException as exc:
            if exc.status != 404:
                raise
            try:
                repo.create_git_ref(f"refs/heads/{branch}", sha)
            except GithubException as create_exc:
                if create_exc.status != 422:
                    raise
                _move_branch_created_meanwhile(repo, branch, sha, error_message(create_exc), is_ours)
    except GithubException as exc:
        raise translate_error(exc, f"branch {branch}") from None


class BranchNotOurs(GitHubIOError):
    """The branch holds a commit metasup did not write: moving it would throw a person's work away."""

    def __init__(self, branch: str, head: str) -> None:
        self.branch, self.head = branch, head
        super().__init__(
            f"branch {branch} holds commit {head[:12]}, which metasup did not write; left alone "
            "(merge or delete that branch to let metasup use it)"
        )


def _move_own_branch(repo: Repository, branch: str, sha: str, is_ours: Callable[[str], bool]) -> None:
    ref = loaded_ref(repo, branch)
    head = ref.object.sha
    if head == sha:
        return
    if not is_ours(head):
        raise BranchNotOurs(branch, head)
    ref.edit(sha, force=True)


class BranchRefused(NotPermitted):
    """GitHub will not create the branch (e.g. a branch named like one of its folders exists):
    this PR's action fails, the run's others go on."""


def _move_branch_created_meanwhile(
    repo: Repository, branch: str, sha: str, refusal: str, is_ours: Callable[[str], bool]
) -> None:
    """After a 422 on creating ``branch``: "Reference already exists" — another run created it
    between our look and our create — so move it; if it still is not there, say why it cannot be."""
    try:
        _move_own_branch(repo, branch, sha, is_ours)
    except GithubException as exc:
        if exc.status != 404:
            raise
        folders = branch.split("/")[:-1]
        blocking = " or ".join("/".join(folders[: n + 1]) for n in range(len(folders)))
        raise BranchRefused(
            f"GitHub refused to create the branch {branch} ({refusal}). A branch named {blocking} "
            "would block it: git cannot hold both `a` and `a/b`. Rename or delete that branch."
        ) from None


HEAD_CATCH_UP_SECONDS = 15
"""How long a run waits for a PR to show the head metasup just pushed to its branch: GitHub updates
a PR after a push asynchronously, usually within seconds."""


def pull_shows_head(
    gh: GitHubClient, repository: str, number: int, sha: str, seconds: float = HEAD_CATCH_UP_SECONDS
) -> bool:
    """Whether PR ``number`` shows ``sha`` as its head within ``seconds`` (asked once a second,
    the waits taken from the client's wait budget).

    Merging right after a push met the PR's previous head — metasup's own older commit — and read
    it as a person's push (an audit: both re-cut PRs held for good)."""
    repo = gh.get_repo(repository)
    budget, waited = wait_budget(gh), 0.0
    while True:
        try:
            if repo.get_pull(number).head.sha == sha:
                return True
        except GithubException as exc:
            raise translate_error(exc, f"pull request #{number}") from None
        if waited >= seconds or not budget.take(1.0):
            return False
        budget.sleep(1.0)
        waited += 1.0
