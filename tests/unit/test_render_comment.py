"""The canonical PR comment: exact shape, escaping, deltas, truncation, custom templates."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from metasup.model.config import Config
from metasup.model.errors import ConfigError
from metasup.model.review import AgentReport, Promotion, Recommendation, Review
from metasup.render.comment import MARKER, render_comment
from metasup.render.filters import escape_markdown

HEADINGS = [
    "## 🤖 Meta-Agent Review Report",
    "### 📊 Agent Health Summary",
    "### ⚠️ Top Findings",
    "### ✅ Promotion Gate",
    "### 🔧 Recommended Actions",
]


class TableShape(HTMLParser):
    """Counts table rows and the cells in each, as GitHub's renderer produced them."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[int] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1


def render_gfm(markdown: str) -> TableShape:
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    shape = TableShape()
    shape.feed(html)
    shape.html = html  # type: ignore[attr-defined]
    return shape


def test_render_comment__exact_shape(base_config: Config, review_factory: Callable[..., Review]) -> None:
    body = render_comment(review_factory(), base_config).body
    lines = body.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "## 🤖 Meta-Agent Review Report"
    assert "**Overall Severity:** MEDIUM  " in lines
    assert "**Run ID:** run-42  " in lines
    assert "**Compared Against:** `main`" in lines
    assert "| Agent | Score | Alpha (30d) | Cost | Status |" in lines
    assert "| momo-v2 | 86.0 | 1.23% | $321.00 | approved |" in lines
    assert "- Behavioral score ≥ 80" in lines
    assert "**Result:** ✅ APPROVED — momo-v2" in lines
    assert "- Review the running cost of momo-v2 (P1)" in lines
    assert lines[-1] == "*Generated automatically by MarketAgents Meta-Supervisor*"
    positions = [body.index(h) for h in HEADINGS]
    assert positions == sorted(positions)


def test_render_comment__gfm_table_rows_and_columns(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    review = review_factory(agents=[agent_factory(f"agent-{i}") for i in range(7)])
    shape = render_gfm(render_comment(review, base_config).body)
    assert shape.rows == [5] * 8 + [11] * 8  # header + 7 agents: health table, then the gate matrix
    for heading in HEADINGS:
        assert heading.removeprefix("### ").removeprefix("## ") in shape.html  # type: ignore[attr-defined]


HOSTILE = (
    "evil|name <script>alert(1)</script> <!-- metasup:review --> [click](http://x.test) `tick`\n| a | b |"
)


def test_render_comment__hostile_names_cannot_break_or_inject(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    review = review_factory(agents=[agent_factory(HOSTILE), agent_factory("ok")])
    body = render_comment(review, base_config).body
    assert body.count("<!--") == 1  # only our own marker
    assert body.startswith(MARKER)
    shape = render_gfm(body)
    assert shape.rows == [5, 5, 5, 11, 11, 11]
    html: str = shape.html  # type: ignore[attr-defined]
    assert "<script>" not in html
    assert "<a " not in html  # neither the markdown link nor the bare URL became a link
    assert "&lt;script&gt;" in html


def test_escape_markdown__newlines_pipes_html() -> None:
    assert escape_markdown("a|b\nc <x>") == "a\\|b\\\\nc &lt;x&gt;"  # SPEC §2.6: a newline is shown as \\n
    assert escape_markdown("[l](u)") == "\\[l\\](u)"
    assert escape_markdown("see https://x.test or WWW.y.test") == "see https\\://x.test or WWW\\.y.test"
    assert escape_markdown("plain: text, 1.5 (ok)") == "plain: text, 1.5 (ok)"


def test_render_comment__deltas_vs_base(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    agent = agent_factory(delta_vs_base={"behavioral_score": -4.0, "alpha_30d": 0.005, "cost_30d": 10.0})
    body = render_comment(review_factory(agents=[agent]), base_config).body
    assert "| momo-v2 | 86.0 (▼ 4.0) | 1.23% (▲ 0.50pp) | $321.00 (▲ $10.00) | approved |" in body


def test_render_comment__no_baseline_said(base_config: Config, review_factory: Callable[..., Review]) -> None:
    review = review_factory()
    review = review.model_copy(update={"base": review.base.model_copy(update={"source": "none"})})
    assert "**Compared Against:** `main` (no baseline)" in render_comment(review, base_config).body


def test_render_comment__results_list_names_capped(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    agents = [agent_factory(f"a{i}") for i in range(12)]
    agents.append(agent_factory("b|x", promotion=Promotion(result="BLOCKED"), status="blocked"))
    body = render_comment(review_factory(agents=agents), base_config).body
    assert "**Result:** ✅ APPROVED — a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 and 2 more" in body
    assert "**Result:** ❌ BLOCKED — b\\|x" in body


def test_render_comment__blocked_result(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    agent = agent_factory(promotion=Promotion(result="BLOCKED"), status="blocked")
    body = render_comment(review_factory(agents=[agent]), base_config).body
    assert "**Result:** ❌ BLOCKED — momo-v2" in body


def test_render_comment__truncates_under_github_limit(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    agents = [agent_factory(f"agent-{i:05d}-" + "x" * 60) for i in range(3000)]
    rendered = render_comment(review_factory(agents=agents), base_config)
    assert len(rendered.body) <= 65_536
    assert rendered.agents_hidden > 0
    assert f"| … and {rendered.agents_hidden} more | | | | |" in rendered.body
    shape = render_gfm(rendered.body)
    health_rows = [cells for cells in shape.rows if cells == 5]
    assert len(health_rows) == 3000 - rendered.agents_hidden + 2  # header, shown rows, "… and N more"
    assert rendered.body.rstrip().endswith("*Generated automatically by MarketAgents Meta-Supervisor*")


def test_render_comment__thousands_of_actions_are_cut_with_a_count_not_mid_list(
    base_config: Config, review_factory: Callable[..., Review]
) -> None:
    """Recommendations were never cut: the agents and findings went for nothing, then the body was
    hard-cut at the limit inside an open ``<details>``, without its footer."""
    actions = [Recommendation(change=f"Retire agent-{i:05d} " + "x" * 40, priority="P1") for i in range(2000)]
    rendered = render_comment(review_factory(recommendations=actions), base_config)

    assert len(rendered.body) <= 65_536
    assert rendered.body.rstrip().endswith("*Generated automatically by MarketAgents Meta-Supervisor*")
    assert rendered.agents_hidden == 0  # the one agent stays
    hidden = re.search(r"- … and (\d+) more \(every one is in the job summary\)", rendered.body)
    assert hidden is not None
    shown = rendered.body.count("Retire agent-")
    assert shown + int(hidden.group(1)) == 2000
    html = render_gfm(rendered.body).html  # type: ignore[attr-defined]
    assert html.count("<details>") == html.count("</details>")


def test_render_comment__custom_template(
    tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "Severity {{ review.overall_severity }} for {{ agents[0].agent }}\n", encoding="utf-8"
    )
    config = base_config.model_copy(update={"comment_template": template})
    review = review_factory()
    body = render_comment(review, config).body
    assert body == f"{MARKER}\nSeverity MEDIUM for momo-v2\n"


def test_render_comment__custom_template_reads_every_value_it_is_given(
    tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    """Data-only does not mean less data: model fields, dataclass rows, plain values' methods."""
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "{{ review.run_id | upper }} {{ agents[0].promotion.gates[0].name }}"
        " {% for row in gate_rows %}{{ row.agent }}{% endfor %}"
        " {{ config.promotion.min_psr }} {{ config.registry }}"
        " {% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}\n",
        encoding="utf-8",
    )
    config = base_config.model_copy(update={"comment_template": template})
    review = review_factory()

    body = render_comment(review, config).body

    first_gate = review.agents[0].promotion.gates[0].name
    expected = f"{review.run_id.upper()} {first_gate} momo-v2 0.95 {config.registry} a=1"
    assert body == f"{MARKER}\n{expected}\n".replace("_", "\\_")


@pytest.mark.parametrize(
    "call",
    [
        "config.registry.joinpath('{outside}').read_text()",
        "config.registry.joinpath('{outside}').write_text('pwned')",
        "config.registry.parent.iterdir() | list",
        "review.model_dump_json()",
    ],
)
def test_render_comment__a_user_template_cannot_reach_files_or_methods(
    call: str, tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    """The template comes from the pull request: Jinja's sandbox let it read ``/proc/self/environ``
    (the token) or write anywhere through the ``Path`` values in ``config``."""
    outside = tmp_path / "outside.txt"
    outside.write_text("TOP-SECRET", encoding="utf-8")
    template = tmp_path / "mine.md.j2"
    template.write_text("ok\n{{ " + call.format(outside=outside) + " }}\n", encoding="utf-8")
    config = base_config.model_copy(update={"comment_template": template})

    with pytest.raises(ConfigError, match=f"comment_template {template}: line 2: failed to render"):
        render_comment(review_factory(), config)

    assert outside.read_text(encoding="utf-8") == "TOP-SECRET"


def test_render_comment__custom_template_sandboxed_and_errors_are_config_errors(
    tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_text("{{ review.__class__.__mro__ }}", encoding="utf-8")
    config = base_config.model_copy(update={"comment_template": template})
    with pytest.raises(ConfigError, match=f"comment_template {template}: line 1: failed to render"):
        render_comment(review_factory(), config)
    template.write_text("{% if %}", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        render_comment(review_factory(), config)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{% for x in range(10**9) %}{% endfor %}", "OverflowError: Range too big"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError"),
        ('{{ 1 + "a" }}', "TypeError"),
    ],
)
def test_render_comment__a_user_template_that_fails_is_a_config_error(
    text: str, words: str, tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    """Whatever a user's template does wrong while rendering is theirs to fix, not a bug report."""
    template = tmp_path / "mine.md.j2"
    template.write_text(text, encoding="utf-8")
    config = base_config.model_copy(update={"comment_template": template})
    with pytest.raises(ConfigError, match=f"comment_template {template}: line 1: failed to render: {words}"):
        render_comment(review_factory(), config)


@pytest.mark.parametrize(
    "tag", ['{% include "/etc/passwd" %}', '{% import "x.j2" as x %}', '{% extends "base.j2" %}']
)
def test_render_comment__a_user_template_is_told_it_cannot_load_others(
    tag: str, tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    """ "failed to render: /etc/passwd" did not say that no file can be loaded (a newcomer's audit)."""
    template = tmp_path / "mine.md.j2"
    template.write_text(f"ok\n{tag}\n", encoding="utf-8")
    config = base_config.model_copy(update={"comment_template": template})
    with pytest.raises(ConfigError, match="a comment_template is one file, without include/import/extends"):
        render_comment(review_factory(), config)


def test_render_comment__a_user_template_error_names_its_file_and_line(
    tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    """The user's mistake on line 3 ("severity" where they meant "f.severity") is named there."""
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "# Review\n{% for f in findings %}\n- {{ severity }}\n{% endfor %}\n", encoding="utf-8"
    )
    config = base_config.model_copy(update={"comment_template": template})
    with pytest.raises(ConfigError) as caught:
        render_comment(review_factory(), config)
    assert (
        str(caught.value) == f"comment_template {template}: line 3: failed to render: 'severity' is undefined"
    )


def test_render_comment__a_user_template_not_utf8_is_a_config_error(
    tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_bytes(b"\xff\xfe{{ review }}")
    config = base_config.model_copy(update={"comment_template": template})
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        render_comment(review_factory(), config)


def test_plain__gate_values() -> None:
    from metasup.render.filters import plain

    assert plain(None) == "—"
    assert plain([]) == "none"
    assert plain([-0.0075951, 0.5]) == "-0.007595, 0.5"
    assert plain({"cost_30d": 305.39, "note": "a|b"}) == "cost\\_30d=305.4, note=a\\|b"  # keys escaped too
    assert plain(True) == "yes"
