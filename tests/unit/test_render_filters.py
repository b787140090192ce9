"""The one set of Jinja filters (render/filters.py): each filter's output, written out by hand."""

from __future__ import annotations

import sys
import unicodedata

import jinja2
import pytest

from metasup.render.environment import environment, kind_of, package_template
from metasup.render.filters import (
    FILTERS,
    Safe,
    clip,
    code,
    delta,
    ellipsize,
    escape_markdown,
    finalize,
    finalize_email,
    inert,
    money,
    names,
    own,
    pct,
    pct_signed,
    pct_typeset,
    plain,
    plain_line,
    ratio,
    score,
    tone,
    usd,
    usd_short,
    when,
)

MINUS = "\u2212"

# --- markdown filters: ASCII, Safe ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.1234, 2, "12.34%"),
        (-0.015, 2, "-1.50%"),
        (0.0, 2, "0.00%"),
        (0.98765, 1, "98.8%"),
        (None, 2, "—"),
    ],
)
def test_pct(value: float | None, digits: int, expected: str) -> None:
    shown = pct(value, digits)
    assert shown == expected
    assert isinstance(shown, Safe)


@pytest.mark.parametrize(
    ("value", "expected"), [(1234.5, "1,234.50"), (-1234.5, "-1,234.50"), (0.0, "0.00"), (None, "—")]
)
def test_money(value: float | None, expected: str) -> None:
    assert money(value) == expected
    assert isinstance(money(value), Safe)


@pytest.mark.parametrize(("value", "expected"), [(87.88, "87.9"), (80.0, "80.0"), (None, "—")])
def test_score(value: float | None, expected: str) -> None:
    assert score(value) == expected


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (0.25, "pct", " (▲ 25.00pp)"),
        (-0.0012, "pct", " (▼ 0.12pp)"),
        (-1234.5, "money", " (▼ $1,234.50)"),
        (3.0, "score", " (▲ 3.0)"),
        (0.0, "score", ""),
        (None, "money", ""),
    ],
)
def test_delta(value: float | None, kind: str, expected: str) -> None:
    assert delta(value, kind) == expected


def test_code__backticks_and_whitespace_cannot_break_out() -> None:
    assert code("main") == "`main`"
    assert code("a`b\n c") == "`a'b\\n c`"  # SPEC §2.6: a newline is shown as \\n


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        (True, "yes"),
        (False, "no"),
        (0.038819, "0.03882"),
        (3419, "3419"),
        ({"signals_realized": 54, "coverage": 1.0}, "signals\\_realized=54, coverage=1"),
        ([1, 2.5, "a|b"], "1, 2.5, a\\|b"),
        ([], "none"),
        ("<b>", "&lt;b&gt;"),
    ],
)
def test_plain(value: object, expected: str) -> None:
    assert plain(value) == expected


def test_names__a_long_name_is_cut() -> None:
    assert names(["a" * 5000, "b"]) == "a" * 79 + "…, b"


def test_names__escaped_and_capped_at_ten() -> None:
    assert names(["a|b", "c_d"]) == "a\\|b, c\\_d"
    assert names([]) == ""
    many = [f"s{i}" for i in range(13)]
    assert names(many) == "s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 and 3 more"


def test_escape_markdown__specials_links_and_html() -> None:
    assert escape_markdown("a|b\n*c*") == "a\\|b\\\\n\\*c\\*"  # a newline is shown as \\n (SPEC §2.6)
    assert escape_markdown("https://x.example www.y.example") == "https\\://x.example www\\.y.example"
    assert escape_markdown('<!-- x --> & "q"') == "&lt;!-- x --&gt; &amp; &quot;q&quot;"


J = "\u2060"  # the word joiner that breaks a reference
SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fixes #12", f"fixes #{J}12"),
        ("octo/other#12", f"octo/other#{J}12"),  # would post "mentioned this" on octo/other#12
        ("x#1", f"x#{J}1"),
        ("GH-3 and gh-4", f"GH-{J}3 and gh-{J}4"),
        (f"octo/other@{SHA}", f"octo/other@\u200d{SHA}"),  # the @ is broken already
    ],
)
def test_escape_markdown__no_issue_reference_links(text: str, expected: str) -> None:
    """GitHub links ``#12``, ``owner/repo#12`` and ``GH-12`` in any text (and cross-references
    another repository's issue): a word joiner breaks each, the text reads the same."""
    assert escape_markdown(text) == expected
    assert expected.replace(J, "") == inert(text)  # nothing else changed


@pytest.mark.parametrize(
    "text",
    ["C# and #abc, # 1", "12.5% of 3", "abc1234 deadbeef", SHA, "bugh-12, GH-x", "issue#"],
)
def test_escape_markdown__text_that_forms_no_reference_is_unchanged(text: str) -> None:
    """A sha stays as it is: it links a commit of this repository and posts nothing, and metasup's
    messages carry shas to copy (``git push origin SHA:…``)."""
    assert escape_markdown(text) == text


def test_plain_line__titles_and_commit_messages_ping_and_link_nobody() -> None:
    assert plain_line("octo/other#12 @team\nfixes GH-3") == f"octo/other#{J}12 @\u200dteam\\nfixes GH-{J}3"


def test_inert__every_invisible_format_character_is_shown() -> None:
    """A sandbox agent named ``momo-alpha`` + U+200B read exactly as the prod flagship in the
    comment, the PR title and the dashboard (found by an audit). Every format character (Unicode
    category Cf, by Python's own unicodedata) is shown escaped, so two names that differ look
    different; metasup's own joiners, added after, stay invisible."""
    format_characters = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    for char in format_characters:
        shown = inert(f"a{char}b")
        assert char not in shown, f"U+{ord(char):04X} passes through"
        assert shown[:2] + shown[-1] == "a\\b"
    assert plain_line("momo-alpha\u200b") == "momo-alpha\\u200b"
    assert escape_markdown("momo-alpha\u200b") != escape_markdown("momo-alpha")
    assert inert("\U000e0041") == "\\U000e0041"
    assert inert("@team") == "@\u200dteam"  # the joiner metasup adds itself
    # default-ignorable, not Cf: a variation selector, the grapheme joiner, a Hangul filler
    for char in ("\ufe0f", "\u034f", "\u3164", "\U000e0100"):
        assert char not in inert(f"momo-alpha{char}")


def test_own__metasup_text_keeps_its_references_and_is_escaped() -> None:
    assert own(f"PR #12 ({SHA}) for a|b @x") == f"PR #12 ({SHA}) for a\\|b @\u200dx"
    assert isinstance(own("x"), Safe)
    rendered = environment("markdown").from_string("{{ name }} {{ name | own }}").render(name="PR #1")
    assert rendered == f"PR #{J}1 PR #1"


def test_references__only_markdown_text_is_touched() -> None:
    """Code spans link nothing, e-mail and the console have no references: ``code``, ``clip``,
    ``inert`` and ``finalize_email`` leave them as they are."""
    text = f"octo/other#12 GH-3 {SHA}"
    assert code(text) == f"`{text}`"
    assert clip(text, 80) == text
    assert inert(text) == text
    assert finalize_email(text) == text


def test_finalize__escapes_all_but_numbers_and_safe() -> None:
    assert finalize(None) == "—"
    assert finalize(3) == 3
    assert finalize(Safe("*ok*")) == "*ok*"
    assert finalize("*no*") == "\\*no\\*"


# --- e-mail filters: typeset, U+2212 minus ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.1234, 2, "+12.34%"),
        (-0.015, 2, f"{MINUS}1.50%"),
        (0.0, 2, "0.00%"),  # a drawdown of nothing has no sign
        (-0.00001, 1, "0.0%"),  # nor what rounds to nothing
        (-0.0004, 2, f"{MINUS}0.04%"),
        (None, 2, "—"),
    ],
)
def test_pct_signed(value: float | None, digits: int, expected: str) -> None:
    assert pct_signed(value, digits) == expected


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.1234, 2, "12.34%"),
        (-0.015, 2, f"{MINUS}1.50%"),
        (0.625, 1, "62.5%"),
        (None, 2, "—"),
    ],
)
def test_pct_typeset(value: float | None, digits: int, expected: str) -> None:
    assert pct_typeset(value, digits) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.5, "$1,234.50"),
        (-1234.5, f"{MINUS}$1,234.50"),
        (0.0, "$0.00"),
        (-0.001, "$0.00"),  # a loss of a tenth of a cent is not "−$0.00"
        (-0.006, f"{MINUS}$0.01"),
        (None, "—"),
    ],
)
def test_usd(value: float | None, expected: str) -> None:
    assert usd(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (950.0, "$950"),
        (-1250.0, f"{MINUS}$1.2k"),
        (2_500_000.0, "$2.5M"),
        (-1_250_000.0, f"{MINUS}$1.2M"),
        (0.0, "$0"),
    ],
)
def test_usd_short(value: float, expected: str) -> None:
    assert usd_short(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(1.234, "1.23"), (-0.5, f"{MINUS}0.50"), (None, "—")])
def test_ratio(value: float | None, expected: str) -> None:
    assert ratio(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(0.1, "#1a7f37"), (-0.1, "#cf222e"), (0.0, "#57606a"), (None, "#57606a")]
)
def test_tone(value: float | None, expected: str) -> None:
    assert tone(value) == expected


def test_ellipsize_and_clip() -> None:
    assert ellipsize("abcdef", 6) == "abcdef"
    assert ellipsize("abcdefg", 6) == "abcde…"
    assert ellipsize("a  b\nc", 10) == "a  b\nc"
    assert clip("a  b\nc", 10) == "a b\\nc"  # a newline is shown as \\n (SPEC §2.6)
    assert clip("agent   with a long name", 12) == "agent with …"
    assert clip(12345, 3) == "12…"


def test_when() -> None:
    assert when("2026-10-30T20:00:00+00:00") == "2026-10-30 20:00 UTC"
    assert when("2026-10-30T22:15:59+02:00") == "2026-10-30 20:15 UTC"


# --- the environment ----------------------------------------------------------------------------


def test_filters__every_filter_in_every_environment() -> None:
    for kind in ("markdown", "html", "text"):
        env = environment(kind)
        assert set(FILTERS) <= set(env.filters)


def test_environment__markdown_escapes_html_autoescapes_text_trims() -> None:
    markdown = environment("markdown").from_string("{{ name }} {{ x | pct }} {{ none }}")
    assert markdown.render(name="a|b <i>", x=-0.5) == "a\\|b &lt;i&gt; -50.00% —"
    html = environment("html").from_string("{{ name }} {{ x | usd }}")
    assert html.render(name="<b>&", x=-2.0) == f"&lt;b&gt;&amp; {MINUS}$2.00"
    text = environment("text").from_string("{% if true %}\n  {{ x | pct_signed }}\n{% endif %}\n")
    assert text.render(x=0.01) == "  +1.00%\n"


def test_environment__strict_and_sandboxed_user_templates_load_nothing() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment("markdown").from_string("{{ missing }}").render()
    sandboxed = environment("markdown", sandboxed=True)
    with pytest.raises(jinja2.TemplateNotFound):
        sandboxed.from_string('{% include "pr_comment.md.j2" %}').render()


def test_package_template__kind_by_name() -> None:
    assert kind_of("lp_email.html.j2") == "html"
    assert kind_of("lp_email.txt.j2") == "text"
    assert kind_of("pr_comment.md.j2") == "markdown"
    assert package_template("lp_email.html.j2").environment.autoescape is True
    assert package_template("dashboard.md.j2").environment.finalize is finalize
