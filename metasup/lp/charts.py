"""LP e-mail charts (SPEC §6): the equity curve with drawdown, and attribution by agent, as PNG.

The only module that imports matplotlib, so rendering the e-mail's text (or importing
:mod:`metasup.lp.email`) does not pay for it. Figures are ``Figure`` objects with an explicit
Agg canvas: pyplot and the global backend are never touched, and the PNGs carry no software
metadata, so the same report gives the same bytes.
"""

from __future__ import annotations

import functools
import io

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import FuncFormatter

from metasup.lp.fleet_tables import attribution_table
from metasup.lp.report import LpAttributionRow, LpReport
from metasup.lp.statistics import drawdowns
from metasup.lp.values import ROWS_IN_FULL
from metasup.render.filters import ellipsize, escaped_char, pct_axis, show_controls, usd_short

CHART_DPI = 100
TITLE_SIZE, LABEL_SIZE, TICK_SIZE, LEGEND_SIZE = 11, 10, 9, 9
"""Points; at 100 dpi a 600-pixel-wide chart shows them at about their size in the e-mail."""
CHART_NAMES = ("equity", "attribution")
MAX_CHART_AGENTS = ROWS_IN_FULL
"""Bars in the attribution chart; above, the bars of the e-mail's attribution table (the best and
the worst agents, the others summed in one bar between them: ``lp.fleet_tables``), so the chart
and the table name the same agents and count the same others."""

Charts = dict[str, bytes]
"""PNG bytes by chart name (``equity``, ``attribution``)."""


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _no_data(figure: Figure, text: str) -> None:
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#57606a")


def _percent_axis(ax: Axes, axis: str = "y") -> None:
    """Tick labels in percent (values already × 100): ``−2.5 %``."""
    formatter = FuncFormatter(lambda value, _: pct_axis(value, 2))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def equity_chart(report: LpReport) -> bytes:
    """Growth since inception (compounded, %) above the drawdown (%); the period shaded, both explained."""
    figure = Figure(figsize=(6.0, 4.2), dpi=CHART_DPI, layout="constrained")
    if not report.daily:
        _no_data(figure, "No realized profit or loss yet")
        return _png(figure)
    returns = np.array([d.value for d in report.daily], dtype=np.float64)
    days = pd.DatetimeIndex([d.day for d in report.daily]).to_numpy(dtype="datetime64[D]")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    top.plot(days, (np.cumprod(1 + returns) - 1) * 100, color="#0b3d91", linewidth=1.6, label="Growth")
    top.axhline(0, color="#8c959f", linewidth=0.8)
    top.set_ylabel("Growth", fontsize=LABEL_SIZE)
    top.set_title("How the fund has grown since its first trade", fontsize=TITLE_SIZE, loc="left")
    drawdown = drawdowns(returns) * 100
    bottom.fill_between(
        days, drawdown, 0, color="#cf222e", alpha=0.35, linewidth=0, label="Below the previous high"
    )
    bottom.plot(days, drawdown, color="#cf222e", linewidth=0.8)
    bottom.set_ylabel("Drawdown", fontsize=LABEL_SIZE)
    bottom.set_title("How far below its highest value so far", fontsize=TITLE_SIZE, loc="left")
    bottom.set_ylim(min(float(drawdown.min()) * 1.15, -0.01), 0)
    start = np.datetime64(report.period.start, "D")
    end = np.datetime64(report.period.end, "D") + np.timedelta64(1, "D")
    for ax in (top, bottom):
        ax.axvspan(start, end, color="#ddf4ff", zorder=0, label="This period")
        ax.grid(True, color="#eaeef2", linewidth=0.6)
        ax.tick_params(labelsize=TICK_SIZE)
        _percent_axis(ax)
    handles = [*top.get_legend_handles_labels()[0][:1], *bottom.get_legend_handles_labels()[0]]
    figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=LEGEND_SIZE, frameon=False)
    bottom.xaxis.set_major_formatter(DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
    first, last = days[0], days[-1]
    bottom.set_xlim(
        first - np.timedelta64(1, "D"), max(last, end - np.timedelta64(1, "D")) + np.timedelta64(1, "D")
    )
    return _png(figure)


def attribution_bars(report: LpReport) -> list[tuple[str, LpAttributionRow]]:
    """The attribution chart's bars, best first: one per agent, or above :data:`MAX_CHART_AGENTS`
    the e-mail's table's rows (best, the others summed, worst)."""
    rows = sorted(report.attribution.agents.items(), key=lambda item: item[1].pnl, reverse=True)
    if len(rows) > MAX_CHART_AGENTS:
        rows = [(line.name, line.row) for line in attribution_table(report.attribution.agents).lines]
    return rows


@functools.cache
def _font_chars() -> frozenset[int]:
    """The code points the charts' font (matplotlib's default, DejaVu Sans in the image) can draw."""
    return frozenset(FT2Font(findfont(FontProperties())).get_charmap())


def drawable(text: str) -> str:
    """``text`` with each character the font cannot draw shown escaped (``\\u65e5``): an empty box
    instead made ``日本_momentum`` and ``中国_momentum`` the same label (an audit)."""
    drawn = _font_chars()
    return "".join(char if ord(char) in drawn or char.isspace() else escaped_char(char) for char in text)


def attribution_chart(report: LpReport) -> bytes:
    """Horizontal bars: each agent's realized profit in the period (USD), best on top."""
    rows = attribution_bars(report)
    figure = Figure(figsize=(6.0, 1.2 + 0.34 * max(len(rows), 2)), dpi=CHART_DPI, layout="constrained")
    if not rows:
        _no_data(figure, "No prod agent")
        return _png(figure)
    ax = figure.add_subplot()
    values = [row.pnl for _, row in rows][::-1]
    # no bidi override, no ESC, no empty box
    names = [ellipsize(drawable(show_controls(name)), 28) for name, _ in rows][::-1]
    positions = np.arange(len(rows))
    ax.barh(positions, values, color=["#1a7f37" if v >= 0 else "#cf222e" for v in values], height=0.6)
    ax.set_yticks(positions, labels=names, fontsize=TICK_SIZE, parse_math=False)
    ax.axvline(0, color="#8c959f", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: usd_short(x)))
    ax.tick_params(axis="x", labelsize=TICK_SIZE)
    ax.grid(True, axis="x", color="#eaeef2", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(
        "Profit or loss of each strategy in this period",
        fontsize=TITLE_SIZE,
        loc="left",
        parse_math=False,
    )
    ax.set_xlabel("Profit or loss after trading fees (US dollars)", fontsize=LABEL_SIZE)
    if all(v == 0 for v in values):
        ax.set_xlim(-1, 1)
    return _png(figure)


def render_charts(report: LpReport) -> Charts:
    """Both charts as PNG bytes (600 px wide at 100 dpi)."""
    return {"equity": equity_chart(report), "attribution": attribution_chart(report)}
