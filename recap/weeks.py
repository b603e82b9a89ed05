"""Trading weeks on the NYSE calendar (exchange_calendars' XNYS), from explicit dates.

A week is the Monday-to-Sunday calendar week; its sessions are the XNYS sessions in it.
No week depends on the clock: callers pass ``today`` or ``now``. (The kept copy of the
calendar is named by today's date, because exchange_calendars ends it a year from today.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pickle
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from recap import kept
from recap.errors import WeekError
from recap.model import Week

CALENDAR_START = "1990-01-02"
NEW_YORK = ZoneInfo("America/New_York")


@lru_cache(maxsize=1)
def nyse_calendar() -> Any:
    """The NYSE (XNYS) calendar of exchange_calendars, loaded once per process, and
    read back from the kept folder (kept.py) by later processes of the same day."""
    # Imported lazily: exchange_calendars costs about a second to import.
    import exchange_calendars as xcals

    # Its last session is a year from today, so a kept calendar serves one day, and one
    # version of the libraries that made it.
    name = f"xnys-{CALENDAR_START}-{dt.date.today()}-{xcals.__version__}-{pd.__version__}.pickle"
    where = kept.folder("calendar")
    if where is not None:
        try:
            # Our own file, written below: as trusted as the compiled templates beside it.
            return pickle.loads((where / name).read_bytes())  # noqa: S301
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
    # exchange_calendars reads Series.values on tz-aware data, which pandas 3 deprecates;
    # the warning is theirs to fix and would only alarm users of ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        calendar = xcals.get_calendar("XNYS", start=CALENDAR_START)
    if where is not None:
        _keep(calendar, where, name)
    return calendar


def _keep(calendar: Any, where: Path, name: str) -> None:
    """Save the calendar for later processes (atomically), and drop older days' copies."""
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".xnys-", dir=where)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(calendar, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, where / name)
        for old in where.glob("xnys-*.pickle"):
            if old.name != name:
                old.unlink(missing_ok=True)
    except OSError:
        return  # not kept: the next process builds it again


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_containing(day: dt.date) -> Week:
    """The trading week (Monday to Sunday) that contains ``day``."""
    cal = nyse_calendar()
    monday = _monday(day)
    sunday = monday + dt.timedelta(days=6)
    first, last = cal.first_session.date(), cal.last_session.date()
    if sunday > last:
        raise WeekError(
            f"the week of {day.isoformat()} is in the future "
            f"(the exchange calendar runs to {last.isoformat()})"
        )
    if monday < first:
        raise WeekError(
            f"the week of {day.isoformat()} is before the exchange calendar "
            f"(it starts {first.isoformat()})"
        )
    sessions = [ts.date() for ts in cal.sessions_in_range(monday.isoformat(), sunday.isoformat())]
    if not sessions:
        raise WeekError(f"the week of {monday.isoformat()} has no NYSE sessions")
    base = cal.previous_session(pd.Timestamp(sessions[0])).date()
    early = {ts.date() for ts in cal.early_closes}
    weekdays = [monday + dt.timedelta(days=i) for i in range(5)]
    return Week(
        start=sessions[0],
        end=sessions[-1],
        sessions=len(sessions),
        base_date=base,
        session_dates=tuple(sessions),
        early_closes=tuple(d for d in sessions if d in early),
        holidays=tuple(d for d in weekdays if d not in sessions),
    )


def through(week: Week, last: dt.date) -> Week:
    """``week`` reported through ``last``, one of its sessions: the sessions after it,
    which the data does not hold, go to ``missing_sessions``."""
    kept = tuple(d for d in week.session_dates if d <= last)
    if not kept:
        raise WeekError(f"{last.isoformat()} is before the week of {week.start.isoformat()}")
    return dataclasses.replace(
        week,
        end=kept[-1],
        sessions=len(kept),
        session_dates=kept,
        early_closes=tuple(d for d in week.early_closes if d <= last),
        missing_sessions=tuple(d for d in week.session_dates if d > last),
    )


def previous_week(week: Week) -> Week:
    """The trading week before ``week``."""
    return week_containing(week.base_date)


def next_week(week: Week) -> Week:
    """The trading week after ``week``."""
    return week_containing(_monday(week.end) + dt.timedelta(days=7))


def weeks_between(first: dt.date, last: dt.date) -> tuple[Week, ...]:
    """Every trading week whose last session falls in [first, last], oldest first."""
    if last < first:
        raise WeekError(f"--from {first.isoformat()} is after --to {last.isoformat()}")
    out: list[Week] = []
    week = week_containing(first)
    if week.end < first:
        week = next_week(week)
    while week.end <= last:
        out.append(week)
        week = next_week(week)
    return tuple(out)


def sessions_between(first: dt.date, last: dt.date) -> pd.DatetimeIndex:
    """The NYSE sessions in [first, last] (tz-naive midnights, like the price frames)."""
    cal = nyse_calendar()
    lo = max(pd.Timestamp(first), cal.first_session)
    hi = min(pd.Timestamp(last), cal.last_session)
    if lo > hi:
        return pd.DatetimeIndex([], name="Date")
    sessions: pd.DatetimeIndex = cal.sessions_in_range(lo, hi)
    return pd.DatetimeIndex(sessions.tz_localize(None) if sessions.tz else sessions, name="Date")


def session_close(day: dt.date) -> dt.datetime:
    """When the session of ``day`` closes (aware, UTC), early closes included."""
    cal = nyse_calendar()
    ts: pd.Timestamp = cal.session_close(pd.Timestamp(day))
    return ts.to_pydatetime().astimezone(dt.UTC)


def latest_complete_week(now: dt.datetime) -> Week:
    """The latest week whose last session has closed by ``now`` (aware datetime)."""
    week = week_containing(now.astimezone(NEW_YORK).date())
    if session_close(week.end) > now:
        week = previous_week(week)
    return week


def latest_week_in_data(last_bar: dt.date) -> Week:
    """The latest week whose last session is on or before ``last_bar``."""
    week = week_containing(last_bar)
    if week.end > last_bar:
        week = previous_week(week)
    return week


def check_not_future(week: Week, now: dt.datetime) -> None:
    """Refuse a week whose last session has not closed yet."""
    if session_close(week.end) > now:
        raise WeekError(
            f"the week ending {week.end.isoformat()} is not over yet "
            f"(its last session closes {session_close(week.end).isoformat()}); "
            "pick an earlier --week"
        )


def ytd_base_target(week: Week) -> dt.date:
    """The day before the year of the week's last session began (YTD base is on or before)."""
    return dt.date(week.end.year - 1, 12, 31)


def ytd_base_session(week: Week) -> dt.date:
    """The last NYSE session of the year before the week's end: the YTD base."""
    cal = nyse_calendar()
    return cal.date_to_session(  # type: ignore[no-any-return]
        pd.Timestamp(ytd_base_target(week)), direction="previous"
    ).date()


def holiday_names(week: Week) -> dict[dt.date, str]:
    """Names of the week's exchange holidays, e.g. {2026-01-19: "Martin Luther King Jr. Day"}."""
    out: dict[dt.date, str] = {}
    for year in sorted({d.year for d in week.holidays}):
        out.update(_holidays_of_year(year))
    return {d: out.get(d, "a market holiday") for d in week.holidays}


@lru_cache(maxsize=8)
def _holidays_of_year(year: int) -> dict[dt.date, str]:
    # pandas works out every holiday rule on each call (~30 ms): once per year and process.
    cal = nyse_calendar()
    first, last = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    names = cal.regular_holidays.holidays(first, last, return_name=True)
    return {ts.date(): str(name).removeprefix("Dr. ") for ts, name in names.items()}
