"""Number and date formatting: the only place a figure becomes text.

Registered as Jinja filters by render.py and used by the narrative, so the prose
and the tables print the same number the same way, and the checker can find
every number of the prose among the model's formatted figures.
A missing value prints as an em dash, never "nan%".
"""

from __future__ import annotations

import datetime as dt
import math

DASH = "\u2014"
MINUS = "-"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def pct(value: float | None, digits: int = 2) -> str:
    """0.0213 -> '2.13%' (no sign; magnitude words carry the direction)."""
    if _missing(value):
        return DASH
    assert value is not None
    return f"{abs(value) * 100:.{digits}f}%"


def signed(value: float | None, digits: int = 2) -> str:
    """0.0213 -> '+2.13%', -0.0035 -> '-0.35%', 0 -> '0.00%'."""
    if _missing(value):
        return DASH
    assert value is not None
    text = f"{abs(value) * 100:.{digits}f}"
    if float(text) == 0:
        return f"{text}%"
    return f"{'+' if value > 0 else MINUS}{text}%"


def pp(value: float | None, digits: int = 2) -> str:
    """A difference of returns in percentage points: 0.0248 -> '+2.48 pts'."""
    if _missing(value):
        return DASH
    assert value is not None
    text = f"{abs(value) * 100:.{digits}f}"
    if float(text) == 0:
        return f"{text} pts"
    return f"{'+' if value > 0 else MINUS}{text} pts"


def index_points(value: float | None, digits: int = 2) -> str:
    """A move in index points: -16.94 -> '-16.94'; 5.451 -> '+5.45'; 1234.5 -> '+1,234.50'."""
    if _missing(value):
        return DASH
    assert value is not None
    text = f"{abs(value):,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        return text
    return f"{'+' if value > 0 else MINUS}{text}"


def bps(value: float | None) -> str:
    """0.0125 -> '+125 bp'."""
    if _missing(value):
        return DASH
    assert value is not None
    n = round(value * 10000)
    return f"{'+' if n > 0 else MINUS if n < 0 else ''}{abs(n)} bp"


def price(value: float | None) -> str:
    """265.76 -> '265.76'; 6940.01 -> '6,940.01'."""
    if _missing(value):
        return DASH
    assert value is not None
    return f"{value:,.2f}"


def eps(value: float | None) -> str:
    """Earnings per share in dollars: 1.23 -> '$1.23', -0.4 -> '-$0.40'."""
    if _missing(value):
        return DASH
    assert value is not None
    return f"{MINUS if value < 0 else ''}${abs(value):.2f}"


def ratio(value: float | None, digits: int = 2) -> str:
    """A plain number: a correlation or an HHI, 0.8123 -> '0.81'."""
    if _missing(value):
        return DASH
    assert value is not None
    text = f"{value:.{digits}f}"
    return "0." + "0" * digits if float(text) == 0 else text


def times(value: float | None) -> str:
    """A multiple: 1.84 -> '1.8x'."""
    if _missing(value):
        return DASH
    assert value is not None
    return f"{value:.1f}x"


def count(value: int | None) -> str:
    """A count with thousands separators: 1128 -> '1,128'."""
    if value is None:
        return DASH
    return f"{value:,}"


def sign_class(value: float | None) -> str:
    """CSS class for a figure: 'up', 'down' or 'flat' (colour always goes with a sign)."""
    if _missing(value):
        return "flat"
    assert value is not None
    if round(value * 10000) == 0:
        return "flat"
    return "up" if value > 0 else "down"


def day(value: dt.date | None) -> str:
    """2026-01-16 -> 'Jan 16'."""
    if value is None:
        return DASH
    return f"{value:%b} {value.day}"


def long_date(value: dt.date | None) -> str:
    """2026-01-16 -> 'January 16, 2026'."""
    if value is None:
        return DASH
    return f"{value:%B} {value.day}, {value.year}"


def weekday(value: dt.date | None) -> str:
    """2026-01-16 -> 'Friday'."""
    if value is None:
        return DASH
    return f"{value:%A}"


def week_span(start: dt.date, end: dt.date) -> str:
    """The week as a reader says it, en dash between: 'Jan 12\u201316, 2026',
    'Sep 29\u2013Oct 3, 2025', 'Dec 29, 2025\u2013Jan 2, 2026', 'Jul 3, 2026' (one day).

    The one week label: the page, the PDF, the email (and its subject), the blog post and
    the archive all print a week with it.
    """
    if start.year != end.year:
        return f"{day(start)}, {start.year}\u2013{day(end)}, {end.year}"
    if start.month != end.month:
        return f"{day(start)}\u2013{day(end)}, {end.year}"
    if start == end:
        return f"{day(end)}, {end.year}"
    return f"{day(start)}\u2013{end.day}, {end.year}"


def level(value: float | None, kind: str = "price") -> str:
    """A series' level as markets quote it: a yield 4.231 -> '4.23%', a rate under 10
    (the euro) '1.1610', anything else like a price ('95,525.12')."""
    if _missing(value):
        return DASH
    assert value is not None
    if kind == "yield":
        return f"{MINUS if value < 0 else ''}{abs(value):.2f}%"
    if kind == "fx" and abs(value) < 10:
        return f"{value:.4f}"
    return price(value)


def change_in(value: float | None, unit: str) -> str:
    """A week change in its unit: 'pct' a fraction (0.0218 -> '+2.18%'), 'bp' basis
    points (6.0 -> '+6 bp'), 'pts' points (1.37 -> '+1.37 pts')."""
    if _missing(value):
        return DASH
    assert value is not None
    if unit == "pct":
        return signed(value)
    if unit == "bp":
        return bps(value / 10000)
    text = f"{abs(value):.2f}"
    if float(text) == 0:
        return f"{text} pts"
    return f"{'+' if value > 0 else MINUS}{text} pts"


def change_class(value: float | None, unit: str) -> str:
    """sign_class for a change in its unit (a figure that prints as zero is 'flat')."""
    if _missing(value):
        return "flat"
    assert value is not None
    shown = {"pct": value * 10000, "bp": value, "pts": value * 100}.get(unit, value)
    if round(shown) == 0:
        return "flat"
    return "up" if value > 0 else "down"


def percentile(value: float | None) -> str:
    """A share of the year's closes at or below a level: 0.2709 -> '27th percentile'."""
    if _missing(value):
        return DASH
    assert value is not None
    n = round(value * 100)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix} percentile"


__all__ = [
    "bps",
    "change_class",
    "change_in",
    "level",
    "count",
    "day",
    "eps",
    "long_date",
    "pct",
    "percentile",
    "index_points",
    "pp",
    "price",
    "ratio",
    "sign_class",
    "signed",
    "times",
    "week_span",
    "weekday",
]
