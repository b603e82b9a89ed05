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


__all__ = [
    "bps",
    "count",
    "day",
    "eps",
    "long_date",
    "pct",
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
