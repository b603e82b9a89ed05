"""Trading weeks on the XNYS calendar: holidays, half days, year end."""

from __future__ import annotations

import datetime as dt

import pytest

from recap.errors import WeekError
from recap.weeks import (
    check_not_future,
    latest_complete_week,
    latest_week_in_data,
    week_containing,
    weeks_between,
)

D = dt.date


@pytest.mark.parametrize(
    ("day", "start", "end", "sessions", "base"),
    [
        (D(2026, 1, 16), D(2026, 1, 12), D(2026, 1, 16), 5, D(2026, 1, 9)),
        (D(2026, 1, 17), D(2026, 1, 12), D(2026, 1, 16), 5, D(2026, 1, 9)),  # Saturday
        (D(2026, 1, 18), D(2026, 1, 12), D(2026, 1, 16), 5, D(2026, 1, 9)),  # Sunday
        # Martin Luther King Jr. Day: Monday shut, base is the previous Friday.
        (D(2026, 1, 19), D(2026, 1, 20), D(2026, 1, 23), 4, D(2026, 1, 16)),
        (D(2026, 1, 22), D(2026, 1, 20), D(2026, 1, 23), 4, D(2026, 1, 16)),
        # Thanksgiving 2025: Thursday shut, Friday a half day.
        (D(2025, 11, 26), D(2025, 11, 24), D(2025, 11, 28), 4, D(2025, 11, 21)),
        # Year end: New Year's Day shut, the week spans two years.
        (D(2025, 12, 31), D(2025, 12, 29), D(2026, 1, 2), 4, D(2025, 12, 26)),
    ],
)
def test_week_containing(day, start, end, sessions, base):
    week = week_containing(day)
    assert (week.start, week.end, week.sessions, week.base_date) == (start, end, sessions, base)
    assert len(week.session_dates) == sessions


def test_half_days_and_holidays_are_named():
    thanksgiving = week_containing(D(2025, 11, 28))
    assert thanksgiving.holidays == (D(2025, 11, 27),)
    assert thanksgiving.early_closes == (D(2025, 11, 28),)
    christmas = week_containing(D(2025, 12, 24))
    assert christmas.early_closes == (D(2025, 12, 24),)
    assert christmas.holidays == (D(2025, 12, 25),)


def test_latest_week_in_data_skips_an_incomplete_week():
    assert latest_week_in_data(D(2026, 1, 30)).end == D(2026, 1, 30)
    assert latest_week_in_data(D(2026, 1, 28)).end == D(2026, 1, 23)


def test_latest_complete_week_uses_the_close_time():
    friday_noon = dt.datetime(2026, 1, 16, 17, 0, tzinfo=dt.UTC)  # 12:00 New York
    friday_evening = dt.datetime(2026, 1, 16, 22, 0, tzinfo=dt.UTC)  # 17:00 New York
    assert latest_complete_week(friday_noon).end == D(2026, 1, 9)
    assert latest_complete_week(friday_evening).end == D(2026, 1, 16)


def test_future_week_is_refused():
    now = dt.datetime(2026, 1, 14, 12, tzinfo=dt.UTC)
    with pytest.raises(WeekError, match="not over yet"):
        check_not_future(week_containing(D(2026, 1, 16)), now)


def test_weeks_between_counts_trading_weeks():
    weeks = weeks_between(D(2025, 2, 1), D(2026, 1, 30))
    assert len(weeks) == 52
    assert weeks[-1].end == D(2026, 1, 30)
    assert all(a.end < b.start for a, b in zip(weeks, weeks[1:], strict=False))
    with pytest.raises(WeekError, match="after"):
        weeks_between(D(2026, 1, 30), D(2026, 1, 1))


def test_the_calendar_is_kept_for_later_processes_and_rebuilt_when_unusable(tmp_path):
    """With a kept folder (the CLI's cache_dir), a second process reads the calendar back
    instead of building it; a damaged copy is built again, never an error."""
    import subprocess
    import sys

    script = (
        "import sys, time, pathlib, exchange_calendars as x\n"
        "from recap import kept, weeks\n"
        "kept.keep_in(pathlib.Path(sys.argv[1]))\n"
        "built = []\n"
        "real = x.get_calendar\n"
        "x.get_calendar = lambda *a, **k: built.append(1) or real(*a, **k)\n"
        "import datetime as dt\n"
        "w = weeks.week_containing(dt.date(2025, 12, 26))\n"
        "print(len(built), w.sessions, [d.isoformat() for d in w.early_closes])\n"
    )

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run() == "1 4 ['2025-12-24']"  # built, then kept
    (kept,) = (tmp_path / "calendar").glob("xnys-*.pickle")
    assert run() == "0 4 ['2025-12-24']"  # read back
    kept.write_bytes(b"not a pickle")
    assert run() == "1 4 ['2025-12-24']"  # built again
    assert run() == "0 4 ['2025-12-24']"
