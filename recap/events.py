"""The Week Ahead's calendar: FOMC decision days, options expirations, the user's events.

FOMC decision days come from ``recap/data/fomc.csv``, shipped with the project and written
from the Federal Reserve's published meeting calendars (the second day of each scheduled
meeting, when the statement is released; unscheduled meetings are never known ahead, so
none is listed, and the scheduled March 17-18, 2020 meeting, replaced by the unscheduled
one of Sunday March 15, is left out). Monthly options expire on the third Friday, on the
Thursday before when that Friday is an exchange holiday; March, June, September and
December expirations are the quarterly ones. The user's own events come from the CSV that
[calendar] events_file names (``date,name,source``), read and checked when the config loads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from recap.errors import ConfigError
from recap.model import CalendarEvent, Week

FOMC_PATH = Path(__file__).with_name("data") / "fomc.csv"
HEADER = ("date", "name", "source")
OPEX_SOURCE = "Options exchanges' standard expiration: the third Friday of the month"
QUARTERLY_MONTHS = frozenset({3, 6, 9, 12})


def read_events_csv(path: Path) -> tuple[CalendarEvent, ...]:
    """The events of a ``date,name,source`` CSV; ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the events file ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the events file is not UTF-8 text") from None
    return parse_events(text, str(path))


def parse_events(text: str, where: str) -> tuple[CalendarEvent, ...]:
    """Rows of an events CSV, checked: a header of date,name,source, then one event a line
    with an ISO date and a non-empty name and source."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip().lower() for c in rows[0]) != HEADER:
        got = ",".join(rows[0]) if rows else "nothing"
        raise ConfigError(f"{where}, line 1: the header must be 'date,name,source', got {got!r}")
    out: list[CalendarEvent] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue  # a blank line
        if len(row) != len(HEADER):
            raise ConfigError(
                f"{where}, line {line}: expected 3 fields (date,name,source), got {len(row)}"
            )
        day, name, source = (c.strip() for c in row)
        try:
            date = dt.date.fromisoformat(day)
        except ValueError:
            raise ConfigError(
                f"{where}, line {line}: date {day!r} is not a date (YYYY-MM-DD)"
            ) from None
        if not name:
            raise ConfigError(f"{where}, line {line}: the event has no name")
        if not source:
            raise ConfigError(
                f"{where}, line {line}: {name!r} has no source (say where the date comes from)"
            )
        out.append(CalendarEvent(date=date, name=name, source=source))
    return tuple(out)


@lru_cache(maxsize=1)
def fomc_decisions() -> tuple[CalendarEvent, ...]:
    """The FOMC decision days the project ships (recap/data/fomc.csv)."""
    return read_events_csv(FOMC_PATH)


def _calendar_days(week: Week) -> tuple[dt.date, dt.date]:
    """Monday and Friday of the calendar week of ``week``."""
    monday = week.start - dt.timedelta(days=week.start.weekday())
    return monday, monday + dt.timedelta(days=4)


def options_expirations(week: Week) -> tuple[CalendarEvent, ...]:
    """The monthly options expiration of ``week``, if it falls in it: the third Friday,
    or the Thursday before when the exchange is shut that Friday."""
    _, friday = _calendar_days(week)
    if not 15 <= friday.day <= 21:
        return ()
    day = friday if friday not in week.holidays else friday - dt.timedelta(days=1)
    quarterly = friday.month in QUARTERLY_MONTHS
    name = "Quarterly options expiration" if quarterly else "Monthly options expiration"
    return (CalendarEvent(date=day, name=name, source=OPEX_SOURCE),)


def events_in(events: Iterable[CalendarEvent], week: Week) -> tuple[CalendarEvent, ...]:
    """The events dated Monday to Friday of ``week``'s calendar week."""
    monday, friday = _calendar_days(week)
    return tuple(e for e in events if monday <= e.date <= friday)


def week_events(
    week: Week, own: Iterable[CalendarEvent] = (), *, fomc: bool = True, opex: bool = True
) -> tuple[CalendarEvent, ...]:
    """Every scheduled event of ``week``, by date then name."""
    found = list(events_in(own, week))
    if fomc:
        found.extend(events_in(fomc_decisions(), week))
    if opex:
        found.extend(options_expirations(week))
    return tuple(sorted(dict.fromkeys(found), key=lambda e: (e.date, e.name)))


__all__ = [
    "fomc_decisions",
    "options_expirations",
    "parse_events",
    "read_events_csv",
    "week_events",
]
