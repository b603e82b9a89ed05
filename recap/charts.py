"""Charts: drawn once per build from the recap and its closes, saved as SVG (web page)
and 2x PNG (PDF, email, blog). One house style; each title states the chart's point
and each chart carries alt text written from its data.

A chart whose data is missing is left out, with a data note saying why.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from recap import formatting as f  # noqa: E402
from recap.config import RecapConfig  # noqa: E402
from recap.model import WeeklyRecap  # noqa: E402

# Okabe-Ito: safe for the common forms of colour blindness.
UP, DOWN, GREY = "#0072B2", "#D55E00", "#8a8a8a"
LINES = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
INK, MUTED, GRID = "#1f2328", "#59636e", "#e3e6ea"
WIDTH, HEIGHT = 7.2, 3.4  # inches; 100 dpi on screen, 200 dpi for the 2x PNG
SOURCE = "Source: daily closing prices"


@dataclass(frozen=True)
class Chart:
    """One drawn chart: the same picture as inline SVG and as a 2x PNG."""

    name: str
    title: str
    alt: str
    svg: str
    png: bytes


@lru_cache(maxsize=1)
def _font() -> str:
    names = {fe.name for fe in font_manager.fontManager.ttflist}
    return "Inter" if "Inter" in names else "DejaVu Sans"


def _style() -> dict[str, Any]:
    return {
        "font.family": _font(),
        "font.size": 9,
        "axes.edgecolor": GRID,
        "axes.labelcolor": MUTED,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.titlecolor": INK,
        "axes.titlelocation": "left",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "svg.fonttype": "none",  # text stays text: the page's font, searchable, smaller
        "svg.hashsalt": "recap",  # stable ids, so golden files don't churn
    }


def _figure(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH, HEIGHT))
    ax = fig.add_subplot()
    ax.set_title(title, pad=10)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    fig.text(0.01, 0.01, SOURCE, fontsize=7, color=MUTED)
    return fig, ax


_SVG_HEADER = re.compile(r"^.*?(?=<svg)", re.S)


def _save(fig: Figure, name: str, title: str, alt: str, left: float = 0.1) -> Chart:
    fig.subplots_adjust(left=left, right=0.97, top=0.86, bottom=0.2)
    svg = io.StringIO()
    fig.savefig(svg, format="svg", metadata={"Date": None})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=200, metadata={"Software": None})
    text = _SVG_HEADER.sub("", svg.getvalue(), count=1)
    return Chart(name=name, title=title, alt=alt, svg=text, png=png.getvalue())


def _pct_axis(ax: Axes, axis: str = "y") -> None:
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:+.0f}%" if v else "0%")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _window(closes: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    if not isinstance(closes.index, pd.DatetimeIndex):
        return closes.iloc[0:0]
    return closes.loc[(closes.index >= pd.Timestamp(start)) & (closes.index <= pd.Timestamp(end))]


def index_week(recap: WeeklyRecap, closes: pd.DataFrame) -> Chart | None:
    """(1) The four indexes over the week, rebased to 100 at the base date's close."""
    week = recap.week
    frame = _window(closes, week.base_date, week.end)
    moves = [m for m in recap.indexes if m.symbol in frame and frame[m.symbol].notna().all()]
    if not moves or len(frame) < 2:
        return None
    best = max(moves, key=lambda m: m.week_return)
    title = f"{best.name} led the week at {f.signed(best.week_return)}"
    fig, ax = _figure(title)
    labels = [f"{ts:%a}\n{ts:%b} {ts.day}" for ts in frame.index]
    labels[0] = f"Base\n{frame.index[0]:%b} {frame.index[0].day}"
    ends: list[tuple[float, str, str]] = []
    for color, m in zip(LINES, moves, strict=False):
        series = frame[m.symbol] / frame[m.symbol].iloc[0] * 100
        ax.plot(range(len(series)), series.to_numpy(), color=color, linewidth=2, label=m.label)
        ends.append((float(series.iloc[-1]), f.signed(m.week_return), color))
    # End labels, pushed apart so close finishes stay readable.
    span = max(e[0] for e in ends) - min(e[0] for e in ends) or 1.0
    gap, placed = span * 0.07 + 0.05, list[float]()
    for y, text, color in sorted(ends):
        y_label = max(y, placed[-1] + gap) if placed else y
        placed.append(y_label)
        ax.annotate(
            text,
            (len(frame) - 1, y),
            xytext=(len(frame) - 0.9, y_label),
            textcoords="data",
            color=color,
            fontsize=8,
            va="center",
        )
    ax.axhline(100, color=MUTED, linewidth=0.8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.2, len(labels) - 0.4)
    ax.set_ylabel("Close, base = 100")
    ax.legend(frameon=False, fontsize=8, ncols=2, loc="best")
    parts = ", ".join(f"{m.label} {f.signed(m.week_return)}" for m in moves)
    alt = f"Line chart of the week, rebased to 100 at the {f.day(week.base_date)} close: {parts}."
    chart = _save(fig, "indexes", title, alt)
    return chart


def small_vs_large(recap: WeeklyRecap, closes: pd.DataFrame, config: RecapConfig) -> Chart | None:
    """(2) Russell 2000 against the S&P 500 over the last year, with record closes marked."""
    small_spec, large_spec = config.index_by_role("small"), config.index_by_role("large")
    small = next(
        (m for m in recap.indexes if small_spec and m.index_symbol == small_spec.symbol), None
    )
    large = next(
        (m for m in recap.indexes if large_spec and m.index_symbol == large_spec.symbol), None
    )
    if small is None or large is None or not {small.symbol, large.symbol} <= set(closes):
        return None
    upto = closes.loc[closes.index <= pd.Timestamp(recap.week.end), [small.symbol, large.symbol]]
    year = upto.loc[upto.index > pd.Timestamp(recap.week.end - dt.timedelta(days=365))].dropna()
    if len(year) < 60:
        return None
    ratio = year[small.symbol] / year[large.symbol]
    ratio = ratio / ratio.iloc[0] * 100
    change = float(ratio.iloc[-1]) / 100 - 1
    who = "outran" if change > 0 else "lagged"
    title = f"Over the past year small caps {who} large caps by {f.pct(change, 1)}"
    fig, ax = _figure(title)
    ax.plot(ratio.index, ratio.to_numpy(), color=UP, linewidth=1.8, label="Relative strength")
    ax.axhline(100, color=MUTED, linewidth=0.8)
    # Record closes of the small-cap index within the window (only with a year of history).
    marks: list[pd.Timestamp] = []
    if small.record_close is not None:
        full = upto[small.symbol].dropna()
        prior = full.cummax().shift(1)
        marks = [ts for ts in year.index if full[ts] > prior.get(ts, float("inf"))]
    if marks:
        ax.scatter(
            pd.DatetimeIndex(marks).to_numpy(),
            ratio.loc[marks].to_numpy(),
            color=LINES[1],
            s=18,
            zorder=3,
            label=f"{small.name} record close",
        )
    ax.set_ylabel(f"{small.symbol} / {large.symbol}, start = 100")
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.autofmt_xdate(rotation=0, ha="center")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))  # type: ignore[no-untyped-call]
    alt = (
        f"Line chart: {small.label} relative to {large.label} over the year to "
        f"{f.day(recap.week.end)}, {f.signed(change, 1)} in all; "
        f"{len(marks)} record close{'s' if len(marks) != 1 else ''} of the {small.name} marked."
    )
    return _save(fig, "small-vs-large", title, alt)


def sector_bars(recap: WeeklyRecap) -> Chart | None:
    """(3) Sector week returns, sorted, as diverging bars."""
    if recap.sectors is None or not recap.sectors.sectors:
        return None
    moves = list(reversed(recap.sectors.sectors))  # best at the top
    top, bottom = recap.sectors.sectors[0], recap.sectors.sectors[-1]
    title = f"{top.name} led the sectors, {bottom.name} lagged"
    fig, ax = _figure(title)
    values = [m.week_return * 100 for m in moves]
    ax.barh(
        [m.name for m in moves],
        values,
        color=[UP if v > 0 else DOWN for v in values],
        height=0.65,
    )
    for i, m in enumerate(moves):
        v = m.week_return * 100
        ax.annotate(
            f.signed(m.week_return),
            (v, i),
            xytext=(4 if v >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if v >= 0 else "right",
            va="center",
            fontsize=7.5,
            color=INK,
        )
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.axvline(0, color=MUTED, linewidth=0.8)
    lo, hi = min(values + [0]), max(values + [0])
    pad = (hi - lo) * 0.18 or 1
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel("Week return, %")
    _pct_axis(ax, "x")
    ax.tick_params(axis="y", labelsize=8)
    alt = (
        f"Bar chart of sector fund week returns: {top.name} led with {f.signed(top.week_return)}, "
        f"{bottom.name} lagged at {f.signed(bottom.week_return)}."
    )
    return _save(fig, "sectors", title, alt, left=0.27)


def bank_scatter(recap: WeeklyRecap) -> Chart | None:
    """(4) Bank earnings surprise against the stock's reaction."""
    if recap.banks is None:
        return None
    rows = [
        r
        for r in recap.banks.reported + recap.banks.large
        if r.surprise is not None and r.reaction is not None
    ]
    if len(rows) < 2:
        return None
    title = "Bank earnings: surprise against the stock's reaction"
    fig, ax = _figure(title)
    for r in rows:
        assert r.surprise is not None and r.reaction is not None
        color = UP if r.group == "regional" else GREY
        x, y = r.surprise * 100, r.reaction * 100
        ax.scatter([x], [y], color=color, s=36, zorder=3)
        ax.annotate(r.ticker, (x, y), xytext=(5, 3), textcoords="offset points", fontsize=8)
    ax.axhline(0, color=MUTED, linewidth=0.8)
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.set_xlabel("EPS surprise, %")
    ax.set_ylabel("Reaction, %")
    _pct_axis(ax, "x")
    _pct_axis(ax)
    ax.scatter([], [], color=UP, label="Regional banks")
    if any(r.group == "large" for r in rows):
        ax.scatter([], [], color=GREY, label="Large banks")
    ax.legend(frameon=False, fontsize=8, loc="best")
    parts = "; ".join(
        f"{r.ticker} {f.signed(r.surprise, 1)} surprise, {f.signed(r.reaction)}" for r in rows
    )
    alt = f"Scatter chart of earnings surprise against price reaction: {parts}."
    return _save(fig, "banks", title, alt)


def ytd_contribution(recap: WeeklyRecap) -> Chart | None:
    """(5) Year-to-date contribution by sector (estimate), or YTD sector returns."""
    if recap.sectors is None:
        return None
    lead = next((x for x in recap.sectors.leadership if x.period == "ytd"), None)
    if lead is not None and lead.contributions:
        items = [(c.sector, c.contribution) for c in lead.contributions]
        share = f.pct(lead.top_two_share, 0) if lead.top_two_share is not None else ""
        title = (
            f"{' and '.join(lead.top_two)}: {share} of the year's sector gains (est.)"
            if share
            else "Contribution to the year's move by sector (estimate)"
        )
        xlabel = f"Contribution to {lead.index_label} YTD return, % points (estimate)"
    else:
        with_ytd = [m for m in recap.sectors.sectors if m.ytd_return is not None]
        if not with_ytd:
            return None
        items = [
            (m.name, m.ytd_return or 0.0)
            for m in sorted(with_ytd, key=lambda m: -(m.ytd_return or 0))
        ]
        title = f"{items[0][0]} leads the sectors this year"
        xlabel = "Year-to-date return, %"
    items = list(reversed(items))
    fig, ax = _figure(title)
    values = [v * 100 for _, v in items]
    ax.barh(
        [n for n, _ in items], values, color=[UP if v > 0 else DOWN for v in values], height=0.65
    )
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=8)
    first, last = items[-1], items[0]
    alt = (
        f"Bar chart: {title}. Largest: {first[0]} {f.signed(first[1])}; "
        f"smallest: {last[0]} {f.signed(last[1])}."
    )
    return _save(fig, "ytd-sectors", title, alt, left=0.27)


def draw_charts(
    recap: WeeklyRecap, closes: pd.DataFrame, config: RecapConfig
) -> tuple[tuple[Chart, ...], tuple[str, ...]]:
    """Every chart the data allows, and a note for each one left out."""
    makers: list[tuple[str, Callable[[], Chart | None]]] = [
        ("the four indexes over the week", lambda: index_week(recap, closes)),
        ("small caps against large caps", lambda: small_vs_large(recap, closes, config)),
        ("sector week returns", lambda: sector_bars(recap)),
        ("bank earnings surprise against reaction", lambda: bank_scatter(recap)),
        ("year-to-date sectors", lambda: ytd_contribution(recap)),
    ]
    charts: list[Chart] = []
    notes: list[str] = []
    with plt.rc_context(_style()):  # type: ignore[arg-type]
        for what, make in makers:
            chart = make()
            if chart is None:
                notes.append(f"Chart of {what} left out: not enough data for it this week.")
            else:
                charts.append(chart)
    return tuple(charts), tuple(notes)
