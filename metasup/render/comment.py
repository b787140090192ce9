"""The canonical PR review comment: one Review in, one markdown body out (SPEC §4.2).

Escaping is on by default: the markdown environment's ``finalize`` escapes every
``{{ value }}`` for markdown and HTML, and only the number filters return ``Safe`` strings that
skip it (:mod:`metasup.render.filters`). A template (ours or a user's ``comment_template``)
therefore cannot forget to escape an agent name, and an artifact cannot break the table,
inject a link or HTML, or forge the hidden marker. The other markdown bodies (PR bodies,
dashboard, job summary) are :mod:`metasup.render.bodies`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from metasup.model.config import Config
from metasup.model.errors import ConfigError
from metasup.model.review import AgentReport, Finding, Recommendation, Review
from metasup.render.environment import environment, package_template
from metasup.render.filters import Safe
from metasup.render.paths import relative_action, relative_finding

T = TypeVar("T")

MARKER = "<!-- metasup:review -->"
"""First line of our comment; with the author check it identifies the comment to edit."""

GITHUB_COMMENT_LIMIT = 65_536
"""GitHub rejects issue comments longer than this many characters."""
JOB_SUMMARY_LIMIT = 900_000
"""UTF-8 bytes of the review in a job summary (GitHub refuses one over 1 MiB; 900,000 characters of
CJK names were 2.2 MB): room for a rolling run's decisions and allocation (``bodies``)."""

TOP_FINDINGS = 5
"""Findings shown above the fold (most severe first); the rest sit in a ``<details>`` block."""

GATE_MATRIX_ROWS = 50
"""Sandbox agents in the PR comment's gate matrix; more are summed up in a "… and N more" row.
The rows kept are those a reader acts on first (:func:`matrix_rank`), shown in the review's order.

Only the comment (``limit`` at most :data:`GITHUB_COMMENT_LIMIT`) is capped, for the 20-second
read; the job summary (a larger ``limit``) lists every sandbox agent: one row per agent, like its
agent table, so it needs no bound of its own.
"""

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
    parts = Parts.of(review, roots, GATE_MATRIX_ROWS)
    _render(load_template(config.comment_template), review, config, parts, Cut())


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
    """Render the comment; if it exceeds ``limit``, leave out the least important content first.

    A body that fits is rendered with everything in it. One that does not leaves out the fewest
    pieces of :func:`cut_order` that make it fit, so what is cut is always what matters least, and
    every "… and N more" counts what was left out of the whole review. A ``limit`` above GitHub's
    (the job summary) lifts :data:`GATE_MATRIX_ROWS` and counts UTF-8 bytes (:func:`_size`).
    ``roots`` (:func:`workspace_roots`) are the absolute prefixes removed from paths in evidence.
    """
    chosen = template or load_template(config.comment_template)
    parts = Parts.of(review, roots, GATE_MATRIX_ROWS if limit <= GITHUB_COMMENT_LIMIT else None)
    order = cut_order(review, len(parts.gate_rows))
    cut, body = _fit(chosen, review, config, parts, order, limit)
    if _size(body, limit) > limit:  # "…" is 3 bytes
        body = (
            body.encode()[: limit - 3].decode(errors="ignore")
            if limit > GITHUB_COMMENT_LIMIT
            else body[: limit - 1]
        )
        body += "…"
    return RenderedComment(body, len(cut.agents), len(cut.findings))


def _size(text: str, limit: int) -> int:
    """GitHub's measure under ``limit``: characters for a comment, UTF-8 bytes for a job summary."""
    return len(text) if limit <= GITHUB_COMMENT_LIMIT else len(text.encode("utf-8"))


def _fit(
    template: jinja2.Template,
    review: Review,
    config: Config,
    parts: Parts,
    order: Sequence[Piece],
    limit: int,
) -> tuple[Cut, str]:
    """The shortest prefix of ``order`` whose cut makes the body fit ``limit``, and that body.

    Binary search: the body shrinks as more is left out (give or take a count's digits), and the
    upper end only ever moves to a cut that was rendered and fits. If nothing fits even with all
    of ``order`` cut, that body is returned for the caller to hard-cut.
    """
    body = _render(template, review, config, parts, Cut())
    if _size(body, limit) <= limit or not order:
        return Cut(), body
    high, best = len(order), Cut.of(order)
    body = _render(template, review, config, parts, best)
    low = 0  # cutting ``low`` pieces does not fit; cutting ``high`` does (or nothing does)
    while _size(body, limit) <= limit and high - low > 1:
        middle = (low + high) // 2
        trial = Cut.of(order[:middle])
        text = _render(template, review, config, parts, trial)
        if _size(text, limit) <= limit:
            high, best, body = middle, trial, text
        else:
            low = middle
    return best, body


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


Piece = tuple[Literal["agent", "gate", "finding", "action"], int]
"""One thing the comment can leave out: a row of the agent table or the gate matrix, a finding or
a recommended action, by its index in the review's list (the gate matrix's, for ``gate``)."""

ROW_RANK: dict[str, int] = {"retired": 0, "active": 1, "blocked": 3, "approved": 4, "demoted": 5}
"""How much an agent's table row matters, by its status (higher: kept longer). Any ``killed…``
status ranks 6, any other status 2: unusual, so above the plain ``active``/``retired`` rows."""

PLAIN_ROWS = 1
"""Rows ranked up to this (``retired``, ``active``) are the first thing cut: nothing happens to
those agents in this change. The other rows are cut only after every lower-value rung."""

SEVERITY_RANK: dict[str, int] = {"LOW": 0, "MEDIUM": 1, "HIGH": 2, "CRITICAL": 3}
PRIORITY_RANK: dict[str, int] = {"P2": 0, "P1": 1, "P0": 2}


def row_rank(status: str) -> int:
    """:data:`ROW_RANK` of an agent's status; every kind of kill (agent, class, kill_list) is one."""
    return 6 if status.startswith("killed") else ROW_RANK.get(status, 2)


def cut_order(review: Review, gate_rows: int) -> list[Piece]:
    """Everything the comment may leave out, least important first; a cut takes a prefix.

    1. agent rows of ``retired`` then ``active`` agents: nothing happens to them;
    2. gate-matrix rows (from the end): a fold, and the Result lines count every judged agent;
    3. ``P2`` then ``P1`` actions: each is the to-do of a finding that says why;
    4. ``LOW`` then ``MEDIUM`` findings;
    5. the other agent rows: any unusual status, ``blocked``, ``approved``, ``demoted``, killed;
    6. ``P0`` actions;
    7. ``HIGH`` then ``CRITICAL`` findings, the last thing cut: they are why the PR needs a person.

    Each rung mostly restates what a later one says ("Fix the failing gates of X" its MEDIUM
    finding, a killed row its HIGH kill finding), so the later one is kept. Within a rung the
    review's last pieces go first: its findings and actions are already sorted most severe first.
    """
    agents = [(row_rank(a.status), i) for i, a in enumerate(review.agents)]
    findings = [(SEVERITY_RANK[f.severity], i) for i, f in enumerate(review.findings)]
    actions = [(PRIORITY_RANK[a.priority], i) for i, a in enumerate(review.recommendations)]
    return [
        *_rung("agent", agents, lambda rank: rank <= PLAIN_ROWS),
        *(("gate", i) for i in reversed(range(gate_rows))),
        *_rung("action", actions, lambda rank: rank < PRIORITY_RANK["P0"]),
        *_rung("finding", findings, lambda rank: rank < SEVERITY_RANK["HIGH"]),
        *_rung("agent", agents, lambda rank: rank > PLAIN_ROWS),
        *_rung("action", actions, lambda rank: rank == PRIORITY_RANK["P0"]),
        *_rung("finding", findings, lambda rank: rank >= SEVERITY_RANK["HIGH"]),
    ]


def _rung(
    kind: Literal["agent", "finding", "action"],
    ranked: Sequence[tuple[int, int]],
    belongs: Callable[[int], bool],
) -> list[Piece]:
    """The ``(rank, index)`` pairs that ``belongs`` selects, lowest rank first, last index first."""
    chosen = sorted((pair for pair in ranked if belongs(pair[0])), key=lambda p: (p[0], -p[1]))
    return [(kind, index) for _, index in chosen]


@dataclass(frozen=True)
class Cut:
    """What the comment leaves out: indexes into the review's agents, findings and actions, and
    how many rows are taken off the end of the gate matrix."""

    agents: frozenset[int] = frozenset()
    findings: frozenset[int] = frozenset()
    actions: frozenset[int] = frozenset()
    gate_rows: int = 0

    @classmethod
    def of(cls, pieces: Sequence[Piece]) -> Cut:
        def indexes(kind: str) -> frozenset[int]:
            return frozenset(i for k, i in pieces if k == kind)

        gates = sum(1 for k, _ in pieces if k == "gate")
        return cls(indexes("agent"), indexes("finding"), indexes("action"), gates)


@dataclass(frozen=True)
class Parts:
    """The review's lists as the comment shows them, computed once for every trial render."""

    findings: list[Finding]
    actions: list[Recommendation]
    gates: list[GateRow]
    gate_rows: list[GateRow]
    """The gate matrix's rows before any cut, most telling first (:func:`matrix_rank`): every
    sandbox agent, or ``cap`` of them. A cut takes rows off the end."""

    @classmethod
    def of(cls, review: Review, roots: Sequence[str], cap: int | None) -> Parts:
        """Paths made relative; the gate matrix from every agent, not only the ones shown."""
        gates = gate_matrix(review.agents)
        return cls(
            findings=[relative_finding(f, roots) for f in review.findings],
            actions=[relative_action(a, roots) for a in review.recommendations],
            gates=gates,
            gate_rows=sorted(gates, key=matrix_rank)[:cap],
        )


def matrix_rank(row: GateRow) -> tuple[int, int]:
    """Approved agents first (this PR's promotions), then the blocked ones nearest to passing
    (fewest failed gates); ties keep the review's order (the sort is stable). A 400-agent fleet's
    matrix showed its first 50 sandbox agents in registry order, approved ones beyond them unseen."""
    failed = sum(1 for cell in row.cells if cell is False)
    return (0 if row.result == "APPROVED" else 1, failed)


def _kept(items: Sequence[T], cut: frozenset[int]) -> list[T]:
    """``items`` without the cut indexes, in the review's order: a cut table reads like the full one."""
    return [item for i, item in enumerate(items) if i not in cut]


def hidden_statuses(agents: Sequence[AgentReport], cut: frozenset[int]) -> list[tuple[int, str]]:
    """``(count, status)`` of the agents left out of the table, the statuses that matter most
    first: the line under the table says what kind of agents the reader does not see."""
    counts = Counter(agents[i].status for i in cut)
    return [(n, s) for s, n in sorted(counts.items(), key=lambda item: (-row_rank(item[0]), item[0]))]


def _render(
    template: jinja2.Template,
    review: Review,
    config: Config,
    parts: Parts,
    cut: Cut,
) -> str:
    agents = _kept(review.agents, cut.agents)
    shown = _kept(parts.findings, cut.findings)
    actions = _kept(parts.actions, cut.actions)
    kept = {id(row) for row in parts.gate_rows[: len(parts.gate_rows) - cut.gate_rows]}
    gates = [row for row in parts.gates if id(row) in kept]  # in the review's order
    try:
        body = template.render(
            marker=Safe(MARKER),
            review=review,
            config=config,
            agents=agents,
            agents_hidden=len(cut.agents),
            agents_hidden_statuses=hidden_statuses(review.agents, cut.agents),
            findings=shown,
            findings_hidden=len(cut.findings),
            top_findings=shown[:TOP_FINDINGS],
            more_findings=shown[TOP_FINDINGS:],
            approved=[a.agent for a in review.agents if a.promotion.result == "APPROVED"],
            blocked=[a.agent for a in review.agents if a.promotion.result == "BLOCKED"],
            recommendations=actions,
            top_recommendations=actions[:TOP_ACTIONS],
            more_recommendations=actions[TOP_ACTIONS:],
            actions_hidden=len(cut.actions),
            gate_columns=[header for _, header in GATE_COLUMNS],
            gate_rows=gates,
            gate_rows_hidden=len(parts.gates) - len(gates),
        )
    except jinja2.TemplateNotFound as exc:  # {% include %}, {% import %}, {% extends %}: no loader
        detail = f"{exc} cannot be loaded: a comment_template is one file, without include/import/extends"
        raise template_error(template, exc, detail) from None
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
