"""Which metasup-named pull requests are metasup's (SPEC §5 "Acting safely"), decided from plain values.

A PR on a ``metasup/{promote,demote,retire}/<name>`` branch is metasup's only when it was opened by
the token's exact login, from the base repository itself, into the base branch (a PR retargeted
elsewhere would merge there), and its head is a commit metasup wrote
on that branch (recorded on the state branch, ``pulls.json``: branch → the commits metasup pushed
there, newest last). Everything else — a fork, another person, a head someone moved — is never
merged, closed, labelled or read as a veto: the plan never sees it.

- *moved*: ours by author and repository, but its head is no commit metasup wrote: a person pushed.
  An open one is held (commented on once, ``promotion_held``/``demotion_held``) and is a person's to
  merge; metasup never pushes to its branch again while it is open.
- *foreign*: every other open PR with such a branch name is named in a warning. One whose head
  lives in the base repository also *blocks* its branch: pushing there would overwrite a person's work.
- *closed or merged*: a closed PR is metasup's proposal when it is ours by author, repository and
  base, whatever its head: a person who pushed to it (it was held) and then closed it unmerged vetoed
  it, and one who merged it promoted (or demoted) the agent. Nothing is done to a closed PR; it only
  reaches the ledger and the cooldown.
- *who closed it*: ``metasup-withdrawn`` marks metasup's own close (a withdrawal, no veto) only when
  GitHub names metasup as the closer (``closed_by``, read for the newest PR of each branch). A person
  who closes a PR carrying the label — one metasup withdrew and they reopened, or one they labelled
  by hand — vetoed it: in ``ours`` that PR is shown without the label.

Pure: the facts come from ``metasup.github`` (``PullFacts`` satisfies :class:`PullLike`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from metasup.model.pulls import PullState, account_name
from metasup.rolling.lifecycle import WITHDRAWN_LABEL

MAX_RECORDED_PER_BRANCH = 50


class PullLike(Protocol):
    """What ownership needs to know of a PR (``metasup.github.PullFacts`` is one)."""

    @property
    def state(self) -> PullState: ...

    @property
    def author_login(self) -> str | None: ...

    @property
    def head_repo_full_name(self) -> str | None: ...

    @property
    def base_repo_full_name(self) -> str: ...

    @property
    def head_sha(self) -> str: ...

    @property
    def base_ref(self) -> str: ...

    @property
    def closed_by(self) -> str | None: ...

    def is_metasups(self, login: str, recorded_head_sha: str | None, base_ref: str) -> bool: ...


@dataclass(frozen=True)
class RecordedHeads:
    """``pulls.json``: for each branch, the head commits metasup pushed there (newest last)."""

    by_branch: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> RecordedHeads:
        """The heads of ``pulls.json`` (none when it is absent); ``ValueError`` when it is not
        ``{branch: [sha, …]}``: a guess could let metasup act on a commit it did not write."""
        if text is None:
            return cls()
        raw = json.loads(text)
        if not isinstance(raw, dict) or not all(
            isinstance(shas, list) and all(isinstance(sha, str) for sha in shas) for shas in raw.values()
        ):
            raise ValueError("expected {branch: [commit sha, …]}")
        return cls({str(branch): tuple(shas) for branch, shas in raw.items()})

    def to_text(self) -> str:
        return json.dumps({b: list(s) for b, s in sorted(self.by_branch.items())}, indent=2) + "\n"

    def with_head(self, branch: str, sha: str) -> RecordedHeads:
        """These heads plus ``sha`` on ``branch`` (kept once, newest last, at most 50 per branch)."""
        shas = (*tuple(s for s in self.by_branch.get(branch, ()) if s != sha), sha)
        return RecordedHeads({**self.by_branch, branch: shas[-MAX_RECORDED_PER_BRANCH:]})

    def recorded_for(self, branch: str, head_sha: str) -> str | None:
        """The recorded commit to compare ``head_sha`` with: itself when metasup wrote it, else the
        newest one metasup wrote on ``branch`` (None: metasup never pushed there)."""
        shas = self.by_branch.get(branch, ())
        if head_sha in shas:
            return head_sha
        return shas[-1] if shas else None


@dataclass(frozen=True)
class Ownership:
    ours: list[PullState] = field(default_factory=list)
    moved: list[PullState] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocked: frozenset[str] = frozenset()
    head_of: dict[int, str] = field(default_factory=dict)  # metasup's PRs: number → head commit


def classify(pulls: Iterable[PullLike], login: str, heads: RecordedHeads, base_ref: str) -> Ownership:
    """Split PRs into metasup's, metasup's with a moved head, and the others (see the module docstring).

    ``base_ref`` is the branch metasup opens its PRs against: one retargeted elsewhere is not ours."""
    ours: list[PullState] = []
    moved: list[PullState] = []
    warnings: list[str] = []
    blocked: set[str] = set()
    head_of: dict[int, str] = {}
    for pull in pulls:
        state = pull.state
        recorded = heads.recorded_for(state.branch, pull.head_sha)
        if pull.is_metasups(login, recorded, base_ref):
            ours.append(_closed_as_shown(state, pull.closed_by, login))
            head_of[state.number] = pull.head_sha
            continue
        same_repo = pull.head_repo_full_name == pull.base_repo_full_name
        proposed = (
            same_repo and pull.author_login == login and recorded is not None and pull.base_ref == base_ref
        )
        if state.state != "open":
            if proposed:  # held (a person pushed), then closed or merged by a person
                ours.append(_closed_as_shown(state, pull.closed_by, login))
            continue  # a closed PR that is not metasup's is no veto and no record: ignored
        if same_repo:
            blocked.add(state.branch)
        if proposed:
            moved.append(state)
            continue
        warnings.append(
            f"PR #{state.number} ({state.branch}) is not metasup's: {_why(pull, login, recorded, base_ref)}"
        )
    return Ownership(ours, moved, warnings, frozenset(blocked), head_of)


def _closed_as_shown(state: PullState, closed_by: str | None, login: str) -> PullState:
    """``state`` with ``metasup-withdrawn`` as GitHub's ``closed_by`` says: without it when someone
    else closed the PR unmerged (the label says metasup withdrew it, but a person's close is a
    veto), with it when metasup did (a person who removed the label from metasup's closed PR made
    it look like their veto: 30 days without a new PR, and a veto in the LP log nobody made; found
    by an audit). With no ``closed_by`` (an older PR of its branch, not asked), the label decides."""
    if state.merged or state.state != "closed" or closed_by is None:
        return state
    if closed_by == login:
        return replace(state, labels=state.labels | {WITHDRAWN_LABEL})
    return replace(state, labels=state.labels - {WITHDRAWN_LABEL})


def _why(pull: PullLike, login: str, recorded: str | None, base_ref: str) -> str:
    if pull.head_repo_full_name != pull.base_repo_full_name:
        origin = pull.head_repo_full_name or "a deleted fork"
        return f"its head is in {origin}, not {pull.base_repo_full_name}; left alone"
    if pull.author_login != login:
        return f"opened by {account_name(pull.author_login)}, not {login}; left alone"
    if pull.base_ref != base_ref:
        return f"it now targets {pull.base_ref}, not {base_ref}; left alone (metasup merges only into that)"
    return "metasup recorded no commit of its own on that branch; left alone (close it to let metasup reopen)"
