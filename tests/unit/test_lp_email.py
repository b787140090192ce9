"""LP e-mail rendering (SPEC §6): MIME structure, escaping, self-contained HTML, recipients."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import struct
import warnings
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import pytest

import metasup.examples
from metasup.lp.charts import Charts, drawable, render_charts
from metasup.lp.email import build_message, preview_html, render_text, subject
from metasup.lp.report import LpReport, Strategies, StrategyState, build_lp_report, compute_lp_report
from metasup.lp.smtp import EmailError, filter_recipients, send_report
from metasup.lp.statistics import daily_returns, last_complete_period
from metasup.model.config import EmailConfig, SmtpConfig
from metasup.runner import default_as_of, load_workspace, supervise_workspace

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "$x^2$ & co"]
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "body",
    "table",
    "tr",
    "td",
    "th",
    "div",
    "h2",
    "p",
    "img",
    "span",
    "b",
    "br",
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def email_config(**overrides: Any) -> EmailConfig:
    fields: dict[str, Any] = {
        "from": "metasup@fund.example",
        "whitelist": ["@lp.example", "Boss@Fund.example"],
    }
    return EmailConfig.model_validate({**fields, **overrides})


@pytest.fixture(scope="module")
def demo_report() -> LpReport:
    """A real report: the bundled demo, reconciled at its default as_of, last complete week."""
    workspace = load_workspace(metasup.examples.CONFIG_PATH)
    as_of = default_as_of(workspace.artifacts)
    supervision = supervise_workspace(workspace, as_of, None)
    records = [
        {
            "ts": "2026-10-20T10:00:00Z",
            "event": "killed",
            "subject": "meanrev-legacy",
            "data": {"rules": ["a", "b"]},
        },
        {"ts": "2026-10-21T10:00:00Z", "event": "promoted", "subject": "momo-beta", "data": {"pr": 12}},
    ]
    period = last_complete_period(as_of, "weekly")
    return build_lp_report(supervision, workspace.config, as_of, period, records)


@pytest.fixture(scope="module")
def hostile_report() -> LpReport:
    capital = 100_000.0
    days = pd.bdate_range("2026-10-01", "2026-10-23", tz="UTC")
    rows = [
        {
            "exit_ts": day + pd.Timedelta(hours=15),
            "agent": HOSTILE[i % 3],
            "strategy_class": HOSTILE[(i + 1) % 3],
        }
        for i, day in enumerate(days)
    ]
    recon = pd.DataFrame(rows)
    recon["status"] = "realized"
    recon["pnl"] = [(-1) ** i * 100.0 * (i % 5) for i in range(len(rows))]
    recon["fee"] = 1.0
    costs = pd.DataFrame({"ts": [days[-1]], "agent": [HOSTILE[0]], "cost_usd": [3.0]})
    as_of = pd.Timestamp("2026-10-26T12:00", tz="UTC")
    daily = daily_returns(recon, HOSTILE, capital, as_of)
    strategies = Strategies(
        classes=[StrategyState(name=HOSTILE[1], status="killed", active=False)],
        agents=[StrategyState(name=HOSTILE[0], status="active", active=True, strategy_class=HOSTILE[2])],
    )
    records = [
        {"ts": "2026-10-20T10:00:00Z", "event": "killed", "subject": HOSTILE[0], "data": {"why": HOSTILE[1]}}
    ]
    return compute_lp_report(
        daily,
        recon,
        costs,
        HOSTILE,
        {name: HOSTILE[2] for name in HOSTILE},
        capital,
        dt.date(2026, 10, 19),
        dt.date(2026, 10, 25),
        as_of,
        ledger_records=records,
        strategies=strategies,
    )


def html_part(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    content: str = body.get_content()
    return content


def test_build_message__structure_on_the_demo(demo_report: LpReport) -> None:
    charts = render_charts(demo_report)
    message = build_message(
        demo_report, charts, email_config(), ["lp1@lp.example", "Boss <boss@fund.example>"]
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, related = list(parsed.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    inner = list(related.iter_parts())
    assert [p.get_content_type() for p in inner] == ["text/html", "image/png", "image/png"]
    assert parsed["Subject"] == "LP report — week 2026-W43 (Oct 19 – Oct 25)"
    assert parsed["X-Metasup-Period"] == "weekly:2026-W43"
    assert parsed["From"] == "metasup@fund.example"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["lp1@lp.example", "boss@fund.example"]
    text = plain.get_content()
    assert "week 2026-W43 (Oct 19 – Oct 25)" in text
    assert "momo-alpha" in text
    assert "PROMOTIONS, DEMOTIONS AND KILLS" in text


def test_build_message__every_cid_has_its_image(demo_report: LpReport) -> None:
    charts = render_charts(demo_report)
    message = build_message(demo_report, charts, email_config(), ["lp1@lp.example"])
    html = html_part(message)
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert len(cids) == 2
    images = {
        str(part["Content-ID"]).strip("<>"): part.get_content()
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert set(cids) == set(images)
    assert {bytes(v) for v in images.values()} == set(charts.values())
    assert all(
        src.startswith("cid:")
        for tag, attrs in parse_tags(html)
        if tag == "img"
        for src in [attrs["src"] or ""]
    )


def test_html__self_contained_and_script_free(demo_report: LpReport) -> None:
    html = html_part(build_message(demo_report, render_charts(demo_report), email_config(), []))
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert {tag for tag, _ in parse_tags(html)} <= ALLOWED_TAGS
    for _, attrs in parse_tags(html):
        assert not any(name.startswith("on") for name in attrs)


def test_html__escapes_hostile_names(hostile_report: LpReport) -> None:
    charts = render_charts(hostile_report)  # matplotlib must not parse "$x^2$" as mathtext, nor fail
    html = html_part(build_message(hostile_report, charts, email_config(), []))
    preview = preview_html(hostile_report, charts)
    for page in (html, preview):
        assert "<script" not in page.lower()
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
        tags = parse_tags(page)
        assert {tag for tag, _ in tags} <= ALLOWED_TAGS
        assert sum(tag == "img" for tag, _ in tags) == 2
        assert not any(name.startswith("on") for _, attrs in tags for name in attrs)
    assert HOSTILE[0] in render_text(hostile_report)  # text/plain is not HTML: shown as is


def test_preview_html__embeds_data_uris(demo_report: LpReport) -> None:
    preview = preview_html(demo_report, render_charts(demo_report))
    sources = [attrs["src"] or "" for tag, attrs in parse_tags(preview) if tag == "img"]
    assert len(sources) == 2
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert "cid:" not in preview


def test_render_charts__small_deterministic_pngs(demo_report: LpReport) -> None:
    charts = render_charts(demo_report)
    assert set(charts) == {"equity", "attribution"}
    for png in charts.values():
        width, height = png_size(png)
        assert width == 600  # the e-mail's width: shown at 1:1 on a 600-pixel screen
        assert 150 <= height <= 800
        assert len(png) < 150_000
    assert render_charts(demo_report) == charts


def test_render__empty_report() -> None:
    as_of = pd.Timestamp("2026-10-26T12:00", tz="UTC")
    empty = pd.DataFrame(
        {
            "exit_ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            "agent": [],
            "status": [],
            "pnl": [],
            "fee": [],
        }
    )
    costs = pd.DataFrame({"ts": pd.Series([], dtype="datetime64[ns, UTC]"), "agent": [], "cost_usd": []})
    daily = daily_returns(empty, [], 1e6, as_of)
    report = compute_lp_report(
        daily, empty, costs, [], {}, 1e6, dt.date(2026, 10, 19), dt.date(2026, 10, 25), as_of
    )
    charts = render_charts(report)
    assert all(png.startswith(PNG_MAGIC) for png in charts.values())
    message = build_message(report, charts, email_config(), [])
    assert "No prod agent." in html_part(message)
    assert json.loads(report.to_json())["sharpe"] is None


def test_subject__names_the_period(demo_report: LpReport) -> None:
    assert subject(demo_report, "Fund X") == "Fund X — week 2026-W43 (Oct 19 – Oct 25)"


def test_demo_report__numbers_hold_together(demo_report: LpReport) -> None:
    assert demo_report.period.key == "weekly:2026-W43"
    assert demo_report.signals.realized > 0
    assert sum(r.pnl for r in demo_report.attribution.agents.values()) == pytest.approx(
        demo_report.pnl.period
    )
    assert sum(r.pnl for r in demo_report.attribution.classes.values()) == pytest.approx(
        demo_report.pnl.period
    )
    assert {s.name for s in demo_report.strategies.classes} == {"momentum", "mean_reversion", "llm_macro"}
    assert [(e.event, e.source) for e in demo_report.log] == [
        ("killed", "ledger"),
        ("promoted", "ledger"),
        ("killed", "review"),  # llm_macro: this report's review, not yet in the ledger
        ("demoted", "review"),
    ]
    json.loads(demo_report.to_json())


# --------------------------------------------------------------------------------------------
# Recipients
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "whitelist", "allowed"),
    [
        (["a@lp.example"], ["a@lp.example"], ["a@lp.example"]),
        (["A@LP.example"], ["a@lp.EXAMPLE"], ["A@LP.example"]),
        (["a@lp.example", "b@other.example"], ["@lp.example"], ["a@lp.example"]),
        (["a@sub.lp.example"], ["@lp.example"], []),  # a domain entry does not cover subdomains
        (["Ann <ann@lp.example>"], ["@LP.example"], ["Ann <ann@lp.example>"]),
        (["a@lp.example", "A@lp.example"], ["@lp.example"], ["a@lp.example"]),  # duplicates once
        (["a@lp.example"], [], []),  # an empty whitelist allows nobody
        (["not-an-address", "a@lp.example\r\nBcc: evil@x.example"], ["@lp.example"], []),
        (["evil@x.example <a@lp.example>"], ["@lp.example"], []),  # unparseable: dropped
        # typos a person makes: dropped (and reported), never a crash of the run
        (["bob@lp.example.", "bob@.lp.example", "bob@lp..example", "a@b@lp.example"], ["@lp.example"], []),
        # several addresses in one entry: none is sent, so nobody is silently left out
        (["Ann <ann@lp.example>, Bob <bob@lp.example>"], ["@lp.example"], []),
        (["Ann <ann@lp.example>; Bob <bob@lp.example>"], ["@lp.example"], []),
        (["Bob <bob@lp.example> Ann <ann@lp.example>"], ["@lp.example"], []),
        (['"Doe, Jane" <jane@lp.example>'], ["@lp.example"], ['"Doe, Jane" <jane@lp.example>']),
        # an RFC 2047 encoded word is decoded by the header (=0D=0A: a line break); the header
        # parser raised ValueError on this one, which ended the whole rolling run before its state
        (["=?utf-8?q?Bob=0D=0A?= <bob@lp.example>", "ann@lp.example"], ["@lp.example"], ["ann@lp.example"]),
        (["=?utf-8?q?Bob?= <bob@lp.example>"], ["@lp.example"], []),
    ],
)
def test_filter_recipients(to: list[str], whitelist: list[str], allowed: list[str]) -> None:
    kept, dropped = filter_recipients(to, whitelist)
    assert kept == allowed
    assert len(kept) + len(dropped) <= len(to)  # duplicates of a kept address are neither
    assert not set(kept) & set(dropped)


def test_filter_recipients__reports_what_it_drops() -> None:
    kept, dropped = filter_recipients(["a@lp.example", "x@else.example"], ["@lp.example"])
    assert (kept, dropped) == (["a@lp.example"], ["x@else.example"])
    several = "Ann <ann@lp.example>, Bob <bob@lp.example>"
    assert filter_recipients(["bob@lp.example.", several], ["@lp.example"]) == (
        [],
        ["bob@lp.example.", several],
    )


def test_build_message__the_to_header_names_each_recipient_once(demo_report: LpReport) -> None:
    allowed, _ = filter_recipients(['"Doe, Jane" <jane@lp.example>', "ann@lp.example"], ["@lp.example"])
    message = build_message(demo_report, {}, email_config(), allowed)
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("Doe, Jane", "jane@lp.example"),
        ("", "ann@lp.example"),
    ]


def test_build_message__a_sender_named_with_a_comma_is_one_mailbox(demo_report: LpReport) -> None:
    """Unquoted, ``Acme Capital, LLC <lp@…>`` was written as two mailboxes, the first without an
    address (the config refuses it now); quoted, it is one From with that name."""
    config = email_config(**{"from": '"Acme Capital, LLC" <lp@fund.example>'})
    message = build_message(demo_report, {}, config, [])
    assert [(a.display_name, a.addr_spec) for a in message["From"].addresses] == [
        ("Acme Capital, LLC", "lp@fund.example")
    ]


def test_build_message__refuses_unlisted_recipient_and_missing_sender(demo_report: LpReport) -> None:
    charts = render_charts(demo_report)
    with pytest.raises(EmailError, match=re.escape("not in email.whitelist: x@else.example")):
        build_message(demo_report, charts, email_config(), ["x@else.example"])
    with pytest.raises(EmailError, match=re.escape("email.from")):
        build_message(demo_report, charts, email_config(**{"from": None}), [])


# --------------------------------------------------------------------------------------------
# send_report without a server
# --------------------------------------------------------------------------------------------


def test_send_report__no_recipients_sends_nothing(demo_report: LpReport) -> None:
    message = build_message(demo_report, {}, email_config(), [])
    result = send_report(message, SmtpConfig(host="127.0.0.1", port=9), {})
    assert result.sent is False
    assert result.attempts == 0
    assert result.reason is not None


@pytest.mark.parametrize(
    ("smtp", "environ", "match"),
    [
        (SmtpConfig(host=None), {}, "email.smtp.host"),
        (SmtpConfig(host="127.0.0.1"), {"SMTP_USERNAME": "u"}, "SMTP_PASSWORD is not set"),
        (SmtpConfig(host="127.0.0.1"), {"SMTP_PASSWORD": "p"}, "SMTP_USERNAME is not set"),
        (
            SmtpConfig(host="127.0.0.1", security="none"),
            {"SMTP_USERNAME": "u", "SMTP_PASSWORD": "p"},
            "without TLS",
        ),
    ],
)
def test_send_report__configuration_errors(
    demo_report: LpReport, smtp: SmtpConfig, environ: dict[str, str], match: str
) -> None:
    message = build_message(demo_report, {}, email_config(), ["a@lp.example"])
    with pytest.raises(EmailError, match=match):
        send_report(message, smtp, environ)


@pytest.mark.parametrize("pnl", [[5.0], [0.0], [-3.0, 0.0]], ids=["one-gain", "one-flat", "loss-then-flat"])
def test_render__tiny_series_and_unknown_classes(pnl: list[float]) -> None:
    days = pd.bdate_range("2026-10-22", periods=len(pnl), tz="UTC")
    recon = pd.DataFrame(
        {
            "exit_ts": days + pd.Timedelta(hours=15),
            "agent": "a",
            "strategy_class": None,
            "status": "realized",
            "pnl": pnl,
            "fee": 0.0,
        }
    )
    costs = pd.DataFrame({"ts": [days[0]], "agent": ["a"], "cost_usd": [1.0]})
    as_of = days[-1] + pd.Timedelta(hours=18)
    daily = daily_returns(recon, ["a"], 1e6, as_of)
    report = compute_lp_report(
        daily, recon, costs, ["a"], {}, 1e6, dt.date(2026, 10, 19), dt.date(2026, 10, 25), as_of
    )
    assert set(report.attribution.classes) == {"unclassified"}
    charts = render_charts(report)
    assert all(png.startswith(PNG_MAGIC) for png in charts.values())
    assert "unclassified" in html_part(build_message(report, charts, email_config(), []))


def charts_with_a_first_agent_named(report: LpReport, name: str) -> Charts:
    """The charts of ``report`` with its first agent renamed ``name``; a glyph matplotlib cannot
    draw (its ``UserWarning``) fails the test."""
    agents = report.attribution.agents
    first = next(iter(agents))
    renamed = {(name if agent == first else agent): row for agent, row in agents.items()}
    renamed_report = report.model_copy(
        update={"attribution": report.attribution.model_copy(update={"agents": renamed})}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render_charts(renamed_report)


def test_render_charts__control_characters_in_a_name_are_shown_not_drawn(demo_report: LpReport) -> None:
    """An ESC or a bidi override in an agent's name reached matplotlib raw: a missing-glyph warning,
    and a label drawn reversed (found by an audit). The chart shows them escaped, as the text does."""
    charts = charts_with_a_first_agent_named(demo_report, "evil\u202egnp.exe\x1b[31m")
    assert charts["attribution"].startswith(b"\x89PNG")


def test_render_charts__characters_the_font_lacks_are_shown_escaped_not_as_boxes(
    demo_report: LpReport,
) -> None:
    """``Élan-Ω_日本_momentum`` was drawn ``Élan-Ω_□□_momentum`` (DejaVu Sans has no CJK glyphs, and
    the image no other font): two CJK names read alike (an audit). Latin, Greek and accents stay."""
    charts = charts_with_a_first_agent_named(demo_report, "Élan-Ω_日本_momentum")
    assert charts["attribution"].startswith(b"\x89PNG")
    assert drawable("Élan-Ω_日本_momentum") == "Élan-Ω_\\u65e5\\u672c_momentum"
