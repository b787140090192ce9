"""No text from artifacts forms a GitHub reference in what metasup writes to GitHub (SPEC §2.6
"Names cannot ping or break anything"); metasup's own references still link and read back.

GitHub links ``#12``, ``GH-12`` and ``owner/repo#12`` (and posts "mentioned this" on that other
repository's issue #12) in a comment, a PR body or an issue. A commit sha is left as it is (it links
a commit of this repository and posts nothing; metasup's messages carry shas to copy). Each body
is rendered through its public entry point, then through GFM (cmarkgfm), and
the text GitHub would scan is checked with :data:`GITHUB_REFERENCE`, written after GitHub's
documented forms (docs: "Autolinked references and URLs").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

from metasup.model.config import Config
from metasup.model.review import AgentReport, Finding, Retirement, Review, Rule
from metasup.render.bodies import (
    render_dashboard,
    render_retirement_body,
    render_rolling_summary,
    render_stage_change_body,
    render_withdrawal_comment,
)
from metasup.render.comment import render_comment
from metasup.rolling.audit_anchor import LedgerAnchor
from metasup.rolling.dashboard import DashboardAnchor, ListedPromotion, dashboard_anchors, dashboard_context
from metasup.rolling.plan import Veto

J = "\u2060"
"""The word joiner that breaks a reference in artifact text."""
SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
LEDGER_HASH = "9f" * 32
HOSTILE_NAMES = ("octo/other#12", "#7", "GH-3")
NOW = datetime(2026, 10, 30, 20, tzinfo=UTC)
RUN_LINK = "[run 9](https://github.example/o/r/actions/runs/9)"

GITHUB_REFERENCE = re.compile(
    r"(?i)(?:[\w.-]+/[\w.-]+)?#\d+"  # #12, owner/repo#12
    r"|\bgh-\d+"  # GH-12
)
"""What GitHub would turn into an issue link in a text node (``\\w`` does not match the
word joiner, a format character: a joiner inside a reference ends it before its digits)."""


class ScannedText(HTMLParser):
    """The text GitHub scans for references: outside ``<code>``, ``<pre>`` and links."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += tag in ("code", "pre", "a")

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag in ("code", "pre", "a")

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def linked(markdown: str) -> list[str]:
    """The references GitHub would link in ``markdown`` once GFM has rendered it."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    assert "<a " not in html  # nor does GFM itself link anything (URLs, www., e-mail)
    scanner = ScannedText()
    scanner.feed(html)
    return GITHUB_REFERENCE.findall("\n".join(scanner.parts))


def hostile_review(
    review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> Review:
    finding = Finding(
        kind="cost_drift",
        title="Cost drift out of bounds for octo/other#12",
        impact="Cost per signal rose faster than the configured bound.",
        evidence=f"cost per signal +40.0% since {SHA} (see GH-3, #7)",
        severity="HIGH",
        agent="octo/other#12",
    )
    return review_factory(agents=[agent_factory(name) for name in HOSTILE_NAMES], findings=[finding])


def test_comment__artifact_references_never_link(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    body = render_comment(hostile_review(review_factory, agent_factory), base_config).body
    lines = body.splitlines()
    assert f"| octo/other#{J}12 | 86.0 | 1.23% | $321.00 | approved |" in lines
    assert f"| #{J}7 | 86.0 | 1.23% | $321.00 | approved |" in lines
    assert f"| GH-{J}3 | 86.0 | 1.23% | $321.00 | approved |" in lines
    assert f"**Result:** ✅ APPROVED — octo/other#{J}12, #{J}7, GH-{J}3" in lines
    assert f"- **HIGH · Cost drift out of bounds for octo/other#{J}12**  " in lines
    assert f"  Evidence: cost per signal +40.0% since {SHA} (see GH-{J}3, #{J}7)" in lines
    assert linked(body) == []
    assert body.replace(J, "").count("octo/other#12") == 4  # it reads the same: table, matrix, result, title


def test_dashboard__state_commit_reads_back_and_own_pull_numbers_link(
    review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    review = hostile_review(review_factory, agent_factory)
    vetoes = [Veto("GH-3", 5, NOW - timedelta(days=1), NOW + timedelta(days=29))]
    promotions = [ListedPromotion(12, "octo/other#12", held=False)]
    context = dashboard_context(review, promotions, vetoes, LedgerAnchor(3, LEDGER_HASH), SHA)
    body = render_dashboard(review, context, RUN_LINK)
    assert f"<!--\nLedger-Head: 3 {LEDGER_HASH}\nState-Commit: {SHA}\n-->" in body
    assert dashboard_anchors(6, body) == DashboardAnchor(6, (LedgerAnchor(3, LEDGER_HASH),), SHA)
    lines = body.splitlines()
    assert f"- #12 octo/other#{J}12" in lines  # metasup's "#12" links, the agent's name does not
    assert f"- GH-{J}3: vetoed in #5, no new PR before `2026-11-28T20:00:00+00:00`" in lines
    assert f"- **sandbox** (3): octo/other#{J}12, #{J}7, GH-{J}3" in lines
    assert f"Updated by run {RUN_LINK} · as of" in body
    assert linked(body.replace(RUN_LINK, "run 9")) == ["#12", "#5"]


@dataclass
class Outcome:
    """A rolling run's outcome as the job summary reads it (``bodies.RollingSummary``)."""

    review: Review
    decisions: Sequence[str] = field(default_factory=list)
    warnings: Sequence[str] = field(default_factory=list)
    errors: Sequence[str] = field(default_factory=list)


def test_rolling_summary__metasup_decisions_keep_their_references(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    restore = (
        f"restore it at commit {SHA}, e.g. `git push origin {SHA}:refs/heads/metasup-state` "
        "from a clone that has it. To start a new audit ledger on purpose, close issue #6."
    )
    outcome = Outcome(
        hostile_review(review_factory, agent_factory),
        decisions=["merge [AUTO-PROMOTE] PR #1 for momo-v2", "dashboard issue #3 updated"],
        warnings=[f"PR #4 (metasup/promote/x): its head {SHA[:12]} is not the change metasup wrote"],
        errors=[restore],
    )
    lines = render_rolling_summary(outcome, base_config).splitlines()
    assert "- merge \\[AUTO-PROMOTE\\] PR #1 for momo-v2" in lines
    assert "- dashboard issue #3 updated" in lines
    assert f"- ⚠️ PR #4 (metasup/promote/x): its head {SHA[:12]} is not the change metasup wrote" in lines
    assert f"- ❌ {restore.replace('`', chr(92) + '`')}" in lines  # the sha copies as it is
    assert f"| octo/other#{J}12 | 86.0 | 1.23% | $321.00 | approved |" in lines  # the full comment


def test_pr_bodies__artifact_references_never_link_run_link_kept(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    review = hostile_review(review_factory, agent_factory)
    promote = render_stage_change_body("promote", review.agents[0], review, base_config, "octo-12", RUN_LINK)
    assert f"## [AUTO-PROMOTE] octo/other#{J}12: sandbox → prod" in promote.splitlines()
    assert f"(run {RUN_LINK})" in promote

    rules = [Rule(name="alpha_negative", triggered=True, value=-0.02)]
    reason = f"1 of 1 retirement rules fired: alpha_negative since {SHA}"
    retire = render_retirement_body(
        "GH-3", "agent", Retirement(kill=True, rules=rules), reason, review, base_config, RUN_LINK
    )
    assert f"## [AUTO-RETIRE] GH-{J}3" in retire.splitlines()
    assert f"**Kill reason:** 1 of 1 retirement rules fired: alpha\\_negative since {SHA}" in retire

    withdrawn = render_withdrawal_comment("promote", "#7", "skill: 12 of 20 days", RUN_LINK)
    assert withdrawn.splitlines()[0] == (
        f"metasup closed this PR: the promotion gates of **#{J}7** no longer pass (run {RUN_LINK})."
    )
    for body in (promote, retire, withdrawn):
        assert linked(body.replace(RUN_LINK, "run 9")) == []
