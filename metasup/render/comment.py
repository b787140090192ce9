"""The canonical PR review comment: one Review in, one markdown body out (SPEC §4.2).

Escaping is on by default: Jinja's ``finalize`` escapes every ``{{ value }}`` for markdown and
HTML, and only the number filters below return ``Safe`` strings that skip it. A template (ours
or a user's ``comment_template``) therefore cannot forget to escape an agent name, and an
artifact cannot break the table, inject a link or HTML, or forge the hidden marker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from metasup.model.config import Config
from metasup.model.errors import ConfigError
from metasup.model.review import AgentReport, Retirement, Review

MARKER = "<!-- metasup:review -->"
"""First line of our comment; with the author check it identifies the comment to edit."""

GITHUB_COMMENT_LIMIT = 65_536
"""GitHub rejects issue comments longer than this many characters."""

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|~])")
_AUTOLINKS = re.compile(r"(?i)(://|www\.)")
_HTML_SPECIALS = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


class Safe(str):
    """Text produced by our own filters from numbers: already safe for markdown."""

    __slots__ = ()


def escape_markdown(value: object) -> str:
    """Make any text inert inside a GFM table cell or list item.

    Newlines would end the table row, ``|`` a cell, backticks/brackets/emphasis would format,
    ``<`` would open HTML (including a forged ``<!-- metasup:review -->``), and ``://`` or
    ``www.`` would let GFM turn text into a link. Everything else stays readable as typed.
    """
    text = " ".join(str(value).split())
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    text = _AUTOLINKS.sub(lambda match: match.group(0).replace(":", "\\:").replace(".", "\\."), text)
    return "".join(_HTML_SPECIALS.get(char, char) for char in text)


def finalize(value: object) -> object:
    if value is None:
        return Safe("—")
    if isinstance(value, Safe | int | float):
        return value
    return escape_markdown(value)


def pct(value: float | None, digits: int = 2) -> Safe:
    return Safe("—" if value is None else f"{value * 100:.{digits}f}%")


def money(value: float | None) -> Safe:
    return Safe("—" if value is None else f"{value:,.2f}")


def score(value: float | None) -> Safe:
    return Safe("—" if value is None else f"{value:.1f}")


def delta(value: float | None, kind: str) -> Safe:
    """`` (▲ 1.2)`` next to a value; nothing when there is no baseline or no change."""
    if value is None or value == 0:
        return Safe("")
    arrow = "▲" if value > 0 else "▼"
    size = abs(value)
    shown = {"pct": f"{size * 100:.2f}pp", "money": f"${size:,.2f}", "score": f"{size:.1f}"}[kind]
    return Safe(f" ({arrow} {shown})")


def code(value: object) -> Safe:
    """Inline code that cannot be broken out of: backticks in the value become quotes."""
    return Safe("`" + " ".join(str(value).replace("`", "'").split()) + "`")


def plain(value: object) -> object:
    """Any gate/rule value as short escaped text: numbers compact, lists and mappings flattened."""
    if value is None:
        return Safe("—")
    if isinstance(value, bool):
        return Safe("yes" if value else "no")
    if isinstance(value, float):
        return Safe(f"{value:.4g}")
    if isinstance(value, int):
        return Safe(str(value))
    if isinstance(value, dict):
        return Safe(", ".join(f"{escape_markdown(k)}={plain(v)}" for k, v in value.items()))
    if isinstance(value, list | tuple):
        return Safe(", ".join(str(plain(v)) for v in value) or "none")
    return Safe(escape_markdown(value))


NAMES_SHOWN = 10
"""How many agent names a Result line lists before "and N more"."""


def names(values: list[str]) -> Safe:
    """An escaped, comma-separated list that stays one short line however many agents there are."""
    shown = ", ".join(escape_markdown(v) for v in values[:NAMES_SHOWN])
    hidden = len(values) - NAMES_SHOWN
    return Safe(shown + (f" and {hidden} more" if hidden > 0 else ""))


FILTERS: dict[str, Any] = {
    "pct": pct,
    "money": money,
    "score": score,
    "delta": delta,
    "code": code,
    "names": names,
    "plain": plain,
}


def _environment(loader: jinja2.BaseLoader, sandboxed: bool) -> jinja2.Environment:
    cls = SandboxedEnvironment if sandboxed else jinja2.Environment
    env = cls(
        loader=loader,
        autoescape=False,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def package_template(name: str) -> jinja2.Template:
    """One of our templates in ``metasup/templates`` (package data)."""
    text = resources.files("metasup").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return _environment(jinja2.BaseLoader(), sandboxed=False).from_string(text)


def load_template(custom: Path | None) -> jinja2.Template:
    """Our template, or the user's ``comment_template`` rendered in a sandbox."""
    if custom is None:
        return package_template("pr_comment.md.j2")
    try:
        text = custom.read_text(encoding="utf-8")
        return _environment(jinja2.BaseLoader(), sandboxed=True).from_string(text)
    except OSError as exc:
        raise ConfigError(f"comment_template {custom}: cannot read ({exc})") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"comment_template {custom}: line {exc.lineno}: {exc.message}") from None


@dataclass(frozen=True)
class RenderedComment:
    body: str
    agents_hidden: int
    findings_hidden: int


def render_comment(
    review: Review, config: Config, limit: int = GITHUB_COMMENT_LIMIT, template: jinja2.Template | None = None
) -> RenderedComment:
    """Render the comment, dropping table rows and findings from the end until it fits ``limit``."""
    chosen = template or load_template(config.comment_template)
    agents, findings = len(review.agents), len(review.findings)
    body = _render(chosen, review, config, agents, findings)
    while len(body) > limit and (agents or findings):
        # Halve whichever list is longer; the full report goes to the job summary anyway.
        if agents >= findings:
            agents //= 2
        else:
            findings //= 2
        body = _render(chosen, review, config, agents, findings)
    if len(body) > limit:
        body = body[: limit - 1] + "…"
    return RenderedComment(body, len(review.agents) - agents, len(review.findings) - findings)


def _render(template: jinja2.Template, review: Review, config: Config, agents: int, findings: int) -> str:
    try:
        body = template.render(
            marker=Safe(MARKER),
            review=review,
            config=config,
            agents=review.agents[:agents],
            agents_hidden=len(review.agents) - agents,
            findings=review.findings[:findings],
            findings_hidden=len(review.findings) - findings,
            approved=[a.agent for a in review.agents if a.promotion.result == "APPROVED"],
            blocked=[a.agent for a in review.agents if a.promotion.result == "BLOCKED"],
            recommendations=review.recommendations,
        )
    except jinja2.TemplateError as exc:
        raise ConfigError(f"comment template failed to render: {exc}") from None
    if not body.startswith(MARKER):
        body = f"{MARKER}\n{body}"
    return body


def promotion_marker(slug: str) -> str:
    """Hidden marker of an [AUTO-PROMOTE] PR body; ``slug`` is ref-safe, so it cannot close the comment."""
    return f"<!-- metasup:promote:{slug} -->"


DASHBOARD_MARKER = "<!-- metasup:dashboard -->"
RETIREMENT_MARKER = "<!-- metasup:retire -->"


def render_promotion_body(
    agent: AgentReport, review: Review, config: Config, slug: str, run_link: str, held: bool = False
) -> str:
    return package_template("promotion_pr.md.j2").render(
        marker=Safe(promotion_marker(slug)),
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


def render_dashboard(review: Review, context: Mapping[str, Any], run_link: str) -> str:
    return package_template("dashboard.md.j2").render(
        marker=Safe(DASHBOARD_MARKER), review=review, run_link=Safe(run_link), **context
    )


def render_rolling_summary(outcome: Any, config: Config) -> str:
    """The rolling run's job summary: every decision, the allocation, then the full review."""
    comment = render_comment(outcome.review, config, limit=10**9).body
    return package_template("rolling_summary.md.j2").render(
        review=outcome.review, outcome=outcome, comment=Safe(comment.removeprefix(MARKER + "\n"))
    )
