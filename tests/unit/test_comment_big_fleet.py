"""The PR comment of a 480-agent fleet: what is cut to fit GitHub's limit matters least, and every
"… and N more" tells the truth (an audit with a 400–480-agent fleet, SPEC §4.2).

The fleet is laid out like a registry: 40 classes of 12 agents with long names, approved sandbox
classes first, then healthy prod classes, demoted, killed and blocked ones last. Registry order
put every killed agent at the end of the table, where the old halving cut them first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from test_render_references import Outcome

from metasup.evaluate.findings import collect_findings
from metasup.evaluate.recommendations import recommend
from metasup.model.config import Config
from metasup.model.review import (
    AgentReport,
    Allocation,
    DataQuality,
    Demotion,
    Gate,
    Metrics,
    Promotion,
    Retirement,
    Review,
    Rule,
)
from metasup.render.bodies import render_rolling_summary
from metasup.render.comment import (
    GITHUB_COMMENT_LIMIT,
    JOB_SUMMARY_LIMIT,
    TOP_ACTIONS,
    TOP_FINDINGS,
    render_comment,
)
from metasup.render.filters import escape_markdown

GATES = ("behavioral", "pnl", "confidence_decay", "cost_drift", "kill_list", "safety", "evidence", "skill")
AgentFactory = Callable[..., AgentReport]

DRIFTING_CLASSES = 10
"""Classes whose agents get a MEDIUM cost-drift finding (and a P1 action)."""


def fleet_agent(make: AgentFactory, klass: int, index: int) -> AgentReport:
    """One agent of class ``klass``: its group (by class) decides its stage, gates and fate."""
    name = f"class_{klass:02d}-agent-{index:02d}-with-a-very-long-descriptive-name-v{index % 5 + 1}"
    sandbox = klass < 15 or klass >= 35 or (30 <= klass < 35 and index % 2 == 0)
    passed = klass < 15
    gates = [Gate(name=g, passed=passed or g != "pnl", evidence=f"{g} evidence") for g in GATES]
    result = ("APPROVED" if passed else "BLOCKED") if sandbox else "NOT_APPLICABLE"
    killed = 30 <= klass < 35
    demoted = 25 <= klass < 30
    status = (
        "killed"
        if killed
        else "demoted"
        if demoted
        else {"APPROVED": "approved", "BLOCKED": "blocked"}.get(result, "active")
    )
    return make(
        name,
        strategy_class=f"class_{klass:02d}",
        stage="sandbox" if sandbox else "prod",
        metrics=Metrics(
            behavioral_score=85.0,
            alpha_30d=0.001,
            cost_30d=120.0,
            cost_drift=0.5 if klass < DRIFTING_CLASSES else None,
        ),
        promotion=Promotion(result=result, gates=gates if sandbox else []),
        retirement=Retirement(kill=killed, rules=[Rule(name="alpha_negative", triggered=killed)]),
        demotion=Demotion(demoted=demoted, window_days=44.0, threshold=0.1, evidence="PSR 0.01 < 0.1")
        if demoted
        else None,
        status=status,
    )


def big_review(
    make: AgentFactory, review_factory: Callable[..., Review], config: Config, classes: int = 40
) -> Review:
    """``classes`` × 12 agents with the findings and actions the evaluator gives them."""
    agents = [fleet_agent(make, k, i) for k in range(classes) for i in range(12)]
    findings = collect_findings(agents, [], DataQuality(), config, None, "main")
    return review_factory(agents=agents, findings=findings, recommendations=recommend(findings, agents))


def table_rows(body: str) -> list[str]:
    """The agent names in the health table's rows (not its "… and N more" row)."""
    table = body.split("### 📊 Agent Health Summary", 1)[1].split("\n---", 1)[0]
    return [
        line.split(" | ")[0].removeprefix("| ")
        for line in table.splitlines()[3:]
        if line.startswith("| ") and not line.startswith("| … and ")
    ]


def test_big_fleet__every_high_finding_stays_in_the_comment(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """16 HIGH kill findings were dropped while the table kept rows of healthy agents."""
    review = big_review(agent_factory, review_factory, base_config)
    body = render_comment(review, base_config).body

    assert len(body) <= GITHUB_COMMENT_LIMIT
    high = [f for f in review.findings if f.severity in ("HIGH", "CRITICAL")]
    assert len(high) == 120
    missing = [f.title for f in high if f"**{f.severity} · {escape_markdown(f.title)}**" not in body]
    assert missing == []


def test_big_fleet__killed_and_demoted_agents_keep_their_rows(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """The table kept 120 rows in registry order and none of the killed or demoted agents."""
    review = big_review(agent_factory, review_factory, base_config)
    rendered = render_comment(review, base_config)

    rows = set(table_rows(rendered.body))
    must = [a.agent for a in review.agents if a.status in ("killed", "demoted")]
    assert len(must) == 120
    assert [name for name in must if escape_markdown(name) not in rows] == []
    assert rendered.agents_hidden == len(review.agents) - len(rows) > 0
    hidden = [a.status for a in review.agents if escape_markdown(a.agent) not in rows]
    assert "active" in hidden  # a healthy agent leaves the table before any that something happens to


def test_big_fleet__every_more_count_is_the_true_number(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """ "104 more findings" in the fold and "… and 109 more" after it: two numbers, neither the total."""
    review = big_review(agent_factory, review_factory, base_config)
    body = render_comment(review, base_config).body

    for noun, total, top, listed in (
        ("finding", len(review.findings), TOP_FINDINGS, body.count("\n- **")),
        (
            "action",
            len(review.recommendations),
            TOP_ACTIONS,
            len(re.findall(r"^- .* \(P[012]\)$", body, re.M)),
        ),
    ):
        folded = re.search(rf"<summary>(\d+) more {noun}s\b", body)
        hidden = re.search(
            r"^- … and (\d+) more \(every one is in the job summary\)$",
            body[body.index(f"more {noun}s") :],
            re.M,
        )
        assert folded is not None, noun
        assert hidden is not None, noun
        assert int(folded.group(1)) == total - top  # the fold's summary counts all the rest, listed or not
        assert listed + int(hidden.group(1)) == total

    rows = table_rows(body)
    more_agents = re.search(r"^\| … and (\d+) more \| \| \| \| \|$", body, re.M)
    assert more_agents is not None
    assert len(rows) + int(more_agents.group(1)) == len(review.agents)
    assert f"*Not listed: {more_agents.group(1)} agents (" in body


def test_big_fleet__gate_matrix_counts_every_sandbox_agent(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """The matrix was built from the cut agent list: "50 sandbox agents … and 100 more" of 225."""
    review = big_review(agent_factory, review_factory, base_config, classes=30)
    healthy = [  # many prod rows, with names as long as a cell shows (longer ones are cut)
        a.model_copy(update={"agent": f"{a.agent}-{copy}-" + "x" * 60})
        for a in review.agents
        if a.status == "active"
        for copy in range(8)
    ]
    others = [a for a in review.agents if a.status != "active"]
    review = review.model_copy(
        update={"agents": healthy + others, "findings": review.findings[:5], "recommendations": []}
    )  # prod agents first, many: the table has to be cut, the gate matrix need not be
    judged = sum(1 for a in review.agents if a.promotion.result in ("APPROVED", "BLOCKED"))
    rendered = render_comment(review, base_config)

    assert rendered.agents_hidden > 0
    shown = re.search(r"<summary>All 9 gates for (\d+) sandbox agents</summary>", rendered.body)
    more = re.search(r"^\| … and (\d+) more \|(?: \|){10}$", rendered.body, re.M)
    assert shown is not None
    assert more is not None
    assert int(shown.group(1)) + int(more.group(1)) == judged == 180


def test_comment__one_very_long_name_does_not_push_the_rest_out(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """One agent named with 70,000 characters hid 10 of 14 rows, the approvals among them, and the
    gate matrix (found by an audit): a name is cut at 80 characters in a cell, any value at 2,000."""
    review = big_review(agent_factory, review_factory, base_config, classes=1)
    long_name = "a" * 70_000
    agents = [review.agents[0].model_copy(update={"agent": long_name}), *review.agents[1:]]
    findings = collect_findings(agents, [], DataQuality(), base_config, None, "main")
    review = review_factory(agents=agents, findings=findings, recommendations=recommend(findings, agents))

    rendered = render_comment(review, base_config)

    assert (rendered.agents_hidden, rendered.findings_hidden) == (0, 0)
    assert "a" * 79 + "…" in rendered.body
    assert "a" * 2_001 not in rendered.body
    assert "<summary>All 9 gates for" in rendered.body


def test_job_summary__gate_matrix_lists_every_sandbox_agent(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """The job summary is the full report, yet its matrix stopped at 50 rows: "… and 220 more"."""
    review = big_review(agent_factory, review_factory, base_config)
    judged = [a.agent for a in review.agents if a.promotion.result in ("APPROVED", "BLOCKED")]

    body = render_comment(review, base_config, limit=10**9).body

    assert f"<summary>All 9 gates for {len(judged)} sandbox agents</summary>" in body
    matrix = body.split("<summary>All 9 gates", 1)[1].split("</details>", 1)[0]
    assert all(f"| {escape_markdown(name)} |" in matrix for name in judged)
    assert "… and" not in matrix


def test_job_summary__a_huge_fleet_stays_under_githubs_one_mebibyte(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """GitHub refuses a step summary over 1 MiB: 3,000 agents are cut to fit, killed rows kept."""
    review = big_review(agent_factory, review_factory, base_config, classes=250)
    full = render_comment(review, base_config, limit=10**9).body
    assert len(full.encode()) > 2**20  # the whole review would not be shown at all

    body = render_comment(review, base_config, limit=JOB_SUMMARY_LIMIT).body

    assert len(body.encode()) < 2**20
    rows = set(table_rows(body))
    assert all(escape_markdown(a.agent) in rows for a in review.agents if a.status == "killed")


def test_job_summary__counts_bytes_as_github_does(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """3,000 agents with CJK names: 900,000 characters were 2.2 MB, over GitHub's 1 MiB, and the
    whole summary was refused (found by an audit). The limit counts UTF-8 bytes."""
    agents = [
        fleet_agent(agent_factory, k, i).model_copy(update={"agent": f"交易代理人{k}-{i}" * 6})
        for k in range(250)
        for i in range(12)
    ]
    findings = collect_findings(agents, [], DataQuality(), base_config, None, "main")
    review = review_factory(agents=agents, findings=findings, recommendations=recommend(findings, agents))

    body = render_comment(review, base_config, limit=JOB_SUMMARY_LIMIT).body

    assert len(render_comment(review, base_config, limit=10**9).body.encode("utf-8")) > 2**20
    assert len(body.encode("utf-8")) <= JOB_SUMMARY_LIMIT
    assert "… and" in body  # cut by leaving rows out, as a comment is, not cut off mid-table


def test_rolling_summary__the_allocation_and_the_review_fit_one_mebibyte_together(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """The review was cut to 900,000 bytes, then the allocation of 1,500 agents went on top: 1.09 MB,
    and GitHub refused the whole summary (found by a review). The review gets what is left."""
    agents = [
        fleet_agent(agent_factory, k, i).model_copy(update={"agent": f"交易代理人{k}-{i}" * 6})
        for k in range(250)
        for i in range(12)
    ]
    findings = collect_findings(agents, [], DataQuality(), base_config, None, "main")
    weighted = [a.agent for a in agents][:1500]
    review = review_factory(
        agents=agents,
        findings=findings,
        recommendations=recommend(findings, agents),
        allocation=Allocation(capital=1e6, cash=0.0, weights={name: 1 / 1500 for name in weighted}),
    )

    summary = render_rolling_summary(Outcome(review), base_config)

    assert len(summary.encode("utf-8")) <= 2**20 - 8_192
    assert summary.count("| 0.07% |") == 1500  # every allocated agent is listed
    assert "### 📊 Agent Health Summary" in summary


def test_big_fleet__gate_matrix_keeps_the_approved_agents_beyond_its_first_50_rows(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    """The registry lists 90 blocked sandbox agents before the 6 this PR approves: the matrix kept
    its first 50 rows in registry order, so the promotions were the rows it left out. It keeps the
    approved ones, still in the review's order."""
    review = big_review(agent_factory, review_factory, base_config)
    blocked = [a for a in review.agents if a.promotion.result == "BLOCKED"]
    approved = [a for a in review.agents if a.promotion.result == "APPROVED"][:6]
    assert len(blocked) == 90
    review = review.model_copy(
        update={"agents": blocked + approved, "findings": review.findings[:5], "recommendations": []}
    )

    body = render_comment(review, base_config).body

    matrix = body.split("<summary>All 9 gates", 1)[1].split("</details>", 1)[0]
    rows = [line.split(" | ")[0].removeprefix("| ") for line in matrix.splitlines() if line.startswith("| ")]
    names = [name for name in rows if name not in ("Agent", "… and 46 more")]
    assert "| … and 46 more |" in matrix
    assert len(names) == 50
    assert names[-6:] == [escape_markdown(a.agent) for a in approved]
    assert names[:44] == [escape_markdown(a.agent) for a in blocked[:44]]
