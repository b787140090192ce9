"""The LP e-mail of a big fleet (SPEC §6): under Gmail's clipping size, and nothing an LP needs lost.

Gmail clips an HTML part over ~102 KB behind "View entire message"; an audit of a 400-agent fleet
(175 prod agents) found a 263 KB HTML part, so the class attribution, the log and the footnotes
were hidden. Built like ``test_lp_email.py``'s hostile report: :func:`compute_lp_report` on a
generated fleet of 300 prod agents in 30 classes, some killed, demoted or excluded.
"""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import math
import re
from email.message import EmailMessage

import numpy as np
import pandas as pd
import pytest

from metasup.lp.charts import attribution_bars
from metasup.lp.email import build_message, render_text
from metasup.lp.report import LpReport, Strategies, StrategyState, compute_lp_report
from metasup.lp.statistics import daily_returns
from metasup.model.config import EmailConfig
from metasup.render.filters import usd

GMAIL_CLIP_BYTES = 102_000
"""Gmail clips a message whose HTML is over about 102 KB; stay under it, counted in bytes."""
CLASSES = [f"c{k:02d}_momentum_intraday" for k in range(30)]
AGENTS = {f"{klass}-agent-{j:02d}-v1": klass for klass in CLASSES for j in range(10)}
ROW = re.compile(r"^  (.{28})\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$")


def agents_of(klass: str) -> list[str]:
    return [name for name, owner in AGENTS.items() if owner == klass]


def fleet_strategies() -> Strategies:
    """A killed class (in the ledger) and one killed by this report, kills and demotions of agents
    by this report and in the ledger, an agent on the kill list, a deprecated class."""
    classes = [StrategyState(name=c, status="active", active=True) for c in CLASSES]
    classes[0] = StrategyState(name=CLASSES[0], status="killed", active=False, since="2026-10-21")
    classes[1] = StrategyState(name=CLASSES[1], status="killed", active=False, decided_now=True)
    classes[29] = StrategyState(name=CLASSES[29], status="deprecated", active=True)
    states = {name: StrategyState(name=name, status="active", active=True, strategy_class=k)
              for name, k in AGENTS.items()}  # fmt: skip
    for name in agents_of(CLASSES[0]):
        states[name] = StrategyState(
            name=name, status="killed (class)", active=False, strategy_class=CLASSES[0]
        )
    for name in agents_of(CLASSES[1]):
        states[name] = StrategyState(
            name=name, status="killed", active=False, strategy_class=CLASSES[1], decided_now=True
        )
    for name in agents_of(CLASSES[2])[:4]:
        states[name] = StrategyState(
            name=name, status="demoted", active=False, strategy_class=CLASSES[2], decided_now=True
        )
    for name in agents_of(CLASSES[3])[:3]:
        states[name] = StrategyState(
            name=name, status="killed", active=False, strategy_class=CLASSES[3], since="2026-10-20"
        )
    excluded = agents_of(CLASSES[4])[0]
    states[excluded] = StrategyState(
        name=excluded, status="killed (kill_list)", active=False, strategy_class=CLASSES[4]
    )
    return Strategies(classes=classes, agents=list(states.values()))


def ledger() -> list[dict[str, object]]:
    kills: list[dict[str, object]] = [
        {"ts": "2026-10-20T10:00:00Z", "event": "killed", "subject": name, "data": {"reason": "alpha"}}
        for name in agents_of(CLASSES[3])[:3]
    ]
    return [
        *kills,
        {"ts": "2026-10-21T09:00:00Z", "event": "killed", "subject": f"class:{CLASSES[0]}", "data": {}},
        {"ts": "2026-10-22T09:00:00Z", "event": "promoted", "subject": agents_of(CLASSES[5])[9],
         "data": {"pr": 41}},
        {"ts": "2026-10-23T09:00:00Z", "event": "demotion_vetoed", "subject": agents_of(CLASSES[6])[1],
         "data": {"pr": 42, "closed_at": "2026-10-23T08:00:00Z"}},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def big() -> LpReport:
    """300 prod agents trading every weekday from September; the report of week 2026-W43."""
    capital = 2_000_000.0
    days = pd.bdate_range("2026-09-01", "2026-10-23", tz="UTC")
    rng = np.random.default_rng(20261026)
    names = list(AGENTS)
    recon = pd.DataFrame(
        {
            "exit_ts": np.repeat(days + pd.Timedelta(hours=15), len(names)),
            "agent": np.tile(np.array(names, dtype=object), len(days)),
            "pnl": rng.normal(5.0, 400.0, len(days) * len(names)).round(2),
        }
    )
    recon["status"] = "realized"
    recon["strategy_class"] = recon["agent"].map(AGENTS)
    recon["fee"] = 1.25
    costs = pd.DataFrame(
        {
            "ts": np.repeat(days + pd.Timedelta(hours=23), len(names)),
            "agent": np.tile(np.array(names, dtype=object), len(days)),
            "cost_usd": 3.5,
        }
    )
    as_of = pd.Timestamp("2026-10-26T12:00", tz="UTC")
    return compute_lp_report(
        daily_returns(recon, names, capital, as_of),
        recon,
        costs,
        names,
        AGENTS,
        capital,
        dt.date(2026, 10, 19),
        dt.date(2026, 10, 25),
        as_of,
        ledger_records=ledger(),
        strategies=fleet_strategies(),
    )


@pytest.fixture(scope="module")
def message(big: LpReport) -> EmailMessage:
    config = EmailConfig.model_validate({"from": "metasup@fund.example", "whitelist": ["@lp.example"]})
    return build_message(big, {}, config, ["lp1@lp.example"])


@pytest.fixture(scope="module")
def html(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    content: str = body.get_content()
    return content


@pytest.fixture(scope="module")
def text(big: LpReport) -> str:
    return render_text(big)


def html_section(page: str, title: str) -> str:
    """From the ``<h2>`` whose text starts with ``title`` to the next one; it must be shown before
    Gmail's clip (within the first 102 KB of the HTML)."""
    start = page.index(f">{title}")
    end = page.find("<h2", start)
    end = len(page) if end < 0 else end
    assert len(page[:end].encode("utf-8")) < GMAIL_CLIP_BYTES, f"{title!r} is behind Gmail's clip"
    return page[start:end]


def text_section(body: str, title: str) -> str:
    start = body.index(title)
    return body[start : body.index("\n\n", start)]


def money(cell: str) -> float:
    """``−$1,234.50`` → -1234.5."""
    sign = -1.0 if cell.startswith("−") else 1.0
    return sign * float(cell.lstrip("−").lstrip("$").replace(",", ""))


def table_rows(section: str) -> list[tuple[str, float, float, float]]:
    """A text attribution table's rows as ``(name, pnl, costs, net)`` (names cut to 28
    characters, so not unique), the total row included."""
    rows = []
    for line in section.splitlines()[2:]:
        match = ROW.match(line)
        if match:
            rows.append((match[1].strip(), money(match[2]), money(match[4]), money(match[5])))
    return rows


def test_big_fleet__html_part_is_under_gmails_clipping_size(html: str) -> None:
    size = len(html.encode("utf-8"))
    assert size < GMAIL_CLIP_BYTES, f"HTML part is {size} bytes"
    assert "How these numbers are computed" in html


@pytest.mark.parametrize(
    ("title", "noun", "rows"), [("AGENT", "agents", "agents"), ("STRATEGY CLASS", "classes", "classes")]
)
def test_big_fleet__attribution_sums_to_the_fund(
    big: LpReport, text: str, html: str, title: str, noun: str, rows: str
) -> None:
    """Top and bottom rows plus one summed "N other" row: the table still adds up to the fund's
    PnL, costs and net (the bridge)."""
    every = getattr(big.attribution, rows)
    *table, (last, *total) = table_rows(text_section(text, f"ATTRIBUTION BY {title}, THIS PERIOD"))
    assert last == "Total"
    others = [name for name, *_ in table if re.fullmatch(rf"\d+ other {noun}", name)]
    assert len(others) == 1
    assert len(table) <= 21 < len(every)
    assert int(others[0].split()[0]) == len(every) - (len(table) - 1)
    fund_pnl = big.bridge.gross - big.bridge.fees
    assert big.pnl.period == pytest.approx(fund_pnl, abs=1e-6)
    cents = 0.005 * (len(table) + 1)
    assert sum(row[1] for row in table) == pytest.approx(fund_pnl, abs=cents)
    assert sum(row[2] for row in table) == pytest.approx(big.bridge.costs, abs=cents)
    assert sum(row[3] for row in table) == pytest.approx(big.bridge.net, abs=cents)
    assert total == [money(usd(fund_pnl)), money(usd(big.bridge.costs)), money(usd(big.bridge.net))]
    heading = "Attribution by agent" if rows == "agents" else "Attribution by strategy class"
    section = html_section(html, heading)
    assert f">{others[0]}</td>" in section
    assert f">{usd(fund_pnl)}</td>" in section
    assert section.count("<tr>") <= 23


def test_big_fleet__every_killed_demoted_or_excluded_strategy_is_named(
    big: LpReport, text: str, html: str
) -> None:
    """Named in the strategies table with its status, before Gmail's clip; the active agents are
    summarized by class instead of one row each."""
    section = html_section(html, "Strategies on")
    rows = section.split("<tr>")
    text_part = text[text.index("STRATEGIES ON") : text.index("PROMOTIONS, DEMOTIONS AND KILLS")]
    text_rows = re.split(r"\n  (?=\S)", text_part)
    inactive = [s for s in (*big.strategies.classes, *big.strategies.agents) if not s.active]
    assert len(inactive) == 2 + 10 + 10 + 4 + 3 + 1
    for state in inactive:
        assert any(state.name in row and html_lib.escape(state.words) in row for row in rows), state.name
        assert any(state.name in row and row.startswith(state.words) for row in text_rows), state.name
    active = [s.name for s in big.strategies.agents if s.active]
    assert not any(name in section for name in active)
    assert not any(name in text_part for name in active)
    for klass in CLASSES[5:]:
        assert f"{klass} (10)" in text_part


def test_big_fleet__the_log_is_complete(big: LpReport, text: str, html: str) -> None:
    """Every entry of the promotion/demotion/kill log is in both parts, with its words, before the clip."""
    assert len(big.log) == 3 + 1 + 1 + 1 + 1 + 10 + 4
    rows = html_section(html, "Promotions, demotions and kills").split("<tr>")
    text_part = text[text.index("PROMOTIONS, DEMOTIONS AND KILLS") : text.index("HOW THESE NUMBERS")]
    text_rows = re.split(r"\n  (?=\d{4}-)", text_part)
    for entry in big.log:
        assert any(
            f">{entry.subject}</b>" in row and html_lib.escape(entry.words) in row.lower() for row in rows
        ), entry
        assert any(entry.subject in row and f"  {entry.words}" in row for row in text_rows), entry
        if entry.detail:
            assert any(entry.subject in row and entry.detail in row for row in text_rows), entry


def test_big_fleet__every_agents_figures_are_attached_as_csv(
    big: LpReport, message: EmailMessage, text: str, html: str
) -> None:
    attachments = list(message.iter_attachments())
    assert [part.get_content_type() for part in attachments] == ["text/csv"]
    name = attachments[0].get_filename()
    assert name == "lp-agents-weekly-2026-W43.csv"
    assert name in text
    assert name in html_section(html, "Attribution by agent")
    content = attachments[0].get_content()
    rows = list(csv.DictReader(io.StringIO(content if isinstance(content, str) else content.decode())))
    assert {row["agent"] for row in rows} == set(big.attribution.agents)
    assert math.fsum(float(row["pnl"]) for row in rows) == pytest.approx(big.pnl.period, abs=1e-6)
    demoted = next(row for row in rows if row["agent"] == agents_of(CLASSES[2])[0])
    assert (demoted["strategy_class"], demoted["status"]) == (CLASSES[2], "demoted")


def test_big_fleet__the_chart_shows_the_tables_agents_best_and_worst(big: LpReport, text: str) -> None:
    """The chart summed the bottom of the fleet into "N others" (the worst losers unseen) and its N
    differed from the table's: it now draws the table's rows, the summed one between."""
    bars = attribution_bars(big)
    ranked = sorted(big.attribution.agents.items(), key=lambda item: (-item[1].pnl, item[0]))
    assert [name for name, _ in bars[:8]] == [name for name, _ in ranked[:8]]
    assert [name for name, _ in bars[-8:]] == [name for name, _ in ranked[-8:]]  # the worst are shown
    others = bars[8][0]
    assert others == f"{len(ranked) - 16} other agents"
    assert others in text  # the table's own "N other agents" row
    assert math.fsum(row.pnl for _, row in bars) == pytest.approx(big.pnl.period)  # the fund's, after fees
