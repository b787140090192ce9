"""Every markdown body but the PR comment: [AUTO-PROMOTE] / [AUTO-DEMOTE] / [AUTO-RETIRE] PR bodies, the
dashboard issue and the rolling run's job summary (SPEC §5).

Same environment, filters and escaping as the comment (:mod:`metasup.render.comment`); each
body starts with its own hidden marker, which the rolling run uses to find what it wrote.
The values come from the rolling run as plain data; nothing here imports ``metasup.rolling``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from metasup.model.config import Config
from metasup.model.review import AgentReport, Retirement, Review
from metasup.render.comment import (
    GITHUB_COMMENT_LIMIT,
    JOB_SUMMARY_LIMIT,
    MARKER,
    render_comment,
)
from metasup.render.environment import package_template
from metasup.render.filters import Safe

DASHBOARD_MARKER = "<!-- metasup:dashboard -->"
RETIREMENT_MARKER = "<!-- metasup:retire -->"


StageChange = Literal["promote", "demote"]
"""The two PRs that change one agent's ``stage``: [AUTO-PROMOTE] and [AUTO-DEMOTE]."""


def stage_change_marker(kind: StageChange, slug: str) -> str:
    """Hidden marker of a stage-change PR body; ``slug`` is ref-safe, so it cannot close the comment."""
    return f"<!-- metasup:{kind}:{slug} -->"


def render_stage_change_body(
    kind: StageChange,
    agent: AgentReport,
    review: Review,
    config: Config,
    slug: str,
    run_link: str,
    held: bool = False,
) -> str:
    """The body of an [AUTO-PROMOTE] or [AUTO-DEMOTE] PR (each kind has its own template)."""
    template = "promotion_pr.md.j2" if kind == "promote" else "demotion_pr.md.j2"
    return package_template(template).render(
        marker=Safe(stage_change_marker(kind, slug)),
        agent=agent,
        review=review,
        config=config,
        run_link=Safe(run_link),
        held=held,
    )


def render_retirement_body(
    subject: str,
    kind: str,
    retirement: Retirement,
    reason: str,
    review: Review,
    config: Config,
    run_link: str,
) -> str:
    return package_template("retirement_pr.md.j2").render(
        marker=Safe(RETIREMENT_MARKER),
        subject=subject,
        kind=kind,
        retirement=retirement,
        reason=reason,
        review=review,
        config=config,
        run_link=Safe(run_link),
    )


def render_withdrawal_comment(kind: StageChange, agent: str, reason: str, run_link: str) -> str:
    """The comment metasup leaves when it closes its own stage-change PR: the rule no longer holds.

    ``agent`` and ``reason`` come from artifacts (names, gate evidence): escaped like every body."""
    return (
        package_template("pull_withdrawn.md.j2")
        .render(kind=kind, agent=agent, reason=reason, run_link=Safe(run_link))
        .rstrip("\n")
    )


def render_held_comment(marker: str, run_link: str) -> str:
    """The one comment on a PR whose head someone moved: metasup will not merge it."""
    return (
        package_template("pull_held.md.j2").render(marker=Safe(marker), run_link=Safe(run_link)).rstrip("\n")
    )


def render_dashboard(review: Review, context: Mapping[str, object], run_link: str) -> str:
    """The dashboard issue; ``context`` holds ``stages``, ``open_promotions``, ``pending_demotions``,
    ``vetoes``, ``kills`` and ``ledger`` (its head and the state commit, or None)."""
    return package_template("dashboard.md.j2").render(
        marker=Safe(DASHBOARD_MARKER), review=review, run_link=Safe(run_link), **context
    )


GITHUB_SUMMARY_BYTES = 1_048_576
"""GitHub refuses a step summary larger than this (1 MiB), the whole of it."""
SUMMARY_MARGIN = 8_192
"""Bytes a summary leaves unused below :data:`GITHUB_SUMMARY_BYTES`: a step's warnings and errors."""


class RollingSummary(Protocol):
    """What the job summary of a rolling run shows (``rolling.run.RollingOutcome`` is one)."""

    @property
    def review(self) -> Review: ...

    @property
    def decisions(self) -> Sequence[str]: ...

    @property
    def warnings(self) -> Sequence[str]: ...

    @property
    def errors(self) -> Sequence[str]: ...


def render_rolling_summary(outcome: RollingSummary, config: Config, roots: Sequence[str] = ()) -> str:
    """The rolling run's job summary: every decision, the allocation, then the review in what is
    left of GitHub's 1 MiB (a fleet of 1,500 weighted agents with long names went over it beside a
    900,000-byte review, and GitHub refused the whole summary; found by a review)."""
    template = package_template("rolling_summary.md.j2")
    head = template.render(review=outcome.review, outcome=outcome, comment=Safe(""))
    room = min(JOB_SUMMARY_LIMIT, GITHUB_SUMMARY_BYTES - len(head.encode("utf-8")) - SUMMARY_MARGIN)
    comment = render_comment(outcome.review, config, limit=max(room, GITHUB_COMMENT_LIMIT + 1), roots=roots)
    return template.render(
        review=outcome.review, outcome=outcome, comment=Safe(comment.body.removeprefix(MARKER + "\n"))
    )
