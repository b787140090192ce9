"""The canonical PR review comment: one Review in, one markdown body out (SPEC §4.2).

Escaping is on by default: the markdown environment's ``finalize`` escapes every
``{{ value }}`` for markdown and HTML, and only the number filters return ``Safe`` strings that
skip it (:mod:`metasup.render.filters`). A template (ours or a user's ``comment_template``)
therefore cannot forget to escape an agent name, and an artifact cannot break the table,
inject a link or HTML, or forge the hidden marker. The other markdown bodies (PR bodies,
dashboard, job summary) are :mod:`metasup.render.bodies`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from metasup.model.config import Config
from metasup.model.errors import ConfigError
from metasup.model.review import AgentReport, Finding, Recommendation, Review
from metasup.render.environment import environment, package_template
from metasup.render.filters import Safe

MARKER = "<!-- metasup:review -->"
"""First line of our comment; with the author check it identifies the comment to edit."""

GITHUB_COMMENT_LIMIT = 65_536
"""GitHub rejects issue comments longer than this many characters."""

TOP_FINDINGS = 5
"""Findings shown above the fold (most severe first); the rest sit in a ``<details>`` block."""

GATE_MATRIX_ROWS = 50
"""Sandbox agents in the gate matrix; more are summed up in a "… and N more" row."""

TOP_ACTIONS = 8
"""Recommended actions shown above the fold (P0 first); the rest sit in a ``<details>`` block."""

GATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("behavioral", "Score"),
    ("pnl", "PnL"),
    ("confidence_decay", "Decay"),
    ("cost_drift", "Cost drift"),
    ("kill_list", "Not killed"),
    ("safety", "Safety"),
    ("evidence", "Evidence"),
    ("skill", "Skill"),
    ("prod_correlation", "Prod corr."),
)
"""The gate matrix's columns: every SPEC §3.3 gate, in its order, with a short header."""


@dataclass(frozen=True)
class GateRow:
    """One sandbox agent in the gate matrix: ✅/❌ per gate (``None``: the gate is absent)."""

    agent: str
    cells: tuple[bool | None, ...]
    result: str
    eligible_in_days: int | None


def load_template(custom: Path | None) -> jinja2.Template:
    """Our template, or the user's ``comment_template`` rendered in a sandbox."""
    if custom is None:
        return package_template("pr_comment.md.j2")
    try:
        text = custom.read_text(encoding="utf-8")
        sandbox = environment("markdown", sandboxed=True)
        # Compiled under its own file name (``from_string`` says "<template>"), so that a failure
        # while rendering can name the file and line the user has to fix (:func:`template_error`).
        code = sandbox.compile(text, name=custom.name, filename=str(custom))
        return sandbox.template_class.from_code(sandbox, code, sandbox.make_globals(None))
    except OSError as exc:
        raise ConfigError(f"comment_template {custom}: cannot read ({exc})") from None
    except UnicodeDecodeError as exc:
        problem = f"{exc.reason} at byte {exc.start}"
        raise ConfigError(f"comment_template {custom}: not UTF-8 text ({problem})") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"comment_template {custom}: line {exc.lineno}: {exc.message}") from None


def template_error(template: jinja2.Template, exc: BaseException, detail: str) -> ConfigError:
    """``comment_template FILE: line N: failed to render: …``: where in the user's file it broke.

    Jinja rewrites a render error's traceback so that the template's frames carry its file name
    and line; the innermost such frame is where the failing expression is.
    """
    where = template.filename or template.name or "(template)"
    line = None
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == template.filename:
            line = frame.tb_lineno
        frame = frame.tb_next
    at = "" if line is None else f" line {line}:"
    return ConfigError(f"comment_template {where}:{at} failed to render: {detail}")


def check_comment_template(review: Review, config: Config, roots: Sequence[str] = ()) -> None:
    """Render the user's ``comment_template`` once against ``review``; a :class:`ConfigError` naming
    its file and line if it fails.

    ``evaluate`` calls this right after writing the review, so a template that does not fit the
    review fails the run that can still be fixed, not a later ``comment`` or action step. One
    render, no fitting to GitHub's limit: the check costs what the comment costs.
    """
    if config.comment_template is None:
        return
    _render(load_template(config.comment_template), review, config, Shown.every(review), roots)


@dataclass(frozen=True)
class RenderedComment:
    body: str
    agents_hidden: int
    findings_hidden: int


def render_comment(
    review: Review,
    config: Config,
    limit: int = GITHUB_COMMENT_LIMIT,
    template: jinja2.Template | None = None,
    roots: Sequence[str] = (),
) -> RenderedComment:
    """Render the comment, dropping table rows and findings from the end until it fits ``limit``.

    ``roots`` (:func:`workspace_roots`) are the absolute prefixes removed from paths in evidence.
    """
    chosen = template or load_template(config.comment_template)
    shown = Shown.every(review)
    body = _render(chosen, review, config, shown, roots)
    while len(body) > limit and any(shown):
        # Halve whichever list is longest; the full report goes to the job summary anyway.
        shown = shown.halved()
        body = _render(chosen, review, config, shown, roots)
    agents, findings = shown.agents, shown.findings
    if len(body) > limit:
        body = body[: limit - 1] + "…"
    return RenderedComment(body, len(review.agents) - agents, len(review.findings) - findings)


def workspace_roots(config: Config, workspace: str | None, cwd: str) -> list[str]:
    """Absolute folders whose prefix a reader does not need: the workspace, the config's folder, cwd.

    The config's folder is the deepest one holding the registry and every artifact, not each
    artifact's own folder: ``alpha/events.jsonl`` and ``telemetry/events.jsonl`` must not both read
    ``events.jsonl``. Longest first, so the most specific prefix is removed; ``/`` alone is never a
    root. The shell passes ``workspace`` (``GITHUB_WORKSPACE``) and ``cwd``: this module reads no
    environment.
    """
    candidates = [workspace or "", cwd]
    artifacts = config.artifacts
    paths = (config.registry, artifacts.alpha, artifacts.telemetry, artifacts.prices)
    folders = [str(p.parent) for p in paths if p is not None and p.is_absolute()]
    if folders:
        candidates.append(posixpath.commonpath(folders))
    roots = {posixpath.normpath(c) for c in candidates if c and posixpath.isabs(c)}
    return sorted((r for r in roots if r != "/"), key=len, reverse=True)


def relative_to_workspace(text: str, roots: Sequence[str]) -> str:
    """``text`` with every absolute workspace prefix (``/home/runner/work/x/``) removed."""
    for root in roots:
        text = text.replace(root.rstrip("/") + "/", "")
    return text


def _relative_finding(finding: Finding, roots: Sequence[str]) -> Finding:
    fields = ("title", "impact", "evidence")
    return finding.model_copy(update={f: relative_to_workspace(getattr(finding, f), roots) for f in fields})


def _relative_action(action: Recommendation, roots: Sequence[str]) -> Recommendation:
    return action.model_copy(update={"change": relative_to_workspace(action.change, roots)})


def gate_matrix(agents: Sequence[AgentReport]) -> list[GateRow]:
    """One row per sandbox agent the gates judged (APPROVED or BLOCKED), in the review's order."""
    rows = []
    for agent in agents:
        if agent.promotion.result not in ("APPROVED", "BLOCKED"):
            continue
        passed = {gate.name: gate.passed for gate in agent.promotion.gates}
        skill = agent.skill
        eligible = None
        if skill is not None and not passed.get("skill", True) and (skill.eligible_in_days or 0) > 0:
            eligible = skill.eligible_in_days
        rows.append(
            GateRow(
                agent=agent.agent,
                cells=tuple(passed.get(name) for name, _ in GATE_COLUMNS),
                result=agent.promotion.result,
                eligible_in_days=eligible,
            )
        )
    return rows


class Shown(NamedTuple):
    """How many agents, findings and recommended actions the comment lists (the rest: "… and N more")."""

    agents: int
    findings: int
    actions: int

    @classmethod
    def every(cls, review: Review) -> Shown:
        return cls(len(review.agents), len(review.findings), len(review.recommendations))

    def halved(self) -> Shown:
        longest = max(range(3), key=lambda i: self[i])
        return Shown(*(n // 2 if i == longest else n for i, n in enumerate(self)))


def _render(
    template: jinja2.Template,
    review: Review,
    config: Config,
    counts: Shown,
    roots: Sequence[str],
) -> str:
    agents, findings = counts.agents, counts.findings
    shown = [_relative_finding(f, roots) for f in review.findings[:findings]]
    actions = [_relative_action(a, roots) for a in review.recommendations[: counts.actions]]
    gates = gate_matrix(review.agents[:agents])
    try:
        body = template.render(
            marker=Safe(MARKER),
            review=review,
            config=config,
            agents=review.agents[:agents],
            agents_hidden=len(review.agents) - agents,
            findings=shown,
            findings_hidden=len(review.findings) - findings,
            top_findings=shown[:TOP_FINDINGS],
            more_findings=shown[TOP_FINDINGS:],
            approved=[a.agent for a in review.agents if a.promotion.result == "APPROVED"],
            blocked=[a.agent for a in review.agents if a.promotion.result == "BLOCKED"],
            recommendations=actions,
            top_recommendations=actions[:TOP_ACTIONS],
            more_recommendations=actions[TOP_ACTIONS:],
            actions_hidden=len(review.recommendations) - counts.actions,
            gate_columns=[header for _, header in GATE_COLUMNS],
            gate_rows=gates[:GATE_MATRIX_ROWS],
            gate_rows_hidden=max(0, len(gates) - GATE_MATRIX_ROWS),
        )
    except jinja2.TemplateError as exc:
        raise template_error(template, exc, str(exc)) from None
    except Exception as exc:
        if not isinstance(template.environment, SandboxedEnvironment):
            raise  # our own template: a bug, reported as one
        # The user's template: {{ 1 / 0 }}, a range over the sandbox's limit, a macro calling itself…
        raise template_error(template, exc, f"{type(exc).__name__}: {exc}") from None
    if not body.startswith(MARKER):
        body = f"{MARKER}\n{body}"
    return body
