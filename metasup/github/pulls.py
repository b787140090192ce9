"""metasup's pull requests: list them (as :class:`PullState` values, and with the facts that show
whose they are), push their branches, open, refresh, merge and close them.

What is metasup's (SPEC §5 "Acting safely") is decided from :class:`PullFacts`: opened by our exact
login, head repository = base repository, base branch = the one it was opened against, head
commit = the one metasup recorded. Merging sends that commit as ``sha``, so GitHub itself refuses to
merge a head someone moved (:class:`HeadMoved`); a branch is moved only from a recorded commit
(:func:`metasup.github.pr_branches.point_branch`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from github import GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from metasup.github.client import (
    CreateUnconfirmed,
    GitHubClient,
    GitHubIOError,
    NotMergeable,
    NotPermitted,
    confirm_written_as,
    error_message,
    fit_body,
    fit_title,
    login_of,
    own_login,
    same_body,
    translate_error,
    wait_budget,
)
from metasup.github.git import commit_files
from metasup.model.pulls import PullState, account_name

PR_CREATION_SETTING = (
    "GitHub Actions is not permitted to create pull requests in this repository. Enable "
    "Settings → Actions → General → Workflow permissions → "
    "“Allow GitHub Actions to create and approve pull requests”, or pass a PAT as github-token."
)


class HeadMoved(GitHubIOError):
    """The PR's head is not the commit metasup recorded (someone pushed): never auto-merged."""

    def __init__(self, number: int, expected: str, actual: str | None) -> None:
        self.number, self.expected, self.actual = number, expected, actual
        super().__init__(
            f"PR #{number}: head moved from {expected[:12]} to {(actual or 'an unknown commit')[:12]}; "
            "not merged, a human must review and merge it"
        )


class PullRetargeted(GitHubIOError):
    """The PR now targets another base branch than the one metasup opened it against."""

    def __init__(self, number: int, expected: str, actual: str) -> None:
        self.number, self.expected, self.actual = number, expected, actual
        super().__init__(f"pull request #{number} now targets {actual}, not {expected}")


class MergedMeanwhile(GitHubIOError):
    """A person merged the PR between the run's listing and its own merge: theirs to record."""

    def __init__(self, number: int, login: str | None) -> None:
        self.number, self.login = number, login
        super().__init__(f"PR #{number} was merged by {login or 'someone else'} while metasup was merging it")


class PullCreationNotPermitted(NotPermitted):
    """The repository does not let GitHub Actions create pull requests."""


@dataclass(frozen=True)
class PullFacts:
    """A PR's :class:`PullState` plus who opened it and where its head lives."""

    state: PullState
    author_login: str | None  # None: a deleted account (``user: null``)
    author_type: str | None
    head_repo_full_name: str | None  # None when the head repository (a fork) was deleted
    base_repo_full_name: str
    head_sha: str
    base_ref: str
    # Who closed it, for the newest PR of each branch when that one is closed unmerged (else None):
    # a close metasup made itself is a withdrawal, anyone else's a veto (``rolling.ownership``).
    closed_by: str | None = None

    def is_metasups(self, login: str, recorded_head_sha: str | None, base_ref: str) -> bool:
        """metasup's PR: opened by exactly ``login``, from the base repository itself, into the base
        branch metasup opened it against, and its head is the commit metasup recorded (nothing
        recorded → not provably ours). A PR someone retargeted would merge elsewhere: not ours."""
        return (
            self.author_login == login
            and self.head_repo_full_name == self.base_repo_full_name
            and self.base_ref == base_ref
            and recorded_head_sha is not None
            and self.head_sha == recorded_head_sha
        )


class PullAlreadyExists(GitHubIOError):
    """GitHub refused a PR: one is already open for the branch (``existing``; None if not found)."""

    def __init__(self, branch: str, existing: PullFacts | None) -> None:
        self.branch, self.existing = branch, existing
        where = f" (#{existing.state.number} by {account_name(existing.author_login)})" if existing else ""
        super().__init__(f"a pull request already exists for {branch}{where}")


@dataclass(frozen=True)
class OpenedPull:
    number: int
    url: str
    created: bool  # False: a PR for the branch was already open (``facts`` tells whose)
    facts: PullFacts | None = None


def list_pull_states(gh: GitHubClient, repository: str, prefixes: tuple[str, ...]) -> list[PullState]:
    """Every PR (open and closed) whose head branch starts with one of ``prefixes``."""
    return [facts.state for facts in list_pull_facts(gh, repository, prefixes)]


def list_pull_facts(gh: GitHubClient, repository: str, prefixes: tuple[str, ...]) -> list[PullFacts]:
    """Every PR (open and closed) whose head branch starts with one of ``prefixes``, forks and
    other authors included, with the facts that tell whether it is metasup's."""
    try:
        repo = gh.get_repo(repository)
        facts = [
            _facts(repo, pull) for pull in repo.get_pulls(state="all") if pull.head.ref.startswith(prefixes)
        ]
        return _with_closers(repo, facts)
    except GithubException as exc:
        raise translate_error(exc, "pull request list") from None


def _with_closers(repo: Repository, facts: list[PullFacts]) -> list[PullFacts]:
    """``facts`` with ``closed_by`` read for the newest PR of each branch (per head repository) when
    it is closed unmerged: one request each (the pull request list does not carry ``closed_by``).
    Only that one decides a veto's cooldown; an older PR's close was recorded when it was the newest."""
    newest: dict[tuple[str | None, str], PullFacts] = {}
    for fact in facts:
        key = (fact.head_repo_full_name, fact.state.branch)
        if key not in newest or fact.state.number > newest[key].state.number:
            newest[key] = fact
    closers = {
        fact.state.number: _closer(repo, fact.state.number)
        for fact in newest.values()
        if fact.state.state == "closed" and not fact.state.merged
    }
    return [replace(f, closed_by=closers[f.state.number]) if f.state.number in closers else f for f in facts]


def _closer(repo: Repository, number: int) -> str | None:
    """Who closed issue or PR ``number`` (GitHub's ``closed_by``; None when it does not say)."""
    return login_of(repo.get_issue(number).closed_by)


def _facts(repo: Repository, pull: PullRequest) -> PullFacts:
    open_ = pull.state == "open"
    state = PullState(
        number=pull.number,
        branch=pull.head.ref,
        state="open" if open_ else "closed",
        merged=bool(pull.merged_at),
        created_at=pull.created_at,
        closed_at=pull.closed_at,
        labels=frozenset(label.name for label in pull.labels),
        changes_requested=open_ and _changes_requested(pull),
        branch_parent=_first_parent(repo, pull.head.sha) if open_ else None,
        url=pull.html_url,
    )
    head_repo = pull.head.repo
    return PullFacts(
        state=state,
        author_login=login_of(pull.user),
        author_type=pull.user.type if pull.user is not None else None,
        head_repo_full_name=head_repo.full_name if head_repo is not None else None,
        base_repo_full_name=pull.base.repo.full_name,
        head_sha=pull.head.sha,
        base_ref=pull.base.ref,
    )


def _changes_requested(pull: PullRequest) -> bool:
    """True when some reviewer's latest decisive review requests changes."""
    latest: dict[str, str] = {}
    for review in pull.get_reviews():
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[login_of(review.user) or f"deleted#{review.id}"] = review.state
    return "CHANGES_REQUESTED" in latest.values()


def _first_parent(repo: Repository, sha: str) -> str | None:
    parents = repo.get_git_commit(sha).parents
    return parents[0].sha if parents else None


def commit_change(
    gh: GitHubClient, repository: str, base_sha: str, path: str, text: str, message: str
) -> str:
    """One commit on ``base_sha`` changing ``path``, on no branch yet: its sha can be recorded as
    metasup's before any branch (or PR) shows it (see :func:`metasup.github.pr_branches.point_branch`)."""
    try:
        return commit_files(gh, repository, base_sha, {path: text}, message)
    except GithubException as exc:
        raise translate_error(exc, f"commit changing {path}") from None


def ensure_label(repo: Repository, name: str, color: str, description: str) -> None:
    """Create the label (colour, description) unless it exists. (``get_label`` is lazy in PyGithub
    2.x: reading an attribute is what sends the request.)"""
    try:
        _ = repo.get_label(name).color
    except GithubException as exc:
        if exc.status != 404:
            raise
        try:
            repo.create_label(name, color, description)
        except GithubException as create_exc:
            if create_exc.status != 422:  # created concurrently
                raise


def _open_pull_for(repo: Repository, branch: str) -> PullRequest | None:
    owner = repo.full_name.split("/")[0]
    for pull in repo.get_pulls(state="open", head=f"{owner}:{branch}"):
        if pull.head.ref == branch:
            return pull
    return None


def _already_exists(exc: GithubException) -> bool:
    """GitHub's 422 for a second PR of a head: ``errors: [{resource: PullRequest, code: custom,
    message: "A pull request already exists for owner:branch."}]`` (no structured code exists)."""
    if exc.status != 422 or not isinstance(exc.data, dict):
        return False
    errors = exc.data.get("errors") or []
    return any(
        isinstance(e, dict)
        and e.get("resource") == "PullRequest"
        and str(e.get("message", "")).startswith("A pull request already exists")
        for e in errors
    )


def open_or_find_pull(
    gh: GitHubClient, repository: str, branch: str, base: str, title: str, body: str, label: str
) -> OpenedPull:
    """Open a PR for ``branch`` with ``label``; when one is already open for it, return that one
    (``created=False``, labelled only if it is ours) so the caller can adopt it or name it."""
    title, body = fit_title(title), fit_body(body)
    try:
        repo = gh.get_repo(repository)
        login = own_login(gh)

        def create() -> tuple[PullRequest, bool]:
            return repo.create_pull(base=base, head=branch, title=title, body=body), True

        def landed() -> tuple[PullRequest, bool] | None:
            found = _open_pull_for(repo, branch)
            return (found, login_of(found.user) == login) if found is not None else None

        while True:
            try:
                pull, created = create()
                break
            except CreateUnconfirmed as failure:
                found = landed()
                if found is not None:
                    pull, created = found
                    break
                wait_budget(gh).wait_for(failure)
            except GithubException as exc:
                if not _already_exists(exc):
                    raise
                existing = _open_pull_for(repo, branch)
                if existing is None:
                    raise
                pull, created = existing, False
                break
        facts = _facts(repo, pull)
        if created:
            confirm_written_as(gh, pull.user.login, f"pull request #{pull.number}")
            _add_opened_label(repo, pull, label)
    except GithubException as exc:
        if exc.status == 403 and "not permitted to create" in error_message(exc).lower():
            raise PullCreationNotPermitted(PR_CREATION_SETTING) from None
        raise translate_error(exc, f"pull request for {branch}") from None
    return OpenedPull(pull.number, pull.html_url, created, facts)


def _add_opened_label(repo: Repository, pull: PullRequest, label: str) -> None:
    ensure_label(repo, label, "5319e7", "Opened by metasup")
    pull.add_to_labels(label)


def label_pull(gh: GitHubClient, repository: str, number: int, label: str) -> None:
    """Give one of metasup's PRs its lifecycle label (one a run that died after opening it lacks)."""
    try:
        repo = gh.get_repo(repository)
        _add_opened_label(repo, repo.get_pull(number), label)
    except GithubException as exc:
        raise translate_error(exc, f"pull request #{number}") from None


def open_pull(
    gh: GitHubClient, repository: str, branch: str, base: str, title: str, body: str, label: str
) -> tuple[int, str]:
    """Open a PR with ``label``; returns its number and URL. One already open for ``branch`` is
    :class:`PullAlreadyExists` (see :func:`open_or_find_pull` to adopt it)."""
    opened = open_or_find_pull(gh, repository, branch, base, title, body, label)
    if not opened.created:
        raise PullAlreadyExists(branch, opened.facts)
    return opened.number, opened.url


def update_pull_body(gh: GitHubClient, repository: str, number: int, body: str) -> bool:
    """Refresh a PR's body; False (no write) when it is already current."""
    body = fit_body(body)
    try:
        pull = gh.get_repo(repository).get_pull(number)
        if same_body(pull.body or "", body):
            return False
        pull.edit(body=body)
    except GithubException as exc:
        raise translate_error(exc, f"pull request #{number}") from None
    return True


def merge_pull(
    gh: GitHubClient,
    repository: str,
    number: int,
    message: str,
    *,
    expected_head_sha: str | None = None,
    expected_base: str | None = None,
) -> bool:
    """Squash-merge PR ``number``; :class:`NotMergeable` with GitHub's reason when it refuses (405).

    With ``expected_head_sha`` (the commit metasup wrote) the merge sends it as ``sha``: a head
    that moved — before the call, or racing it (GitHub's 409) — raises :class:`HeadMoved` and
    nothing is merged. With ``expected_base``, a PR someone retargeted to another branch since it
    was listed raises :class:`PullRetargeted`: merging would land the change there. A person's
    merge landing first raises :class:`MergedMeanwhile` (found by an audit: it was recorded as
    ``merged_by: metasup``).
    """
    try:
        pull = gh.get_repo(repository).get_pull(number)
        if expected_head_sha is not None and pull.head.sha != expected_head_sha:
            raise HeadMoved(number, expected_head_sha, pull.head.sha)
        if expected_base is not None and pull.base.ref != expected_base:
            raise PullRetargeted(number, expected_base, pull.base.ref)
        try:
            if expected_head_sha is None:
                status = pull.merge(commit_message=message, merge_method="squash")
            else:
                status = pull.merge(commit_message=message, merge_method="squash", sha=expected_head_sha)
        except GithubException as exc:
            if exc.status == 409 and expected_head_sha is not None:
                actual = gh.get_repo(repository).get_pull(number).head.sha
                raise HeadMoved(number, expected_head_sha, actual) from None
            if exc.status == 405:  # not mergeable — or merged: by our own earlier, retried attempt?
                fresh = gh.get_repo(repository).get_pull(number)
                if not fresh.merged or fresh.head.sha != (expected_head_sha or fresh.head.sha):
                    raise NotMergeable(
                        f"PR #{number} not merged: GitHub answered 405 ({error_message(exc)})"
                    ) from None
                merger = login_of(fresh.merged_by)
                if merger != own_login(gh):  # a person's merge racing ours: not recorded as metasup's
                    raise MergedMeanwhile(number, merger) from None
                return True
            if exc.status == 409:  # head moved (no sha given): try next run
                return False
            raise
    except GithubException as exc:
        raise translate_error(exc, f"merge of #{number}") from None
    return bool(status.merged)


def merger_login(gh: GitHubClient, repository: str, number: int) -> str | None:
    """Who merged PR ``number`` (None when GitHub does not say: not merged, or a deleted account).
    One request: the list of pull requests does not carry ``merged_by``."""
    try:
        user = gh.get_repo(repository).get_pull(number).merged_by
    except GithubException as exc:
        raise translate_error(exc, f"pull request #{number}") from None
    return login_of(user)


def close_pull(gh: GitHubClient, repository: str, number: int, comment: str, label: str) -> None:
    """Label (so the close is never read as a human veto), explain, close.

    The explanation is posted once: a run that died between it and the close left it on the PR,
    and the next run posted it again (found by an audit); an own comment with the same text is
    the one to keep."""
    comment = fit_body(comment)
    try:
        repo = gh.get_repo(repository)
        pull = repo.get_pull(number)
        login = own_login(gh)
        ensure_label(repo, label, "cccccc", "Closed by metasup, not vetoed by a person")
        pull.add_to_labels(label)
        explained = any(login_of(c.user) == login and c.body == comment for c in pull.get_issue_comments())
        while not explained:
            try:
                pull.create_issue_comment(comment)
                break
            except CreateUnconfirmed as failure:
                explained = any(
                    login_of(c.user) == login and c.body == comment for c in pull.get_issue_comments()
                )
                if not explained:
                    wait_budget(gh).wait_for(failure)
        pull.edit(state="closed")
    except GithubException as exc:
        raise translate_error(exc, f"pull request #{number}") from None
