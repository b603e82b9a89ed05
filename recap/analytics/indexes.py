"""Index moves: week and YTD returns, 52-week highs, record closes, small vs large caps."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from recap.config import RecapConfig
from recap.errors import StaleDataError
from recap.model import DayMove, IndexMove, SmallVsLarge, Week

RECORD_MIN_HISTORY_DAYS = 365


def move_for_role(moves: Sequence[IndexMove], config: RecapConfig, role: str) -> IndexMove | None:
    """The move of the index that plays ``role`` ('small' or 'large') in config, if any."""
    spec = config.index_by_role(role)
    if spec is None:
        return None
    return next((m for m in moves if m.index_symbol == spec.symbol), None)


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def close_on(closes: pd.Series, day: dt.date, symbol: str, what: str) -> float:
    """The close of ``symbol`` on ``day``; StaleDataError naming both when absent or NaN."""
    value = closes.get(_ts(day))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise StaleDataError(f"no close for {symbol} on {day.isoformat()} ({what})")
    return float(value)


def week_return(closes: pd.Series, week: Week, symbol: str) -> float:
    """close(end) / close(base_date) - 1."""
    end = close_on(closes, week.end, symbol, "the week's last session")
    base = close_on(closes, week.base_date, symbol, "the session before the week")
    return end / base - 1.0


def _upto(series: pd.Series, day: dt.date, *, inclusive: bool) -> int:
    """How many entries of ``series`` (dates ascending) fall before ``day``, or on it
    when ``inclusive``: a position to slice at, cheaper than a mask over decades."""
    return int(series.index.searchsorted(_ts(day), side="right" if inclusive else "left"))


def ytd_base(closes: pd.Series, week: Week) -> tuple[dt.date, float] | None:
    """The last close before the year of the week's end, or None when history starts later."""
    prior = closes.iloc[: _upto(closes, dt.date(week.end.year, 1, 1), inclusive=False)].dropna()
    if prior.empty:
        return None
    return prior.index[-1].date(), float(prior.iloc[-1])


def record_streak(series: pd.Series, end: dt.date) -> int:
    """Consecutive record closes ending on ``end`` (each above every earlier close)."""
    upto = series.iloc[: _upto(series, end, inclusive=True)].to_numpy()
    if len(upto) < 2:
        return 0
    prior_max = pd.Series(upto).cummax().shift(1).to_numpy()
    streak = 0
    for i in range(len(upto) - 1, 0, -1):
        if upto[i] > prior_max[i]:
            streak += 1
        else:
            break
    return streak


def milestone_step(level: float) -> float:
    """Half the leading power of ten: 5,000 for the Dow at 48,000, 500 for the S&P at 6,900."""
    return float(10 ** (len(str(int(max(level, 1.0)))) - 1)) / 2


def milestone(series: pd.Series, week: Week) -> tuple[float | None, dt.date | None]:
    """The highest round level first closed above during the week, and that session.

    A milestone is a multiple of ``milestone_step`` of the earlier record that the index had
    never closed at or above before the week, and closed at or above on some session of it.
    """
    split = _upto(series, week.base_date, inclusive=True)
    before = series.iloc[:split]
    during = series.iloc[split : _upto(series, week.end, inclusive=True)]
    if before.empty or during.empty:
        return None, None
    prior = float(before.max())
    step = milestone_step(prior)
    level = (math.floor(float(during.max()) / step)) * step
    if level <= prior:
        return None, None
    first = during.loc[during >= level].index[0].date()
    return level, first


def _since_larger(history: pd.Series, value: float) -> tuple[dt.date | None, int]:
    """(the latest earlier entry at least as large as ``value`` in its direction, entries back).

    ``history`` is ordered oldest first and holds only earlier entries; without a larger one,
    the date is None and the count is the length of the history.
    """
    values = history.to_numpy()
    for back, i in enumerate(range(len(values) - 1, -1, -1), start=1):
        v = values[i]
        if (value >= 0 and v >= value) or (value < 0 and v <= value):
            return history.index[i].date(), back
    return None, len(values)


def compute_index_move(
    closes: pd.Series,
    week: Week,
    *,
    name: str,
    symbol: str,
    index_symbol: str,
    short_name: str = "",
) -> IndexMove:
    """The index table row for one symbol (closes: its full history up to any date)."""
    series = closes.loc[: _ts(week.end)].dropna()
    close = close_on(closes, week.end, symbol, "the week's last session")
    ret = week_return(closes, week, symbol)
    base = ytd_base(series, week)
    window = series.iloc[_upto(series, week.end - dt.timedelta(days=364), inclusive=True) :]
    high = float(window.max())
    history_start = series.index[0].date()
    long_enough = (week.end - history_start).days >= RECORD_MIN_HISTORY_DAYS
    records = _record_sessions(series, week)
    weekly = weekly_closes(series).pct_change().dropna()
    larger_on, since = _since_larger(weekly.iloc[: _upto(weekly, week.start, inclusive=False)], ret)
    mark, mark_on = (
        milestone(series, week) if long_enough and symbol == index_symbol else (None, None)
    )
    days = _days(series, week)
    big = max(days, key=lambda d: abs(d.day_return)) if days else None
    daily = series.pct_change().dropna()
    day_on, day_since = (
        _since_larger(daily.iloc[: _upto(daily, big.date, inclusive=False)], big.day_return)
        if big is not None
        else (None, 0)
    )
    streak, snapped = _week_streaks(weekly, ret)
    prior = series.iloc[: _upto(series, week.base_date, inclusive=True)]
    prior_window = prior.iloc[
        _upto(prior, week.base_date - dt.timedelta(days=364), inclusive=True) :
    ]
    prior_below = (
        max(0.0, 1.0 - float(prior.iloc[-1]) / float(prior_window.max()))
        if len(prior_window)
        else None
    )
    return IndexMove(
        name=name,
        short_name=short_name or name,
        symbol=symbol,
        index_symbol=index_symbol,
        is_proxy=symbol != index_symbol,
        close=close,
        week_return=ret,
        ytd_return=None if base is None else close / base[1] - 1.0,
        ytd_base_date=None if base is None else base[0],
        high_52w=high,
        pct_below_52w_high=max(0.0, 1.0 - close / high),
        record_close=(week.end in records) if long_enough else None,
        record_sessions=tuple(records) if long_enough else (),
        history_start=history_start,
        record_streak=record_streak(series, week.end) if long_enough else 0,
        milestone=mark,
        milestone_on=mark_on,
        larger_move_on=larger_on,
        weeks_since_larger=since,
        base_close=(base_close := close_on(closes, week.base_date, symbol, "the week's base")),
        points=close - base_close,
        days=days,
        big_day=big,
        larger_day_on=day_on,
        sessions_since_larger_day=day_since,
        week_streak=streak,
        snapped_streak=snapped,
        prior_below_52w_high=prior_below,
    )


def _days(series: pd.Series, week: Week) -> tuple[DayMove, ...]:
    """Each session of the week with its close and its move from the session before."""
    out: list[DayMove] = []
    at = _upto(series, week.base_date, inclusive=True)
    window = series.iloc[max(at - 1, 0) : _upto(series, week.end, inclusive=True)]
    values = window.to_numpy()
    for i in range(1, len(values)):
        day = window.index[i].date()
        if day <= week.base_date:
            continue
        prev, close = float(values[i - 1]), float(values[i])
        out.append(
            DayMove(date=day, close=close, day_return=close / prev - 1.0, points=close - prev)
        )
    return tuple(out)


def _week_streaks(weekly: pd.Series, this_week: float) -> tuple[int, int]:
    """(this week's streak of weeks the same way, signed; the streak the other way it
    ended, signed, or 0). ``weekly`` holds weekly returns up to this week, the last being
    this week's from weekly closes; ``this_week`` is its exact return."""
    sign = (this_week > 0) - (this_week < 0)
    if sign == 0:
        return 0, 0
    earlier = np.sign(weekly.to_numpy()[:-1]).astype(int)
    streak = 1
    i = len(earlier) - 1
    while i >= 0 and earlier[i] == sign:
        streak += 1
        i -= 1
    snapped = 0
    while i >= 0 and earlier[i] == -sign:
        snapped += 1
        i -= 1
    return sign * streak, -sign * snapped if streak == 1 else 0


def _record_sessions(series: pd.Series, week: Week) -> list[dt.date]:
    """The week's sessions that closed above every earlier close (``series``: sorted, no
    NaN). Found by position: label lookups in a decades-long index cost more."""
    dates = pd.DatetimeIndex(series.index)
    values = series.to_numpy()
    records = []
    for day in week.session_dates:
        at = int(dates.searchsorted(_ts(day)))
        if 0 < at < len(dates) and dates[at] == _ts(day) and values[at] > values[:at].max():
            records.append(day)
    return records


def weekly_closes(closes: pd.Series) -> pd.Series:
    """Last close of each Monday-to-Sunday week, indexed by that session's date."""
    s = closes.dropna()
    # Monday-based week numbers from the day count (1970-01-01 was a Thursday): a plain
    # array comparison, as decades of history make a groupby slow.
    days = pd.DatetimeIndex(s.index).values.astype("datetime64[D]").astype("int64")
    weeks = (days + 3) // 7
    last = np.append(weeks[1:] != weeks[:-1], True) if len(weeks) else np.array([], bool)
    return s.loc[last]


# A week small caps were ahead: by at least 0.05 percentage points, what the report prints
# as +0.1 pp or more. Less is printed as 0.0 and told as keeping pace, so it neither
# counts toward nor extends a streak in front.
AHEAD = 0.0005


def compute_small_vs_large(
    small: pd.Series, large: pd.Series, week: Week, *, small_symbol: str, large_symbol: str
) -> SmallVsLarge:
    """Small-cap minus large-cap week return, and its streak of positive weeks."""
    spread = week_return(small, week, small_symbol) - week_return(large, week, large_symbol)
    end = _ts(week.end)
    ws = weekly_closes(small.loc[:end])
    wl = weekly_closes(large.loc[:end])
    both = pd.concat({"s": ws, "l": wl}, axis=1, sort=True).dropna()
    weekly = both["s"].pct_change() - both["l"].pct_change()
    streak = 0
    if spread >= AHEAD:
        # This week's spread is computed exactly above; earlier weeks from weekly closes.
        streak = 1
        for value in reversed(weekly.iloc[:-1].dropna().to_numpy()):
            if value >= AHEAD:
                streak += 1
            else:
                break
    wider_on, since = _since_larger(weekly.loc[weekly.index < _ts(week.start)].dropna(), spread)
    return SmallVsLarge(
        small_symbol=small_symbol,
        large_symbol=large_symbol,
        spread=spread,
        positive_streak_weeks=streak,
        wider_on=wider_on,
        weeks_since_wider=since,
    )
