"""Index moves: week and YTD returns, 52-week highs, record closes, small vs large caps."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import pandas as pd

from recap.config import RecapConfig
from recap.errors import StaleDataError
from recap.model import IndexMove, SmallVsLarge, Week

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


def ytd_base(closes: pd.Series, week: Week) -> tuple[dt.date, float] | None:
    """The last close before the year of the week's end, or None when history starts later."""
    prior = closes.loc[closes.index < _ts(dt.date(week.end.year, 1, 1))].dropna()
    if prior.empty:
        return None
    return prior.index[-1].date(), float(prior.iloc[-1])


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
    series = closes.loc[closes.index <= _ts(week.end)].dropna()
    close = close_on(closes, week.end, symbol, "the week's last session")
    ret = week_return(closes, week, symbol)
    base = ytd_base(series, week)
    window = series.loc[series.index > _ts(week.end - dt.timedelta(days=364))]
    high = float(window.max())
    history_start = series.index[0].date()
    long_enough = (week.end - history_start).days >= RECORD_MIN_HISTORY_DAYS
    records: list[dt.date] = []
    running = series.cummax().shift(1)
    for day in week.session_dates:
        ts = _ts(day)
        prior_max = running.get(ts, math.nan)
        if ts in series.index and not math.isnan(prior_max) and series[ts] > prior_max:
            records.append(day)
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
    )


def weekly_closes(closes: pd.Series) -> pd.Series:
    """Last close of each Monday-to-Sunday week, indexed by that session's date."""
    s = closes.dropna()
    weeks = pd.DatetimeIndex(s.index).to_period("W-SUN")
    return s.groupby(weeks).tail(1)


def compute_small_vs_large(
    small: pd.Series, large: pd.Series, week: Week, *, small_symbol: str, large_symbol: str
) -> SmallVsLarge:
    """Small-cap minus large-cap week return, and its streak of positive weeks."""
    spread = week_return(small, week, small_symbol) - week_return(large, week, large_symbol)
    end = _ts(week.end)
    ws = weekly_closes(small.loc[small.index <= end])
    wl = weekly_closes(large.loc[large.index <= end])
    both = pd.concat({"s": ws, "l": wl}, axis=1, sort=True).dropna()
    weekly = both["s"].pct_change() - both["l"].pct_change()
    streak = 0
    if spread > 0:
        # This week's spread is computed exactly above; earlier weeks from weekly closes.
        streak = 1
        for value in reversed(weekly.iloc[:-1].dropna().to_numpy()):
            if value > 0:
                streak += 1
            else:
                break
    return SmallVsLarge(
        small_symbol=small_symbol,
        large_symbol=large_symbol,
        spread=spread,
        positive_streak_weeks=streak,
    )
