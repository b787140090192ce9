"""What a workflow event asks of the action (SPEC §5 "Modes"): review, rolling or nothing, which
pull request, against which base. Pure: the event's payload in, values out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from metasup.action_settings import ModeInput

Mode = Literal["review", "rolling", "skip"]
REVIEW_EVENTS = frozenset({"pull_request", "pull_request_target"})
ROLLING_EVENTS = frozenset({"schedule", "workflow_dispatch"})


def select_mode(
    event_name: str, mode_input: ModeInput, event: Mapping[str, Any], base_ref: str, repository: str
) -> Mode:
    """Which half of metasup this event asks for (SPEC §5 "Modes")."""
    if mode_input != "auto":
        return mode_input
    if event_name in REVIEW_EVENTS:
        return "review"
    if event_name in ROLLING_EVENTS:
        return "rolling"
    if event_name == "push":
        return "rolling" if event.get("ref") == f"refs/heads/{base_ref}" else "skip"
    if event_name == "workflow_run":
        return "review" if pull_request_number(event, repository) is not None else "skip"
    return "skip"


def pull_request_number(event: Mapping[str, Any], repository: str) -> int | None:
    """The number of the PR of ``repository`` (``GITHUB_REPOSITORY``) an event is about."""
    pull = event_pull(event, repository)
    return None if pull is None else int(pull["number"])


def event_pull(event: Mapping[str, Any], repository: str) -> Mapping[str, Any] | None:
    """The PR of ``repository`` an event is about, as the payload has it (``number``, ``base``, …):
    ``pull_request`` events, or a ``workflow_run`` triggered by one.

    A ``workflow_run``'s ``pull_requests`` also lists PRs of other repositories whose head is the
    run's branch (a fork's PR from this repository's ``main``): their number names a different PR
    here, so only an entry whose ``base.repo.url`` is this repository's counts."""
    pull = event.get("pull_request")
    if isinstance(pull, Mapping) and isinstance(pull.get("number"), int):
        return pull
    run = event.get("workflow_run")
    pulls = run.get("pull_requests") if isinstance(run, Mapping) else None
    for entry in pulls if isinstance(pulls, list) else []:
        if (
            isinstance(entry, Mapping)
            and isinstance(entry.get("number"), int)
            and _base_is(entry, repository)
        ):
            return entry
    return None


def _base_is(pull: Mapping[str, Any], repository: str) -> bool:
    """Whether a ``workflow_run`` PR entry's ``base.repo.url`` (``{api}/repos/owner/name``, the
    only place its short form names the owner) is ``repository``; GitHub names ignore case."""
    base = pull.get("base")
    repo = base.get("repo") if isinstance(base, Mapping) else None
    url = repo.get("url") if isinstance(repo, Mapping) else None
    return isinstance(url, str) and url.lower().endswith(f"/repos/{repository.lower()}")


def default_base_ref(event: Mapping[str, Any], repository: str, explicit: str | None, configured: str) -> str:
    """``base-ref`` input, else the base branch of the event's PR (a ``workflow_run``'s too), else
    the config's ``base`` (``main``)."""
    if explicit:
        return explicit
    pull = event_pull(event, repository)
    base = pull.get("base") if pull is not None else None
    if isinstance(base, Mapping) and isinstance(base.get("ref"), str):
        return str(base["ref"])
    return configured


CHOSEN_REF_EVENTS = frozenset({"workflow_dispatch", "push", *REVIEW_EVENTS})
"""Events whose ``GITHUB_REF`` a person chose (the branch a dispatch or a push names) or a pull
request's: a rolling run on them must be on the base. A ``schedule`` (or ``workflow_run``) always
runs the default branch's workflow, whose checkout says what is evaluated."""


def rolling_ref_problem(event_name: str, ref: str | None, base_ref: str) -> str | None:
    """Why a rolling run of ``event_name`` on ``ref`` (``GITHUB_REF``) must not act for
    ``base_ref``, or None.

    Rolling mode evaluates the base branch (SPEC §5) from the checkout: a ``workflow_dispatch``
    started from another branch would open promotion PRs into the base under that branch's
    ``metasup.yml`` and data (an audit). Outside a runner (no ``GITHUB_REF``) there is nothing to
    compare."""
    if event_name not in CHOSEN_REF_EVENTS or ref is None or ref == f"refs/heads/{base_ref}":
        return None
    return (
        f"rolling mode acts for the base branch {base_ref}, but this {event_name} run is on {ref} "
        f"(GITHUB_REF): its metasup.yml and artifacts are not {base_ref}'s. Run the workflow from "
        f"{base_ref} (workflow_dispatch on {base_ref}, or the schedule); nothing was done"
    )
