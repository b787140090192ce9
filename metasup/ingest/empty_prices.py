"""Why no price bar was accepted, said where ``as_of`` has to be taken from the bars (SPEC §3).

Without ``--as-of``, ``as_of`` is the latest price bar. When there is none, the run stops; the
message used to be "no valid price bars: cannot choose as_of (pass --as-of)", which named neither
the file nor what was wrong with it, and pointed at a flag that does not fix a prices file whose
4,034 timestamps are epoch seconds. The loader, which knows which files the prices came from and
why each row was refused, writes the explanation (``market/prices.csv: 0 of 4034 rows accepted
(first rejected: line 2, unparsable timestamp: '1785765600,AAPL,226.4')``, or ``… is empty``).

It travels with the empty prices frame, in ``DataFrame.attrs``: :class:`~metasup.model.artifacts.Artifacts`
(``model/``) has no field for it, and whoever needs ``as_of`` holds the frame. An empty prices frame
is not an error here: with ``--as-of`` the review runs and says "No price bars" (a HIGH finding).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd

from metasup.ingest.files import line_at, suffix_of
from metasup.ingest.parquet_sources import source_content
from metasup.ingest.quality import LineAccounts
from metasup.model.errors import MetasupError
from metasup.model.review import FileQuality

_WHY: Final = "metasup.ingest.why_empty"
_SHOWN: Final = 80
"""Characters of the first rejected line quoted in the message."""


def explain_empty(
    prices: pd.DataFrame,
    files: Sequence[Path],
    file_ids: Sequence[int],
    accounts: LineAccounts,
    quality: Sequence[FileQuality],
) -> None:
    """Note on ``prices`` (when empty) why: its files' counts and the first line they refused."""
    if not prices.empty:
        return
    mine = [quality[file_id] for file_id in file_ids]
    lines = sum(item.lines for item in mine)
    where = mine[0].path if len(mine) == 1 else f"{len(mine)} price files ({_few(mine)})"
    if lines == 0:
        prices.attrs[_WHY] = f"{where}: empty, no price rows" + ("" if len(mine) == 1 else " in any")
        return
    why = f"{where}: 0 of {lines} rows accepted"
    first = accounts.first_rejected(file_ids)
    if first is None:
        ignored = sum(item.ignored for item in mine)
        prices.attrs[_WHY] = f"{why} ({ignored} blank or not a price bar)"
        return
    file_id, line, reason = first
    path = files[file_ids.index(file_id)]
    named = "" if len(mine) == 1 else f"{accounts.paths[file_id]} "
    prices.attrs[_WHY] = f"{why} (first rejected: {named}line {line}, {reason}{_quoted(path, line)})"


def why_no_price_bars(prices: pd.DataFrame) -> str:
    """The message for a run that must take ``as_of`` from ``prices`` and finds no bar there."""
    why = prices.attrs.get(_WHY, "no valid price bars")
    return f"{why}; without a valid price bar, as_of cannot be chosen"


def _few(files: Sequence[FileQuality], shown: int = 2) -> str:
    names = ", ".join(item.path for item in files[:shown])
    return names + (", …" if len(files) > shown else "")


def _quoted(path: Path, line: int) -> str:
    """``: '<the line as written>'`` for a text file, truncated; nothing for parquet or if unreadable."""
    suffix = suffix_of(path)
    if suffix is None or suffix == ".parquet":
        return ""
    try:
        text = line_at(source_content(path, suffix).without_bom(), line).decode("utf-8", "replace")
    except MetasupError:  # gone or unreadable since it was read: the message stands without it
        return ""
    return f": {text[:_SHOWN] + ('…' if len(text) > _SHOWN else '')!r}"
