"""The state branch of a rolling run: which files it holds, reading them, claiming an e-mail
period, and writing snapshot, allocation, audit ledger and claims back in one commit.

Every write is a compare-and-swap on the branch head (``github.write_state``): of two racing runs
one wins; the other re-reads and re-applies (:func:`save_state`) or steps back
(:func:`claim_email_period`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from metasup.github import (
    GitHubClient,
    GitHubIOError,
    StateMoved,
    commit_messages,
    read_state,
    write_state,
)
from metasup.model.errors import MetasupError
from metasup.model.review import Review
from metasup.rolling.audit_anchor import LedgerAnchor, anchors_in_message, check_anchors, head_anchor
from metasup.rolling.audit_ledger import (
    LedgerCorrupt,
    NewEntry,
    append_new,
    format_ts,
    ledger_body,
    parse_ledger,
    serialize,
)
from metasup.rolling.context import RollingContext
from metasup.rolling.ownership import RecordedHeads
from metasup.rolling.state_layout import (
    ALLOCATION_PATH,
    AUDIT_LEDGER_PATH,
    EMAIL_CLAIMS_PATH,
    PULLS_PATH,
    STATE_BRANCH,
    snapshot_path,
)

STATE_WRITE_ATTEMPTS = 20
"""Compare-and-swap attempts of one state write. Two runs at once write the state branch many times
each (a recorded head per re-cut branch, a claim, the save): a run that loses every race while the
other writes a burst re-reads and retries. It was 5; a CI run of two runs at once once ended in an
exit 1 that this may explain (not proven: ``docs/decisions.md``)."""
ANCHOR_HISTORY_COMMITS = 40
"""How far back (first parents) a run reads ``Ledger-Head`` anchors: a matching anchor vouches for
every record before it, so the newest few genuine ones carry the whole guarantee."""
STATE_MESSAGE = "metasup: update supervision state"


class StateDamaged(MetasupError):
    """A state-branch file no longer reads as what metasup wrote there: edited or damaged.

    The run stops before it acts, and writes nothing: ``pulls.json`` decides which PRs metasup may
    merge and ``email-claims.json`` whether a period's e-mail went out, so a guess is not safe.
    (A damaged audit ledger is a CRITICAL finding instead, through ``LedgerCorrupt``.)
    """


def _damaged(path: str, problem: object, if_deleted: str) -> StateDamaged:
    return StateDamaged(
        f"state branch {STATE_BRANCH}: {path} is not what metasup writes ({problem}); it was edited"
        f" or damaged. Restore it from the branch's history, or delete it ({if_deleted})"
    )


def recorded_heads(text: str | None) -> RecordedHeads:
    """``pulls.json``: the commits metasup wrote on each of its PR branches."""
    try:
        return RecordedHeads.parse(text)
    except ValueError as exc:
        raise _damaged(
            PULLS_PATH, exc, "metasup then merges none of its earlier PRs until it pushes to them again"
        ) from None


def email_claims(text: str | None) -> dict[str, str]:
    """``email-claims.json``: claimed e-mail periods, period key → the run that claimed it."""
    if text is None:
        return {}
    try:
        claims = json.loads(text)
    except ValueError as exc:
        raise _damaged(EMAIL_CLAIMS_PATH, exc, "metasup may then send the current e-mail again") from None
    if not isinstance(claims, dict) or not all(
        isinstance(key, str) and isinstance(run, str) for key, run in claims.items()
    ):
        problem = "expected {period: run id}"
        raise _damaged(EMAIL_CLAIMS_PATH, problem, "metasup may then send the current e-mail again")
    return claims


@dataclass(frozen=True)
class StateFiles:
    """The state branch as one run read it: its head and the files a run needs, checked."""

    head: str | None
    audit_ledger_text: str
    snapshot_text: str | None
    claims: dict[str, str] = field(default_factory=dict)
    """Claimed e-mail periods: period key → the run that claimed it."""
    heads: RecordedHeads = field(default_factory=RecordedHeads)
    anchors: tuple[LedgerAnchor, ...] = ()


def read_state_files(gh: GitHubClient, repository: str, base_ref: str) -> StateFiles:
    """The audit ledger, ``base_ref``'s snapshot, the e-mail claims and metasup's recorded PR heads,
    read at one head, with the ``Ledger-Head`` anchors of the latest state commits."""
    paths = [AUDIT_LEDGER_PATH, snapshot_path(base_ref), EMAIL_CLAIMS_PATH, PULLS_PATH]
    state = read_state(gh, repository, STATE_BRANCH, paths)
    anchors: list[LedgerAnchor] = []
    if state.head is not None:
        for _, message in commit_messages(gh, repository, state.head, ANCHOR_HISTORY_COMMITS):
            anchors += anchors_in_message(message)
    return StateFiles(
        head=state.head,
        audit_ledger_text=state.files.get(AUDIT_LEDGER_PATH, ""),
        snapshot_text=state.files.get(snapshot_path(base_ref)),
        claims=email_claims(state.files.get(EMAIL_CLAIMS_PATH)),
        heads=recorded_heads(state.files.get(PULLS_PATH)),
        anchors=tuple(anchors),
    )


def read_recorded_heads(gh: GitHubClient, repository: str) -> RecordedHeads:
    """The commits metasup recorded, as the state branch holds them now (another run's included)."""
    return recorded_heads(read_state(gh, repository, STATE_BRANCH, [PULLS_PATH]).files.get(PULLS_PATH))


def record_head(gh: GitHubClient, repository: str, branch: str, sha: str) -> RecordedHeads:
    """Record on the state branch that metasup wrote commit ``sha`` on ``branch`` (its own PR's head),
    before any PR shows it; re-read and re-apply when another run moved the state branch."""
    for _ in range(STATE_WRITE_ATTEMPTS):
        state = read_state(gh, repository, STATE_BRANCH, [PULLS_PATH])
        heads = recorded_heads(state.files.get(PULLS_PATH)).with_head(branch, sha)
        message = f"metasup: record the head of {branch}\n\n{branch} {sha}\n"
        try:
            write_state(gh, repository, STATE_BRANCH, {PULLS_PATH: heads.to_text()}, state.head, message)
        except StateMoved:
            continue
        return heads
    raise GitHubIOError(
        f"state branch {STATE_BRANCH} kept moving; gave up after {STATE_WRITE_ATTEMPTS} tries"
    )


def claim_email_period(
    gh: GitHubClient,
    repository: str,
    claims: Mapping[str, str],
    period_key: str,
    run_id: str,
    state_head: str | None,
) -> bool:
    """Record that ``run_id`` sends ``period_key``; False when another run moved the branch first."""
    claimed = {**claims, period_key: run_id}
    try:
        write_state(
            gh,
            repository,
            STATE_BRANCH,
            {EMAIL_CLAIMS_PATH: json.dumps(claimed, indent=2, sort_keys=True)},
            state_head,
        )
    except StateMoved:
        return False
    return True


@dataclass(frozen=True)
class SavedState:
    """What :func:`save_state` did: nothing, for the ledger's ``problem``; else the ledger's new head."""

    problem: str | None = None
    ledger_head: LedgerAnchor | None = None
    commit: str | None = None  # the state commit written


def save_state(
    gh: GitHubClient,
    context: RollingContext,
    review: Review,
    entries: list[NewEntry],
    claim_changes: Mapping[str, str | None],
    anchors: tuple[LedgerAnchor, ...] = (),
) -> SavedState:
    """Snapshot, allocation, audit ledger and claims in one commit; on a moved ref, re-read and re-apply.

    ``claim_changes`` maps a period to its new holder, or to None to release the claim. Says the
    audit ledger's problem when the ledger on the branch is broken or no longer holds one of
    ``anchors`` (nothing is written then), else the ledger's new head, which the commit carries
    as its ``Ledger-Head``.
    """
    ts = format_ts(context.now)
    for _ in range(STATE_WRITE_ATTEMPTS):
        state = read_state(gh, context.repository, STATE_BRANCH, [AUDIT_LEDGER_PATH, EMAIL_CLAIMS_PATH])
        fresh_ledger = state.files.get(AUDIT_LEDGER_PATH, "")
        try:
            records = parse_ledger(fresh_ledger)
        except LedgerCorrupt as exc:
            return SavedState(problem=str(exc))
        cut = check_anchors(records, anchors)
        if cut is not None:
            return SavedState(problem=str(cut))
        added = append_new(records, entries, ts, context.run_id)
        audit_ledger = ledger_body(fresh_ledger) + serialize(added)  # blank lines at its end dropped
        anchor = head_anchor([*records, *added])
        message = STATE_MESSAGE if anchor is None else f"{STATE_MESSAGE}\n\n{anchor.trailer()}\n"
        fresh_claims = email_claims(state.files.get(EMAIL_CLAIMS_PATH))
        for key, holder in claim_changes.items():
            if holder is None:
                fresh_claims.pop(key, None)
            else:
                fresh_claims[key] = holder
        files = {
            snapshot_path(context.base_ref): review.to_json() + "\n",
            ALLOCATION_PATH: review.allocation.model_dump_json(indent=2) + "\n",
            AUDIT_LEDGER_PATH: audit_ledger,
            EMAIL_CLAIMS_PATH: json.dumps(fresh_claims, indent=2, sort_keys=True),
        }
        try:
            commit = write_state(gh, context.repository, STATE_BRANCH, files, state.head, message)
        except StateMoved:
            continue
        return SavedState(ledger_head=anchor, commit=commit)
    raise GitHubIOError(
        f"state branch {STATE_BRANCH} kept moving; gave up after {STATE_WRITE_ATTEMPTS} tries"
    )
