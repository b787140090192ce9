"""Every Jinja filter metasup's templates use: one set for the PR comment, the PR bodies, the
dashboard and the LP e-mail (SPEC §1: no helper written twice).

Two families, because the outputs are read differently:

* **Markdown** (comment, PR bodies, dashboard, job summary): ASCII digits and hyphen-minus, no
  currency sign (the template writes ``$``). These return :class:`Safe`, the mark that lets a
  value skip :func:`finalize`, the escaping every other ``{{ value }}`` of a markdown template
  goes through. A user's ``comment_template`` uses these names, so they never change.
  :func:`finalize` treats every string as artifact text: escaped, and no issue reference in it
  links (:func:`unlinked`). metasup's own references (the job summary's "PR #7") are printed
  through :func:`own`, which is explicit in the template.
* **E-mail** (LP report): typeset for reading, with the minus sign U+2212 and the ``$`` in the
  amount; plain strings, escaped by the HTML template's autoescape.

``None`` is ``—`` everywhere. :data:`FILTERS` is what :mod:`metasup.render.environment`
registers; each filter is also a plain function (the LP charts use :func:`usd_short`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

from metasup.model.timestamps import utc

NONE_SHOWN = "—"
NAMES_SHOWN = 10
"""How many agent names :func:`names` lists before "and N more"."""
NAME_CHARS = 80
"""How much of one name :func:`names` shows: ten names stay one line, not 65,536 characters."""

_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029"
    # Unicode's format characters (category Cf, Unicode 15) and the rest of its default-ignorable
    # code points (variation selectors, the combining grapheme joiner, Hangul fillers): invisible,
    # they made a sandbox agent "momo-alpha\u200b" read as the prod flagship; bidi overrides reorder
    # what follows. metasup's own joiners (_MENTION, _NO_LINK) are added after this.
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MENTION = "@\u200d"
"""``@`` followed by a zero-width joiner: GitHub shows ``@name`` as text, never as a mention."""
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|~])")
_AUTOLINKS = re.compile(r"(?i)(://|www\.)")
_REFERENCES = re.compile(r"(?i)#(?=\d)|(?<![a-z0-9])gh-(?=\d)")
"""Where GitHub would link text to an issue or pull request: ``#`` before a digit (``#12``,
``owner/repo#12``, which also posts "mentioned this" on that repository's issue) and ``GH-``
before a digit. Commit shas are left as they are: a sha links to a commit of this repository and
posts nothing anywhere, and metasup's own messages carry shas to copy (``git push origin SHA:…``).
``owner/repo@sha`` is already broken by :data:`_MENTION`."""
_NO_LINK = "\u2060"
"""A word joiner (zero width) after each :data:`_REFERENCES` match: the text reads the same, links
nothing."""
_HTML_SPECIALS = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


# --------------------------------------------------------------------------------------------
# Markdown escaping
# --------------------------------------------------------------------------------------------


class Safe(str):
    """Text produced by our own filters (from numbers, or metasup's own text through :func:`own`):
    already safe for markdown."""

    __slots__ = ()


def show_controls(value: object) -> str:
    """Control and format characters (bidi overrides, zero-width ones) shown escaped: ESC →
    ``\\x1b``, newline → ``\\n``, a zero-width space → ``\\u200b``."""
    return _CONTROLS.sub(lambda match: escaped_char(match.group(0)), str(value))


def escaped_char(char: str) -> str:
    """One character as Python writes it escaped: ``\\n``, ``\\x1b``, ``\\u200b``, ``\\U0001f600``."""
    code = ord(char)
    if code < 0x100:
        return _NAMED_CONTROLS.get(char) or f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def inert(value: object) -> str:
    """Text from artifacts made harmless in any output (SPEC §2.6 "Names cannot ping or break
    anything"): control characters shown escaped, and every ``@`` followed by a zero-width joiner
    so ``@everyone`` or ``@user`` is read as text and notifies nobody. The markdown and HTML
    escaping of each output comes on top; issue references are broken in markdown text and in
    titles and commit messages only (:func:`escape_markdown`, :func:`plain_line`): a code span,
    the e-mail (:func:`clip`) and the console link none."""
    return show_controls(value).replace("@", _MENTION)


def unlinked(text: str) -> str:
    """``text`` in which GitHub finds no issue or pull request reference to link: a word joiner
    after ``#`` or ``GH-`` before a digit (:data:`_REFERENCES`). ``12.5%``, ``C#`` and ``#abc``
    stay as they are."""
    return _REFERENCES.sub(lambda match: match.group(0) + _NO_LINK, text)


def _one_line(value: object) -> str:
    """:func:`inert` text on one line, runs of whitespace as one space."""
    return " ".join(inert(value).split())


def plain_line(value: object) -> str:
    """Artifact text for a plain-text line GitHub reads for mentions and references — a PR title,
    a commit message: one line, control characters shown, no ``@`` mention, no ``#12`` reference
    (a pushed commit naming ``owner/repo#12`` cross-references that issue)."""
    return unlinked(_one_line(value))


def escape_markdown(value: object) -> str:
    """Make any text from artifacts inert inside a GFM table cell or list item.

    Newlines would end the table row, ``|`` a cell, backticks/brackets/emphasis would format,
    ``<`` would open HTML (including a forged ``<!-- metasup:review -->``), ``://`` or ``www.``
    would let GFM turn text into a link, and ``#12``, ``owner/repo#12`` or ``GH-12`` would let
    GitHub link it — and cross-reference another repository's issue (:func:`unlinked`).
    Everything else stays readable as typed. metasup's own text: :func:`own`.
    """
    return _escaped(plain_line(value))


def own(value: object) -> Safe:
    """metasup's own text, escaped like any value but with its references left as links: "PR #7"
    in the job summary's decisions, warnings and errors. The template says so where it prints one
    (``{{ decision | own }}``); every other string is artifact text (:func:`finalize`)."""
    return Safe(_escaped(_one_line(value)))


def _escaped(text: str) -> str:
    """One line of text escaped for markdown and HTML (``escape_markdown`` and ``own``)."""
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    text = _AUTOLINKS.sub(lambda match: match.group(0).replace(":", "\\:").replace(".", "\\."), text)
    return "".join(_HTML_SPECIALS.get(char, char) for char in text)


VALUE_CHARS = 2_000
"""The most of one artifact value a markdown output prints: one 70,000-character agent name, in
every row, title and action that names it, pushed most of the comment out (found by an audit)."""


def finalize(value: object) -> object:
    """The markdown environment's ``finalize``: escape every printed value but numbers and ``Safe``,
    each cut at :data:`VALUE_CHARS` (the review JSON keeps it whole)."""
    if value is None:
        return Safe(NONE_SHOWN)
    if isinstance(value, Safe | int | float):
        return value
    return escape_markdown(ellipsize(str(value), VALUE_CHARS))


def name(value: str) -> Safe:
    """An agent's or class's name in a table cell: escaped, cut at :data:`NAME_CHARS` with ``…``."""
    return Safe(escape_markdown(ellipsize(value, NAME_CHARS)))


def finalize_email(value: object) -> object:
    """The e-mail environments' ``finalize``: control characters in printed text shown escaped (the
    HTML part's autoescape comes after). ``@`` stays: e-mail has no mentions, and the ``cid:`` of
    the inline charts are addresses."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return show_controls(value)
    return value


# --------------------------------------------------------------------------------------------
# Markdown filters
# --------------------------------------------------------------------------------------------


def pct(value: float | None, digits: int = 2) -> Safe:
    """A fraction as a percentage: ``0.1234`` → ``12.34%``, ``-0.015`` → ``-1.50%``."""
    return Safe(NONE_SHOWN if value is None else f"{value * 100:.{digits}f}%")


def money(value: float | None) -> Safe:
    """USD without the sign: ``-1234.5`` → ``-1,234.50`` (the template writes the ``$``)."""
    return Safe(NONE_SHOWN if value is None else f"{value:,.2f}")


def score(value: float | None) -> Safe:
    """A 0–100 score with one decimal: ``87.88`` → ``87.9``."""
    return Safe(NONE_SHOWN if value is None else f"{value:.1f}")


def delta(value: float | None, kind: str) -> Safe:
    """`` (▲ 1.2)`` next to a value; nothing when there is no baseline or no change.

    ``kind`` is how the value is shown: ``pct`` (percentage points), ``money`` or ``score``.
    """
    if value is None or value == 0:
        return Safe("")
    arrow = "▲" if value > 0 else "▼"
    size = abs(value)
    shown = {"pct": f"{size * 100:.2f}pp", "money": f"${size:,.2f}", "score": f"{size:.1f}"}[kind]
    return Safe(f" ({arrow} {shown})")


def code(value: object) -> Safe:
    """Inline code that cannot be broken out of: backticks in the value become quotes."""
    return Safe("`" + " ".join(inert(value).replace("`", "'").split()) + "`")


def plain(value: object) -> object:
    """Any gate/rule value as short escaped text: numbers compact, lists and mappings flattened."""
    if value is None:
        return Safe(NONE_SHOWN)
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


def names(values: list[str]) -> Safe:
    """An escaped, comma-separated list that stays one short line however many agents there are,
    and however long their names (each cut at :data:`NAME_CHARS` with ``…``)."""
    shown = ", ".join(name(v) for v in values[:NAMES_SHOWN])
    hidden = len(values) - NAMES_SHOWN
    return Safe(shown + (f" and {hidden} more" if hidden > 0 else ""))


def number(value: float | None) -> Safe:
    """A configured threshold as written in metasup.yml: ``80.0`` → ``80``, ``0.2`` → ``0.2``."""
    return Safe(NONE_SHOWN if value is None else f"{value:g}")


def check(value: bool | None) -> Safe:
    """A gate outcome as a mark: ``✅`` passed, ``❌`` failed, ``—`` not evaluated."""
    return Safe(NONE_SHOWN if value is None else "✅" if value else "❌")


# --------------------------------------------------------------------------------------------
# E-mail filters (typeset: U+2212 minus sign)
# --------------------------------------------------------------------------------------------


def _typeset(text: str) -> str:
    return text.replace("-", "−")


def _signed(number: float, digits: int) -> str:
    """``number`` with ``digits`` decimals and its sign, none when it shows as zero (``0.00``, not
    ``+0.00`` or ``−0.00``: a drawdown of nothing, a loss of a tenth of a cent)."""
    text = f"{number:+.{digits}f}"
    return _typeset(text if text.strip("+-0.") else text[1:])


def pct_signed(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, signed: ``0.1234`` → ``+12.34%``, ``-0.015`` → ``−1.50%``,
    ``-0.00001`` → ``0.00%``."""
    return NONE_SHOWN if value is None else _signed(value * 100, digits) + "%"


def pct_typeset(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, a sign only if negative: ``0.1234`` → ``12.34%``, ``-0.015`` → ``−1.50%``.

    For levels that are rarely negative (volatility, hit rate, the risk-free rate).
    """
    return NONE_SHOWN if value is None else _typeset(f"{value * 100:.{digits}f}%")


def pct_cell(value: float | None, digits: int = 1) -> str:
    """A fraction as a signed percentage without the sign ``%`` (table cells under a ``%`` heading):
    ``0.0318`` → ``+3.2``, ``-0.0012`` → ``−0.1``, ``0.0004`` → ``0.0``; ``None`` → ``""`` (a month
    outside the record)."""
    return "" if value is None else _signed(value * 100, digits)


def pct_axis(value: float, digits: int = 1) -> str:
    """A percentage (already × 100) as a chart's axis shows it: ``-2.5`` → ``−2.5 %``, ``0`` → ``0 %``."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return _typeset("0" if text in ("-0", "0") else text) + "\u00a0%"


def lines(value: str, width: int = 96) -> list[str]:
    """A paragraph wrapped to ``width`` columns, as lines (the text e-mail's footnotes)."""
    return textwrap.wrap(str(value), width, break_long_words=False, break_on_hyphens=False)


def usd(value: float | None) -> str:
    """USD with its sign and cents: ``1234.5`` → ``$1,234.50``, ``-1234.5`` → ``−$1,234.50``,
    ``-0.001`` → ``$0.00``."""
    if value is None:
        return NONE_SHOWN
    amount = f"{abs(value):,.2f}"
    return ("−$" if value < 0 and amount.strip("0.,") else "$") + amount


def usd_short(value: float) -> str:
    """USD in thousands or millions, one decimal (chart axes): ``-1250000`` → ``−$1.2M``.

    Under a thousand: whole dollars, ``950`` → ``$950``.
    """
    size = abs(value)
    text = f"{size / 1e6:.1f}M" if size >= 1e6 else f"{size / 1e3:.1f}k" if size >= 1e3 else f"{size:.0f}"
    return ("−$" if value < 0 else "$") + text


def ratio(value: float | None) -> str:
    """A ratio with two decimals: ``1.234`` → ``1.23``, ``-0.5`` → ``−0.50``."""
    return NONE_SHOWN if value is None else _typeset(f"{value:.2f}")


def tone(value: float | None) -> str:
    """Text colour of a number: green above zero, red below, grey otherwise."""
    if value is None or value == 0:
        return "#57606a"
    return "#1a7f37" if value > 0 else "#cf222e"


def ellipsize(text: str, size: int) -> str:
    """``text`` cut to ``size`` characters, the last one ``…`` when anything was cut."""
    return text if len(text) <= size else text[: size - 1] + "…"


def clip(value: object, size: int) -> str:
    """Any value as one line (whitespace runs become one space), cut to ``size`` with ``…``."""
    return ellipsize(" ".join(inert(value).split()), size)


def when(value: str) -> str:
    """An ISO timestamp as ``2026-10-30 20:00 UTC``."""
    return f"{utc(value):%Y-%m-%d %H:%M} UTC"


FILTERS: dict[str, Callable[..., object]] = {
    # markdown
    "pct": pct,
    "money": money,
    "score": score,
    "delta": delta,
    "code": code,
    "plain": plain,
    "name": name,
    "names": names,
    "number": number,
    "check": check,
    "own": own,
    # e-mail
    "pct_signed": pct_signed,
    "pct_typeset": pct_typeset,
    "usd": usd,
    "pct_cell": pct_cell,
    "lines": lines,
    "usd_short": usd_short,
    "ratio": ratio,
    "tone": tone,
    "clip": clip,
    "when": when,
}
