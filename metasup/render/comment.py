"""The canonical PR review comment: one Review in, one markdown body out (SPEC §4.2).

Escaping is on by default: the markdown environment's ``finalize`` escapes every
``{{ value }}`` for markdown and HTML, and only the number filters return ``Safe`` strings that
skip it (:mod:`metasup.render.filters`). A template (ours or a user's ``comment_template``)
therefore cannot forget to escape an agent name, and an artifact cannot break the table,
inject a link or HTML, or forge the hidden marker. The other markdown bodies (PR bodies,
dashboard, job summary) are :mod:`metasup.render.bodies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from metasup.model.config import Config
from metasup.model.errors import ConfigError
from metasup.model.review import Review
from metasup.render.environment import environment, package_template
from metasup.render.filters import Safe

MARKER = "<!-- metasup:review -->"
"""First line of our comment; with the author check it identifies the comment to edit."""

GITHUB_COMMENT_LIMIT = 65_536
"""GitHub rejects issue comments longer than this many characters."""


def load_template(custom: Path | None) -> jinja2.Template:
    """Our template, or the user's ``comment_template`` rendered in a sandbox."""
    if custom is None:
        return package_template("pr_comment.md.j2")
    try:
        text = custom.read_text(encoding="utf-8")
        return environment("markdown", sandboxed=True).from_string(text)
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
