"""Sector and theme moves, and breadth among them (pure pandas)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from recap.model import Breadth, SectorMove, Watchlist, Week
from recap.weeks import ytd_base_target

AVERAGE_SESSIONS = 50


def _value(series: pd.Series, day: dt.date) -> float | None:
    value = series.get(pd.Timestamp(day))
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def period_returns(series: pd.Series, week: Week) -> tuple[float, float | None] | None:
    """(week return, YTD return) of one close series; None when the week can't be computed.

    The YTD base must be the prior year's last session itself: a gap there gives None
    rather than a return from some earlier close.
    """
    end, base = _value(series, week.end), _value(series, week.base_date)
    if end is None or base is None or base <= 0:
        return None
    prior = series.loc[series.index <= pd.Timestamp(ytd_base_target(week))].dropna()
    ytd = None
    if not prior.empty and float(prior.iloc[-1]) > 0:
        last_prior = prior.index[-1].date()
        # The last session of a year is never more than four days before Dec 31.
        if (ytd_base_target(week) - last_prior).days <= 4:
            ytd = end / float(prior.iloc[-1]) - 1.0
    return end / base - 1.0, ytd


def above_average(series: pd.Series, week: Week) -> bool | None:
    """Close above its 50-session average; None with fewer than 50 sessions."""
    s = series.loc[series.index <= pd.Timestamp(week.end)].dropna()
    if len(s) < AVERAGE_SESSIONS:
        return None
    return bool(s.iloc[-1] > s.iloc[-AVERAGE_SESSIONS:].mean())


def _rank(values: Sequence[float | None]) -> list[int | None]:
    order = sorted((v, i) for i, v in enumerate(values) if v is not None)
    ranks: list[int | None] = [None] * len(values)
    for rank, (_, i) in enumerate(reversed(order), start=1):
        ranks[i] = rank
    return ranks


def compute_moves(
    closes: pd.DataFrame, week: Week, members: Sequence[tuple[str, str]], group: str
) -> tuple[tuple[SectorMove, ...], tuple[str, ...]]:
    """Moves of (ticker, name) pairs, best week first, and the tickers lacking the week."""
    rows: list[tuple[str, str, float, float, float | None, bool | None]] = []
    missing: list[str] = []
    for ticker, name in members:
        if ticker not in closes:
            missing.append(ticker)
            continue
        returns = period_returns(closes[ticker], week)
        if returns is None:
            missing.append(ticker)
            continue
        close = _value(closes[ticker], week.end)
        assert close is not None
        above = above_average(closes[ticker], week)
        rows.append((ticker, name, close, returns[0], returns[1], above))
    rows.sort(key=lambda r: -r[3])
    ytd_ranks = _rank([r[4] for r in rows])
    moves = tuple(
        SectorMove(
            ticker=t,
            name=n,
            group=group,
            close=c,
            week_return=w,
            ytd_return=y,
            week_rank=i + 1,
            ytd_rank=ytd_ranks[i],
            above_50d=a,
        )
        for i, (t, n, c, w, y, a) in enumerate(rows)
    )
    return moves, tuple(missing)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def compute_watchlist(
    closes: pd.DataFrame,
    week: Week,
    name: str,
    tickers: Sequence[str],
    names: Mapping[str, str],
    top: int = 3,
) -> Watchlist | None:
    """A theme's equal-weighted move and its top and bottom movers; None without data."""
    members, missing = compute_moves(closes, week, [(t, names.get(t, t)) for t in tickers], name)
    if not members:
        return None
    n = min(top, len(members) // 2) or 1
    ytds = [m.ytd_return for m in members]
    return Watchlist(
        name=name,
        members=members,
        week_return=_mean([m.week_return for m in members]),
        ytd_return=None
        if any(y is None for y in ytds)
        else _mean([y for y in ytds if y is not None]),
        leaders=tuple(m.ticker for m in members[:n]),
        laggards=tuple(m.ticker for m in reversed(members[-n:])) if len(members) > 1 else (),
        missing=missing,
    )


def compute_breadth(moves: Sequence[SectorMove]) -> Breadth | None:
    """Advancers, decliners and names above their 50-session average, once per ticker."""
    unique = {m.ticker: m for m in moves}
    if not unique:
        return None
    values = list(unique.values())
    flat = [m for m in values if round(m.week_return, 4) == 0]
    with_avg = [m for m in values if m.above_50d is not None]
    return Breadth(
        names=len(values),
        advancers=sum(1 for m in values if m not in flat and m.week_return > 0),
        decliners=sum(1 for m in values if m not in flat and m.week_return < 0),
        unchanged=len(flat),
        above_50d=sum(1 for m in with_avg if m.above_50d),
        with_50d=len(with_avg),
    )


def rank_changes(sectors: Sequence[SectorMove], threshold: int) -> tuple[tuple[str, int, int], ...]:
    """Sectors whose week rank is ``threshold`` or more places from their YTD rank."""
    return tuple(
        (m.ticker, m.ytd_rank, m.week_rank)
        for m in sectors
        if m.ytd_rank is not None and abs(m.ytd_rank - m.week_rank) >= threshold
    )
