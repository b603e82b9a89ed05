"""Charts: drawn once per build from the recap and its closes, as inline SVG (web page)
and 2x PNG (PDF, email, blog), each only when the build's formats show it. One house
style: Okabe-Ito colours, the page's font (Inter, else DejaVu Sans), a title that states
the point, a subtitle naming what is plotted and its units, a source line, no chart
junk. Each chart carries alt text written from its data.

Each chart is drawn twice: 7.2 in wide (the page's SVG and the PNG) and 4 in wide (an SVG
the page shows on phones, and the email's 8-bit PNG), so that no text is under 8 pt, or
9 px on a 375 px screen.
Titles, subtitles and source lines wrap to the width; text in a series' colour gets a
shade of it that reads on the page (recap/palette.py). Every id in an SVG starts with
its chart's name, so five charts inline in one page never share an id.

A chart whose data is missing is left out, with a data note saying why. The output is
deterministic (fixed SVG hash salt, no dates, no random ids) so golden files hold.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import io
import logging
import math
import os
import pickle
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.textpath import TextToPath  # noqa: E402

from recap import formatting as f  # noqa: E402
from recap.analytics.indexes import move_for_role  # noqa: E402
from recap.config import RecapConfig  # noqa: E402
from recap.model import BankResult, WeeklyRecap  # noqa: E402
from recap.palette import (  # noqa: E402
    BLUE,
    GREEN,
    GREY,
    GRID,
    INK,
    MUTED,
    ORANGE,
    PINK,
    SKY,
    TEXT_SHADES,
    VERMILLION,
    text_colour,
)

logger = logging.getLogger(__name__)

# Colours (Okabe-Ito, ink, grid) live in recap/palette.py, shared with the page's CSS.
UP, DOWN = BLUE, VERMILLION
LINES = (BLUE, ORANGE, GREEN, PINK, SKY, VERMILLION)
WIDTH = 7.2  # inches; 100 dpi on screen, 200 dpi (2x) for the PNG
NARROW_WIDTH = 4.0  # inches: the phone SVG, shown 343 px wide on a 375 px screen
DPI = 100
# The email PNG's palette: each chart colour at these strengths over white (antialiasing)
PHONE_STEPS = (1.0, 0.82, 0.64, 0.46, 0.3, 0.16, 0.07)
MIN_FONT = 8  # points: 9.5 px in the phone SVG at 375 px, 11 px in the page's at 1280
FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
)
SOURCES = {
    "snapshot": "saved market snapshot (daily closes)",
    "yahoo": "Yahoo Finance daily closes",
    "store": "Yahoo Finance daily closes (local store)",
    "sample": "SAMPLE DATA, NOT MARKET DATA",
}


@dataclass(frozen=True)
class Chart:
    """One drawn chart: the same picture as inline SVG and as a 2x PNG, and the SVG of
    its narrow layout for phones. What the build did not ask for is empty ("", b"")."""

    name: str
    title: str
    alt: str
    svg: str
    png: bytes
    svg_narrow: str = ""
    png_size: tuple[int, int] = (0, 0)  # pixels (width, height)
    # The narrow layout as an 8-bit PNG for the email, whose column is 343 px on a phone.
    png_phone: bytes = b""
    png_phone_size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class _Layout:
    width: float  # inches
    narrow: bool
    svg: bool = True  # saved for the web page
    png: bool = True  # saved for the PDF, the email and the blog


_WIDE = _Layout(WIDTH, narrow=False)
_NARROW = _Layout(NARROW_WIDTH, narrow=True, png=False)  # the page's phone SVG
_LAYOUT: contextvars.ContextVar[_Layout] = contextvars.ContextVar("chart_layout", default=_WIDE)


def _narrow() -> bool:
    """True while the phone layout of a chart is being drawn."""
    return _LAYOUT.get().narrow


@lru_cache(maxsize=1)
def _font() -> list[str]:
    """Inter (as on the page) when installed, registered if matplotlib's cache predates it."""
    names = {fe.name for fe in font_manager.fontManager.ttflist}
    if "Inter" not in names:
        for folder in FONT_DIRS:
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("Inter-*")):
                weight = path.stem.split("-", 1)[1]
                if path.suffix in (".otf", ".ttf") and weight in _WEIGHTS:
                    font_manager.fontManager.addfont(str(path))
            names = {fe.name for fe in font_manager.fontManager.ttflist}
            if "Inter" in names:
                break
    return ["Inter", "DejaVu Sans"] if "Inter" in names else ["DejaVu Sans"]


_WEIGHTS = ("Regular", "Medium", "SemiBold", "Bold")


def _style() -> dict[str, Any]:
    return {
        "font.family": _font(),
        "font.size": 9,
        "text.color": INK,
        "axes.edgecolor": GRID,
        "axes.labelcolor": MUTED,
        "axes.labelsize": 8.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.spines.left": False,
        "axes.unicode_minus": False,  # a hyphen, as in the tables
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "xtick.labelsize": 8.5,
        "ytick.labelsize": 8.5,
        "ytick.major.size": 0,
        "xtick.major.size": 3,
        "xtick.major.width": 0.6,
        "legend.frameon": False,
        "svg.fonttype": "none",  # text stays text: the page's font, searchable, smaller
        # Labels come from config and data: "$5 and $10" is text, not mathtext (which
        # would drop the dollars, or fail on "$x^$").
        "text.parse_math": False,
        "svg.hashsalt": "recap",  # stable ids, so golden files don't churn
        "path.simplify": True,
    }


def _source(recap: WeeklyRecap) -> str:
    return SOURCES.get(recap.data.source, recap.data.source)


def _figure(
    title: str,
    subtitle: str,
    source: str,
    height: float = 3.5,
    right: float = 0.25,
    bottom: float = 0.62,
) -> tuple[Figure, Axes]:
    """A figure in the house style: title, subtitle, source line, one axes.

    Margins are in inches so every chart lines up, whatever its height. The width is the
    layout's; title, subtitle and source wrap to it, and the figure grows by the lines
    they take so the plot keeps its height.
    """
    width = _LAYOUT.get().width
    room = width - 0.24
    heads = _wrap(title, 11.5, "bold", room)
    subs = _wrap(subtitle, 8.5, "normal", room)
    sources = _wrap(f"Source: {source}", MIN_FONT, "normal", room)
    extra_top = (len(heads) - 1) * _lead(11.5) + (len(subs) - 1) * _lead(8.5)
    extra_bottom = (len(sources) - 1) * _lead(MIN_FONT)
    height += extra_top + extra_bottom
    bottom += extra_bottom
    fig = Figure(figsize=(width, height), dpi=DPI)
    left, top = 0.75, 0.78 + extra_top
    ax = fig.add_axes(
        (left / width, bottom / height, 1 - (left + right) / width, 1 - (top + bottom) / height)
    )
    x = 0.12 / width
    sub_y = 0.36 + (len(heads) - 1) * _lead(11.5)
    fig.text(x, 1 - 0.1 / height, "\n".join(heads), fontsize=11.5, fontweight="bold", va="top")
    fig.text(x, 1 - sub_y / height, "\n".join(subs), fontsize=8.5, color=MUTED, va="top")
    fig.text(x, 0.06 / height, "\n".join(sources), fontsize=MIN_FONT, color=MUTED, va="bottom")
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _row() -> float:
    """A bar's row in inches: tighter in the phone layout (17 px a bar on a phone, and
    the PDF's half-width charts), where the page's rows made the tallest charts."""
    return 0.2 if _narrow() else 0.24


def _lead(size: float) -> float:
    """The distance between two lines of text of ``size`` points, in inches."""
    return size * 1.2 / 72


@lru_cache(maxsize=1024)
def _text_width(text: str, size: float, weight: str = "normal") -> float:
    """How wide ``text`` is drawn in the charts' font, in inches."""
    prop = font_manager.FontProperties(family=_font(), size=size, weight=weight)
    width, _, _ = _MEASURE.get_text_width_height_descent(text, prop, ismath=False)
    return float(width) / 72


_MEASURE = TextToPath()


def _wrap(text: str, size: float, weight: str, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` inches, at spaces."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and _text_width(f"{lines[-1]} {word}", size, weight) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _inset(fig: Figure, ax: Axes, left: float) -> None:
    """Move the axes' left edge to ``left`` inches (long category labels)."""
    x0, y0, w, h = ax.get_position().bounds
    right = x0 + w
    ax.set_position((left / fig.get_figwidth(), y0, right - left / fig.get_figwidth(), h))


def _axes_width(fig: Figure, ax: Axes) -> float:
    """The axes' width in inches."""
    return float(ax.get_position().width) * float(fig.get_figwidth())


_SVG_HEADER = re.compile(r"^.*?(?=<svg)", re.S)
# matplotlib's <metadata> names its web site and Dublin Core URLs: not wanted in a page
# whose every URL must stay inside the build.
_SVG_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REF = re.compile(r'(url\(#|href="#)([^)"]+)')


def own_ids(svg: str, prefix: str) -> str:
    """``svg`` with every id, and every url(#..) and href="#.." to one, prefixed.

    matplotlib names its groups figure_1, axes_1, xtick_1... in every chart; inline in
    one page, five charts would share them (invalid HTML, and a clip path or marker
    could resolve to another chart's).
    """
    ids = set(_SVG_ID.findall(svg))
    svg = _SVG_ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return _SVG_REF.sub(
        lambda m: m.group(1) + (prefix if m.group(2) in ids else "") + m.group(2), svg
    )


def _readable_text(fig: Figure) -> None:
    """Text in a series' colour gets its readable shade (see recap/palette.py)."""
    for text in fig.findobj(Text):
        colour = text.get_color()
        if isinstance(colour, str) and colour.startswith("#"):
            text.set_color(text_colour(colour))


def _save(fig: Figure, name: str, title: str, alt: str) -> Chart:
    """The figure as the layout asks: inline SVG, 2x PNG, or both (each costs a draw)."""
    layout = _LAYOUT.get()
    _readable_text(fig)
    svg_text = ""
    if layout.svg:
        svg = io.StringIO()
        # Transparent behind the SVG so the page's dark mode shows through.
        fig.savefig(svg, format="svg", metadata={"Date": None}, transparent=True)
        text = _SVG_METADATA.sub("", _SVG_HEADER.sub("", svg.getvalue(), count=1), count=1)
        prefix = f"chart-{name}-narrow-" if layout.narrow else f"chart-{name}-"
        svg_text = own_ids(text, prefix)
    if not layout.png:
        return Chart(name, title, alt, svg=svg_text, png=b"")
    size = (round(fig.get_figwidth() * DPI * 2), round(fig.get_figheight() * DPI * 2))
    if layout.narrow:
        # Straight from the raw pixels to the 8-bit PNG: no full-colour PNG to encode
        # and read back.
        raw = io.BytesIO()
        fig.savefig(raw, format="rgba", dpi=DPI * 2, facecolor="white")
        phone = email_png(raw.getvalue(), size[0])
        return Chart(name, title, alt, svg=svg_text, png=phone, png_size=_png_size(phone))
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI * 2, metadata={"Software": None}, facecolor="white")
    return Chart(name, title, alt, svg=svg_text, png=png.getvalue(), png_size=size)


def email_png(raw: bytes, width: int) -> bytes:
    """A figure's raw RGBA pixels, ``width`` a row, as an 8-bit PNG on a fixed palette:
    about a quarter of the bytes of a full-colour PNG.

    The palette is the charts' own colours (recap/palette.py) and their blends with white,
    which is what antialiased text, lines and bars on a white background are made of.
    Each pixel takes its exact nearest palette colour, with no dithering: white stays
    pure white and every series colour stays exact (a palette fitted to the image turned
    vermillion bars brown; Pillow's own mapping turned white into 253, 253, 253). The
    rows are counted from the bytes: Agg truncates a fractional height, a sum rounds it.
    """
    import numpy as np

    if len(raw) % (4 * width):
        raise ValueError(f"{len(raw)} bytes of RGBA are not rows of {width} pixels")
    return _on_palette(np.frombuffer(raw, dtype=np.uint8).reshape(-1, width, 4))


def _on_palette(pixels: Any) -> bytes:
    """An RGB pixel array as an 8-bit PNG: each pixel its nearest palette colour."""
    import numpy as np
    from PIL import Image

    palette = _phone_palette()
    # One int per pixel, so the distinct colours are found by a 1-d sort.
    channel = [pixels[..., i].astype(np.int32) for i in range(3)]
    packed = (channel[0] << 16) | (channel[1] << 8) | channel[2]
    del channel
    keys, inverse = np.unique(packed.reshape(-1), return_inverse=True)
    colours = np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=1).astype(np.int32)
    distance = ((colours[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    index = distance.argmin(axis=1).astype(np.uint8)[inverse.reshape(-1)]
    out_image = Image.fromarray(index.reshape(pixels.shape[:2]), mode="P")
    out_image.putpalette(palette.astype(np.uint8).flatten().tolist())
    out = io.BytesIO()
    # zlib level 8: 1.5% larger than optimize=True, in a third of the time.
    out_image.save(out, format="PNG", compress_level=8)
    return out.getvalue()


def _png_size(png: bytes) -> tuple[int, int]:
    """A PNG's (width, height) in pixels, from its header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


@lru_cache(maxsize=1)
def _phone_palette() -> Any:
    """White, then each chart colour blended with white at PHONE_STEPS (an n x 3 array)."""
    import numpy as np

    anchors = {INK, MUTED, GRID, *LINES, GREY, *(light for light, _ in TEXT_SHADES.values())}
    colours: list[tuple[int, ...]] = [(255, 255, 255)]
    for hex_colour in sorted(c.lower() for c in anchors):
        rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
        colours.extend(tuple(round(255 + (c - 255) * t) for c in rgb) for t in PHONE_STEPS)
    return np.array(list(dict.fromkeys(colours)), dtype=np.int32)


def _pct_formatter(digits: int = 0, unit: str = "%") -> mticker.FuncFormatter:
    def fmt(v: float, _: object) -> str:
        text = f"{abs(v):.{digits}f}"
        if float(text) == 0:
            return f"0{unit}"
        return f"{'+' if v > 0 else '-'}{text}{unit}"

    return mticker.FuncFormatter(fmt)


def _window(closes: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    if not isinstance(closes.index, pd.DatetimeIndex):
        return closes.iloc[0:0]
    return closes.loc[(closes.index >= pd.Timestamp(start)) & (closes.index <= pd.Timestamp(end))]


def _spread(values: list[float], gap: float) -> list[float]:
    """Label positions near ``values`` (in order given) but at least ``gap`` apart."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [values[i] for i in order]
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    # Centre the block on the data again, so labels do not all drift upwards.
    shift = (sum(placed) - sum(values[i] for i in order)) / len(placed)
    out = [0.0] * len(values)
    for rank, i in enumerate(order):
        out[i] = placed[rank] - shift
    return out


def _proxy_note(recap: WeeklyRecap) -> str:
    proxies = [m.symbol for m in recap.indexes if m.is_proxy]
    return "; ETFs stand in for the indexes" if proxies else ""


def index_week(recap: WeeklyRecap, closes: pd.DataFrame) -> Chart | None:
    """(1) The four indexes over the week, rebased to 100 at the base date's close."""
    week = recap.week
    frame = _window(closes, week.base_date, week.end)
    moves = [m for m in recap.indexes if m.symbol in frame and frame[m.symbol].notna().all()]
    if not moves or len(frame) < 2:
        return None
    best = max(moves, key=lambda m: m.week_return)
    worst = min(moves, key=lambda m: m.week_return)
    others = [m for m in moves if m is not best]
    if best.week_return > 0 and others and all(m.week_return <= 0 for m in others):
        title = f"The {best.short_name} rose {f.pct(best.week_return)} while the others slipped"
    elif best.week_return <= 0:
        title = f"Every index fell; the {worst.short_name} lost most, {f.signed(worst.week_return)}"
    else:
        title = f"The {best.short_name} led the week, up {f.pct(best.week_return)}"
    base = f.day(week.base_date)
    # The end labels take the room right of the plot: on a phone, two lines each.
    sep = "\n" if _narrow() else " "
    names = [f"{m.short_name}{sep}{f.signed(m.week_return)}" for m in moves]
    lines = [line for n in names for line in n.split("\n")]
    fig, ax = _figure(
        title,
        f"Daily close, rebased to 100 at the {base} close",
        _source(recap) + _proxy_note(recap),
        right=max(_text_width(line, 8.5, "bold") for line in lines) + 0.3,
    )
    x = list(range(len(frame)))
    # On a phone the day of the month is enough: the subtitle names the base date.
    day = "{ts.day}" if _narrow() else "{ts:%b} {ts.day}"
    labels = [("{ts:%a}\n" + day).format(ts=ts) for ts in frame.index]
    labels[0] = f"{frame.index[0]:%b} {frame.index[0].day}\n(base)"
    ends: list[float] = []
    for color, m in zip(LINES, moves, strict=False):
        series = frame[m.symbol] / frame[m.symbol].iloc[0] * 100
        ax.plot(x, series.to_numpy(), color=color, linewidth=2, solid_capstyle="round")
        ax.plot([x[-1]], [float(series.iloc[-1])], "o", color=color, markersize=4)
        ends.append(float(series.iloc[-1]))
    ax.axhline(100, color=MUTED, linewidth=0.8, zorder=1)
    lo, hi = ax.get_ylim()
    label_y = _spread(ends, (hi - lo) * 0.075 * (2 if _narrow() else 1))
    for color, name, y, ly in zip(LINES, names, ends, label_y, strict=False):
        ax.annotate(
            name,
            (x[-1], y),
            xytext=(x[-1] + 0.15, ly),
            textcoords="data",
            color=color,
            fontsize=8.5,
            fontweight="bold",
            va="center",
            annotation_clip=False,
        )
    ax.set_xticks(x, labels)
    ax.set_xlim(-0.15, x[-1] + 0.1)
    ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%.1f"))
    ax.set_ylabel("Index level (base = 100)")
    parts = ", ".join(f"{m.label} {f.signed(m.week_return)}" for m in moves)
    alt = f"Line chart of the week, each index rebased to 100 at the {base} close: {parts}."
    return _save(fig, "indexes", title, alt)


def small_vs_large(recap: WeeklyRecap, closes: pd.DataFrame, config: RecapConfig) -> Chart | None:
    """(2) Russell 2000 against the S&P 500 over the last year, with record closes marked."""
    small = move_for_role(recap.indexes, config, "small")
    large = move_for_role(recap.indexes, config, "large")
    if small is None or large is None or not {small.symbol, large.symbol} <= set(closes):
        return None
    upto = closes.loc[closes.index <= pd.Timestamp(recap.week.end), [small.symbol, large.symbol]]
    year = upto.loc[upto.index > pd.Timestamp(recap.week.end - dt.timedelta(days=365))].dropna()
    if len(year) < 60:
        return None
    ratio = year[small.symbol] / year[large.symbol]
    ratio = ratio / ratio.iloc[0] * 100
    change = float(ratio.iloc[-1]) / 100 - 1
    low = float(ratio.min()) / 100 - 1
    if change > 0:
        title = f"Small caps are ahead of large caps over the year, by {f.pct(change, 1)}"
    else:
        title = f"Small caps still trail large caps over the year, by {f.pct(change, 1)}"
    start = f.long_date(year.index[0].date())
    fig, ax = _figure(
        title,
        f"{small.label} relative to the {large.label}, "
        f"{start} = 100; rising means small caps are doing better",
        _source(recap) + _proxy_note(recap),
        right=0.5,
    )
    ax.plot(ratio.index, ratio.to_numpy(), color=BLUE, linewidth=1.6)
    ax.axhline(100, color=MUTED, linewidth=0.8, zorder=1)
    # Record closes of the small-cap index within the window: only with a year of history,
    # since a record needs the whole history to compare against.
    marks: list[pd.Timestamp] = []
    if small.record_close is not None:
        full = upto[small.symbol].dropna()
        prior = full.cummax().shift(1)
        marks = [ts for ts in year.index if full[ts] > prior.get(ts, float("inf"))]
    if marks:
        ax.scatter(
            pd.DatetimeIndex(marks).to_numpy(),
            ratio.loc[marks].to_numpy(),
            color=ORANGE,
            edgecolor="white",
            linewidth=0.6,
            s=26,
            zorder=3,
            label=f"{small.name} record close",
        )
        ax.legend(loc="upper left", fontsize=8, handletextpad=0.2, borderaxespad=0.2)
    last = float(ratio.iloc[-1])
    ax.annotate(
        f"{last:.1f}",
        (ratio.index[-1], last),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize=8,
        color=BLUE,
        fontweight="bold",
        va="center",
        annotation_clip=False,
    )
    locator = mdates.MonthLocator(bymonth=(1, 3, 5, 7, 9, 11))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%.0f"))
    ax.set_ylabel(f"{small.short_label} ÷ {large.short_label} (start = 100)")
    ax.set_xlim(ratio.index[0], ratio.index[-1])
    n = len(marks)
    alt = (
        f"Line chart: the {small.label} relative to the {large.label} over the year to "
        f"{f.day(recap.week.end)}, {f.signed(change, 1)} in all (low {f.signed(low, 1)}); "
        f"{n} record close{'s' if n != 1 else ''} of the {small.name} marked."
    )
    return _save(fig, "small-vs-large", title, alt)


def _bars(
    fig: Figure,
    ax: Axes,
    items: Sequence[tuple[str, float]],
    label: Callable[[float], str],
    unit: str,
) -> None:
    """Horizontal diverging bars, first item at the top, value labels at the bar ends.

    The value axis leaves room for the widest label on each side that has bars, and
    has as many ticks as fit the axes' width.
    """
    names = [n for n, _ in reversed(items)]
    values = [v * 100 for _, v in reversed(items)]
    ax.barh(names, values, color=[UP if v > 0 else DOWN for v in values], height=0.68)
    for i, (v, (_, raw)) in enumerate(zip(values, reversed(items), strict=True)):
        ax.annotate(
            label(raw),
            (v, i),
            xytext=(4 if v >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if v >= 0 else "right",
            va="center",
            fontsize=MIN_FONT,
            color=INK,
        )
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="y", length=0, labelsize=8.5, labelcolor=INK)
    ax.tick_params(axis="x", length=0)
    lo, hi = min([*values, 0.0]), max([*values, 0.0])
    axes_in = _axes_width(fig, ax)
    label_in = max(_text_width(label(raw), MIN_FONT) for _, raw in items) + 0.1
    sides = (lo < 0) + (hi > 0)
    per_inch = (hi - lo) / max(axes_in - sides * label_in, axes_in * 0.4)
    pad = label_in * per_inch or 1.0
    ax.set_xlim(lo - (pad if lo < 0 else pad * 0.2), hi + (pad if hi > 0 else pad * 0.2))
    ax.set_ylim(-0.6, len(values) - 0.4)
    locator = mticker.MaxNLocator(nbins=max(3, min(7, int(axes_in / 0.5))), steps=[1, 2, 5, 10])
    ax.xaxis.set_major_locator(locator)
    ticks = locator.tick_values(lo, hi)
    step = float(ticks[1] - ticks[0])
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    ax.xaxis.set_major_formatter(_pct_formatter(digits, unit))


# Chart titles are claims too: each is held to the facts like a sentence of the prose
# (tests/test_claims.py checks them over a year of weeks), and names what moved the index
# in the direction of its move, never a sector that pushed the other way.


def sectors_title(recap: WeeklyRecap) -> str:
    """'Real Estate led the sectors, Financials lagged; 6 of 11 rose', with rank words
    that fit the signs when every fund moved one way."""
    assert recap.sectors is not None
    moves = sorted(recap.sectors.sectors, key=lambda m: -m.week_return)
    top, bottom = moves[0], moves[-1]
    ups = sum(m.week_return > 0 for m in moves)
    if ups == 0:
        return f"Every sector fund fell; {top.name} fell least, {bottom.name} most"
    if bottom.week_return > 0:
        return f"Every sector fund rose; {top.name} rose most, {bottom.name} least"
    return f"{top.name} led the sectors, {bottom.name} lagged; {ups} of {len(moves)} rose"


def attribution_title(recap: WeeklyRecap) -> str:
    """The sector that moved the index most in the direction of its move."""
    from recap.storyplan import leading_sectors

    a = recap.attribution
    assert a is not None and a.week is not None
    lead, _ = leading_sectors(a.week, 1)
    if not lead:
        return f"Points each sector added to the {a.index} this week"
    top = lead[0]
    up = a.week.contributions_total >= 0
    verb, to = ("added", "to") if up else ("subtracted", "from")
    return f"{top.sector} {verb} the most {to} the {a.index} this week, {f.pp(top.contribution)}"


def top_stocks_title(recap: WeeklyRecap) -> str:
    """The stock that moved the index most in the direction of its move."""
    a = recap.attribution
    assert a is not None and a.week is not None and a.week.top
    if a.week.contributions_total < 0 and a.week.bottom:
        worst = a.week.bottom[0]
        return (
            f"{worst.name} ({worst.ticker}) subtracted the most from the {a.index}, "
            f"{f.pp(worst.contribution)}"
        )
    best = a.week.top[0]
    return f"{best.name} ({best.ticker}) added the most to the {a.index}, {f.pp(best.contribution)}"


def sector_bars(recap: WeeklyRecap) -> Chart | None:
    """(3) Sector week returns, sorted, as diverging bars."""
    if recap.sectors is None or not recap.sectors.sectors:
        return None
    moves = sorted(recap.sectors.sectors, key=lambda m: -m.week_return)
    title = sectors_title(recap)
    fig, ax = _figure(
        title,
        "Week return of each sector fund, %",
        _source(recap),
        height=0.78 + _row() * len(moves) + 0.8,
        right=0.3,
        bottom=0.8,
    )
    _inset(fig, ax, max(_text_width(m.name, 8.5) for m in moves) + 0.2)
    _bars(fig, ax, [(m.name, m.week_return) for m in moves], f.signed, "%")
    ax.set_xlabel("Week return, %")
    alt = (
        f"Bar chart of sector fund week returns. {title}: "
        + "; ".join(f"{m.name} {f.signed(m.week_return)}" for m in moves)
        + "."
    )
    return _save(fig, "sectors", title, alt)


def _bank_title(rows: Sequence[BankResult]) -> str:
    beats = [r for r in rows if r.outcome == "beat"]
    misses = [r for r in rows if r.outcome == "miss"]
    beats_up = sum((r.reaction or 0) > 0 for r in beats)
    misses_down = sum((r.reaction or 0) < 0 for r in misses)

    def count(k: int, n: int) -> str:
        return "all" if k == n and n > 1 else "the one" if k == n == 1 else f"{k} of {n}"

    if beats and misses:
        return (
            f"Beats were no sure thing: {count(beats_up, len(beats))} "
            f"beat{'s' if len(beats) != 1 else ''} rose on the day, "
            f"{count(misses_down, len(misses))} miss{'es' if len(misses) != 1 else ''} fell"
        )
    if beats:
        return f"{count(beats_up, len(beats)).capitalize()} of the banks that beat rose on the day"
    return "How bank stocks reacted to their earnings surprise"


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
    title = _bank_title(rows)
    fig, ax = _figure(
        title,
        "EPS surprise against the stock's move on the report (close to close), %",
        _source(recap) + "; EPS estimates and results from the earnings calendar",
        height=4.0 if _narrow() else 3.4,
        right=0.3,
        bottom=0.8,
    )
    xs = [(r.surprise or 0.0) * 100 for r in rows]
    ys = [(r.reaction or 0.0) * 100 for r in rows]
    for group, color, label in (("regional", BLUE, "Regional banks"), ("large", GREY, "Large")):
        pts = [(x, y) for r, x, y in zip(rows, xs, ys, strict=True) if r.group == group]
        if pts:
            ax.scatter(
                [p[0] for p in pts],
                [p[1] for p in pts],
                color=color,
                s=42,
                zorder=3,
                edgecolor="white",
                linewidth=0.7,
                label=label if group == "regional" else "Large banks (context)",
            )
    ax.axhline(0, color=MUTED, linewidth=0.8, zorder=1)
    ax.axvline(0, color=MUTED, linewidth=0.8, zorder=1)
    xpad = (max(xs) - min(xs)) * 0.12 or 1.0
    ypad = (max(ys) - min(ys)) * 0.15 or 1.0
    ax.set_xlim(min(min(xs), 0) - xpad, max(max(xs), 0) + xpad)
    ax.set_ylim(min(min(ys), 0) - ypad, max(max(ys), 0) + ypad)
    _label_points(fig, ax, [r.ticker for r in rows], xs, ys, _scatter_furniture(fig, ax))
    corner: dict[str, Any] = {"fontsize": MIN_FONT, "color": MUTED, "style": "italic"}
    ax.text(0.99, 0.98, "beat, rose", transform=ax.transAxes, ha="right", va="top", **corner)
    ax.text(0.01, 0.02, "missed, fell", transform=ax.transAxes, ha="left", va="bottom", **corner)
    ax.set_xlabel("EPS surprise against the estimate, %")
    ax.set_ylabel("Price reaction, %")
    ax.xaxis.set_major_formatter(_pct_formatter())
    ax.yaxis.set_major_formatter(_pct_formatter())
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.legend(loc="upper left", fontsize=8, handletextpad=0.2, borderaxespad=0.2)
    parts = "; ".join(
        f"{r.ticker} {r.outcome} by {f.pct(r.surprise, 1)}, {f.signed(r.reaction)} on the day"
        for r in rows
    )
    alt = f"Scatter chart of bank earnings surprise against price reaction. {title}: {parts}."
    return _save(fig, "banks", title, alt)


_Box = tuple[float, float, float, float]


def _scatter_furniture(fig: Figure, ax: Axes) -> list[_Box]:
    """Where the scatter's corner notes and legend go, in pixels: no label may sit there."""
    x0, y0, x1, y1 = ax.bbox.extents
    px = fig.dpi / 72  # points to pixels
    line = 12 * px
    beat = _text_width("beat, rose", MIN_FONT) * fig.dpi
    missed = _text_width("missed, fell", MIN_FONT) * fig.dpi
    legend = (_text_width("Large banks (context)", 8) + 0.35) * fig.dpi
    return [
        (x1 - beat - 4 * px, y1 - line, x1, y1),
        (x0, y0, x0 + missed + 4 * px, y0 + line),
        (x0, y1 - 2.4 * line, x0 + legend, y1),
    ]


def _label_points(
    fig: Figure,
    ax: Axes,
    names: Sequence[str],
    xs: Sequence[float],
    ys: Sequence[float],
    reserved: Sequence[_Box] = (),
) -> None:
    """Ticker labels beside their points, each moved to the first spot that is free of
    the points, the labels placed before it and the ``reserved`` boxes (pixels)."""
    to_px = ax.transData.transform
    points = [tuple(to_px((x, y))) for x, y in zip(xs, ys, strict=True)]
    taken: list[_Box] = [(px - 4, py - 4, px + 4, py + 4) for px, py in points]
    taken += reserved
    scale = fig.dpi / 72  # points to pixels
    for name, (px, py), x, y in zip(names, points, xs, ys, strict=True):
        w, h = len(name) * 5.6 * scale, 9 * scale
        spots = ((6, 2, "left"), (6, -11, "left"), (-6, 2, "right"), (-6, -11, "right"))
        for dx, dy, ha in spots:
            x0 = px + dx * scale - (w if ha == "right" else 0)
            y0 = py + dy * scale
            box = (x0, y0, x0 + w, y0 + h)
            if not any(_overlap(box, t) for t in taken):
                break
        taken.append(box)
        ax.annotate(
            name,
            (x, y),
            xytext=(dx, dy + 4.5),
            textcoords="offset points",
            ha=ha,
            va="center",
            fontsize=8,
            fontweight="bold",
            color=INK,
        )


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _attribution_source(recap: WeeklyRecap) -> str:
    a = recap.attribution
    if a is None or a.week is None:
        return _source(recap)
    held = a.week.holdings_as_of
    if a.method == "constituents" and held is not None:
        return (
            f"{_source(recap)}; weights: {a.fund} holdings of {f.long_date(held)}, drifted by price"
        )
    return f"{_source(recap)}; ESTIMATE: sector weights x small-cap sector funds"


def attribution_sectors(recap: WeeklyRecap) -> Chart | None:
    """(5) Points each sector added to the small-cap index: the week and the year to date."""
    a = recap.attribution
    if a is None or a.week is None:
        return None
    week = {s.sector: s.contribution for s in a.week.sectors if s.contribution is not None}
    ytd = {
        s.sector: s.contribution
        for s in (a.ytd.sectors if a.ytd else ())
        if s.contribution is not None
    }
    order = [s.sector for s in a.week.sectors if s.sector in week]
    if not order:
        return None
    title = attribution_title(recap)
    how = (
        "estimate: sector weight × small-cap sector fund"
        if a.method == "estimate"
        else ("each stock's weight × its return, summed by sector")
    )
    fig, ax = _figure(
        title,
        f"Points added to the {a.index}'s return by sector ({how})",
        _attribution_source(recap),
        height=0.78 + _row() * len(order) + 1.05,
        right=0.3,
        bottom=0.8,
    )
    _inset(fig, ax, max(_text_width(s, 8.5) for s in order) + 0.2)
    x0, y0, w, h = ax.get_position().bounds
    panels = [(ax, "This week", [(s, week[s]) for s in order])]
    if ytd:
        # Side by side, the sectors' names once (on a phone too: stacked, the two
        # panels took a screen and a half).
        gap = (0.12 if _narrow() else 0.35) / fig.get_figwidth()
        half = (w - gap) / 2
        ax.set_position((x0, y0, half, h))
        other = fig.add_axes((x0 + half + gap, y0, half, h))
        panels.append((other, "Year to date", [(s, ytd.get(s, 0.0)) for s in order]))
    # Two panels on a phone leave no room for " pts" at every bar: the axis says Points.
    value = _bare_pp if _narrow() and len(panels) > 1 else f.pp
    for panel, label, items in panels:
        _bars(fig, panel, items, value, "")
        panel.set_title(label, loc="left", fontsize=9, fontweight="bold", color=INK, pad=4)
    panels[-1][0].set_xlabel("Points")
    if len(panels) > 1:
        panels[0][0].set_xlabel("Points")
        panels[1][0].tick_params(axis="y", labelleft=False)
    parts = "; ".join(
        f"{s} {f.pp(week[s])} this week" + (f", {f.pp(ytd[s])} this year" if s in ytd else "")
        for s in order
    )
    alt = f"Bar chart of the points each sector added to the {a.index}'s return. {title}. {parts}."
    return _save(fig, "attribution", title, alt)


def _bare_pp(value: float) -> str:
    """Percentage points without their unit: 0.0087 -> '+0.87'."""
    return f.pp(value).removesuffix(" pts").removesuffix(" pt")


def _stock_label(name: str, ticker: str, limit: int = 26) -> str:
    short = name if len(name) <= limit else name[: limit - 1].rstrip() + "…"
    return f"{short} ({ticker})"


def top_stocks(recap: WeeklyRecap, detractors: int = 5) -> Chart | None:
    """(6) The week's largest contributing and detracting stocks, in points."""
    a = recap.attribution
    if a is None or a.week is None or a.method != "constituents" or not a.week.top:
        return None
    rows = list(a.week.top) + list(reversed(a.week.bottom[:detractors]))
    title = top_stocks_title(recap)
    fig, ax = _figure(
        title,
        f"Points added to the {a.index}'s week by its largest contributors and detractors "
        "(weight × return)",
        _attribution_source(recap),
        height=0.78 + _row() * len(rows) + 0.8,
        right=0.3,
        bottom=0.8,
    )
    labels = [_stock_label(r.name, r.ticker, 18 if _narrow() else 26) for r in rows]
    _inset(fig, ax, max(_text_width(label, 8.5) for label in labels) + 0.2)
    _bars(fig, ax, list(zip(labels, (r.contribution for r in rows), strict=True)), f.pp, "")
    ax.set_xlabel("Points added to the week's return")
    parts = "; ".join(
        f"{r.name} ({r.ticker}) {f.pp(r.contribution)} on a {f.signed(r.stock_return)} move"
        for r in rows
    )
    alt = f"Bar chart of the stocks that added and subtracted most this week. {title}. {parts}."
    return _save(fig, "top-stocks", title, alt)


# The "Beyond stocks" chart's panels: the 10-year yield and WTI crude, by config symbol.
BEYOND_SERIES = ("^TNX", "CL=F")


def beyond_year(recap: WeeklyRecap, markets: pd.DataFrame | None) -> Chart | None:
    """(7) The 10-year yield and WTI crude over the year, one panel each (own units)."""
    if markets is None or markets.empty:
        return None
    rows = [m for s in BEYOND_SERIES for m in recap.markets if m.series == s]
    panels = []
    for m in rows:
        if m.symbol not in markets:
            continue
        s = markets[m.symbol].dropna()
        end = pd.Timestamp(m.as_of)
        s = s.loc[(s.index > end - pd.Timedelta(days=365)) & (s.index <= end)]
        if len(s) >= 60:
            panels.append((m, s))
    if not panels:
        return None
    changes = []
    for m, s in panels:
        first, last = float(s.iloc[0]), float(s.iloc[-1])
        if m.change_unit == "bp":
            changes.append(f.change_in(round((last - first) * 100, 9), "bp"))
        else:
            changes.append(f.signed(last / first - 1))
    title = "Over the year: " + ", ".join(
        f"{m.name} {c}" for (m, _), c in zip(panels, changes, strict=True)
    )
    start = min(s.index[0] for _, s in panels).date()
    end_day = max(m.as_of for m, _ in panels)
    fig, ax = _figure(
        title,
        f"Daily close, {f.long_date(start)} to {f.long_date(end_day)}; "
        + "; ".join(
            f"{m.name}{f' ({m.tick})' if m.tick else ''} in "
            f"{'percent' if m.kind == 'yield' else 'dollars'}"
            for m, _ in panels
        ),
        _source(recap),
        height=3.0,
    )
    axes = [ax]
    if len(panels) == 2:
        box = ax.get_position()
        gap = 0.9 / fig.get_figwidth()
        width = (box.width - gap) / 2
        ax.set_position((box.x0, box.y0, width, box.height))
        second = fig.add_axes((box.x0 + width + gap, box.y0, width, box.height))
        second.grid(axis="y", color=GRID, linewidth=0.6)
        second.set_axisbelow(True)
        axes.append(second)
    for axis, color, (m, s) in zip(axes, (BLUE, ORANGE), panels, strict=False):
        axis.plot(s.index, s.to_numpy(), color=color, linewidth=1.5)
        axis.set_title(m.name, loc="left", fontsize=9, fontweight="bold", color=text_colour(color))
        locator = mdates.MonthLocator(bymonth=(1, 4, 7, 10))  # type: ignore[no-untyped-call]
        axis.xaxis.set_major_locator(locator)
        axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        axis.set_xlim(s.index[0], s.index[-1])
        fmt = "%.2f%%" if m.kind == "yield" else "$%.0f"
        axis.yaxis.set_major_formatter(mticker.FormatStrFormatter(fmt))
    alt = (
        "Line charts over the year: "
        + "; ".join(
            f"{m.name} from {f.level(float(s.iloc[0]), m.kind)} to "
            f"{f.level(float(s.iloc[-1]), m.kind)} ({c})"
            for (m, s), c in zip(panels, changes, strict=True)
        )
        + "."
    )
    return _save(fig, "markets", title, alt)


_MAKERS: tuple[tuple[str, str], ...] = (
    ("indexes", "the four indexes over the week"),
    ("small-vs-large", "small caps against large caps over the year"),
    ("sectors", "sector week returns"),
    ("banks", "bank earnings surprise against reaction"),
    ("attribution", "points added by sector"),
    ("top-stocks", "the stocks that added and subtracted most"),
    ("markets", "the 10-year yield and oil over the year"),
)
_WHY = {
    "indexes": "the closes of the week are incomplete",
    "small-vs-large": "less than three months of closes for both indexes",
    "sectors": "no sector fund closes for the week",
    "banks": "fewer than two banks reported with an estimate and a price reaction",
    "attribution": "no attribution of the small-cap index's move this week",
    "top-stocks": "no prices for the small-cap index's own stocks this week",
    "markets": "under three months of closes for the 10-year yield and WTI crude",
}


def _why(name: str, recap: WeeklyRecap) -> str:
    """Why a chart is left out; without a holdings file there are no stock-level figures
    at all (a failed download), which is not a lack of prices."""
    held = recap.attribution
    if name == "top-stocks" and (held is None or held.method == "estimate"):
        return "no holdings file of the small-cap index, so no stock-level figures"
    return _WHY[name]


def _draw(
    name: str,
    recap: WeeklyRecap,
    closes: pd.DataFrame,
    config: RecapConfig,
    *,
    svg: bool = True,
    png: bool = True,
    markets: pd.DataFrame | None = None,
    phone_png: bool = False,
) -> Chart | None:
    """One chart: the page's layout (its SVG, the PNG, or both), then the phone's layout
    (with ``svg`` its SVG, with ``phone_png`` the email's 8-bit PNG)."""
    with matplotlib.rc_context(_style()):  # type: ignore[arg-type]
        token = _LAYOUT.set(dataclasses.replace(_WIDE, svg=svg, png=png))
        try:
            chart = _make(name, recap, closes, config, markets)
        finally:
            _LAYOUT.reset(token)
        if chart is None or not (svg or phone_png):
            return chart
        token = _LAYOUT.set(dataclasses.replace(_NARROW, svg=svg, png=phone_png))
        try:
            narrow = _make(name, recap, closes, config, markets)
        finally:
            _LAYOUT.reset(token)
    if narrow is None:
        return chart
    return dataclasses.replace(
        chart, svg_narrow=narrow.svg, png_phone=narrow.png, png_phone_size=narrow.png_size
    )


def _make(
    name: str,
    recap: WeeklyRecap,
    closes: pd.DataFrame,
    config: RecapConfig,
    markets: pd.DataFrame | None = None,
) -> Chart | None:
    """Draw chart ``name`` in the current layout (None when its data is missing)."""
    if name == "markets":
        return beyond_year(recap, markets)
    if name == "indexes":
        return index_week(recap, closes)
    if name == "small-vs-large":
        return small_vs_large(recap, closes, config)
    if name == "sectors":
        return sector_bars(recap)
    if name == "banks":
        return bank_scatter(recap)
    if name == "attribution":
        return attribution_sectors(recap)
    return top_stocks(recap)


def _draw_in_child(
    names: Sequence[str], draw: Callable[[str], Chart | None]
) -> Callable[[], dict[str, Chart | None] | None]:
    """Fork a process that draws ``names``; the returned call collects its charts.

    Only on a POSIX system with two or more cores and a single thread, where fork is
    safe and cheap (the child shares the parent's imports and data). The call returns
    None when the child failed; the caller then draws those charts itself.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: draw, send, leave without running the parent's cleanup
        code = 1
        try:
            os.close(read)
            result = {n: draw(n) for n in names}
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    os.close(write)

    def collect() -> dict[str, Chart | None] | None:
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not data:
            logger.warning("charts: the drawing process failed; drawing in-process")
            return None
        result: dict[str, Chart | None] = pickle.loads(data)  # noqa: S301 (our own child)
        return result

    return collect


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and threading.active_count() == 1


def draw_charts(
    recap: WeeklyRecap,
    closes: pd.DataFrame,
    config: RecapConfig,
    *,
    parallel: bool = True,
    svg: bool = True,
    png: bool = True,
    markets: pd.DataFrame | None = None,
    phone_png: bool = False,
) -> tuple[tuple[Chart, ...], tuple[str, ...]]:
    """Every chart the data allows, and a data note for each one left out.

    ``svg``: the page's inline SVGs (both layouts); ``png``: the 2x PNGs for the PDF,
    the email and the blog; ``phone_png``: the email's 8-bit PNGs of the phone layout.
    A build asks only for what its formats show.
    With ``parallel`` (and where forking is safe) a second process draws half of the
    charts, which takes about a third off the charts' share of a build.
    """
    _font()
    names = [n for n, _ in _MAKERS]

    def draw(name: str) -> Chart | None:
        return _draw(
            name, recap, closes, config, svg=svg, png=png, phone_png=phone_png, markets=markets
        )

    drawn: dict[str, Chart | None] = {}
    collect = None
    if parallel and _can_fork():
        collect = _draw_in_child(names[1::2], draw)
    for name in names[0::2] if collect else names:
        drawn[name] = draw(name)
    if collect is not None:
        from_child = collect()
        if from_child is None:
            from_child = {n: draw(n) for n in names[1::2]}
        drawn.update(from_child)
    charts: list[Chart] = []
    notes: list[str] = []
    for name, what in _MAKERS:
        chart = drawn.get(name)
        if chart is None:
            notes.append(f"Chart of {what} left out: {_why(name, recap)}.")
        else:
            charts.append(chart)
    return tuple(charts), tuple(notes)
