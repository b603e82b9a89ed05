"""Sector and theme moves, and breadth among them (pure pandas)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recap.model import Breadth, SectorMove, Watchlist, Week
from recap.weeks import ytd_base_target

AVERAGE_SESSIONS = 50
WINDOW_DAYS = 400


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
    # Label slices, not boolean masks: the frames hold decades of dates.
    prior = series.loc[: pd.Timestamp(ytd_base_target(week))].iloc[-10:].dropna()
    ytd = None
    if not prior.empty and float(prior.iloc[-1]) > 0:
        last_prior = prior.index[-1].date()
        # The last session of a year is never more than four days before Dec 31.
        if (ytd_base_target(week) - last_prior).days <= 4:
            ytd = end / float(prior.iloc[-1]) - 1.0
    return end / base - 1.0, ytd


def above_average(series: pd.Series, week: Week) -> bool | None:
    """Close above its 50-session average; None with fewer than 50 sessions."""
    upto = series.loc[: pd.Timestamp(week.end)]
    s = upto.iloc[-3 * AVERAGE_SESSIONS :].dropna()
    if len(s) < AVERAGE_SESSIONS:
        s = upto.dropna()
    if len(s) < AVERAGE_SESSIONS:
        return None
    return bool(s.iloc[-1] > s.iloc[-AVERAGE_SESSIONS:].mean())


def _rank(values: Sequence[float | None]) -> list[int | None]:
    order = sorted((v, i) for i, v in enumerate(values) if v is not None)
    ranks: list[int | None] = [None] * len(values)
    for rank, (_, i) in enumerate(reversed(order), start=1):
        ranks[i] = rank
    return ranks


def _row(index: pd.DatetimeIndex, day: dt.date) -> int | None:
    pos = int(index.searchsorted(pd.Timestamp(day)))
    return pos if pos < len(index) and index[pos] == pd.Timestamp(day) else None


def compute_moves(
    closes: pd.DataFrame, week: Week, members: Sequence[tuple[str, str]], group: str
) -> tuple[tuple[SectorMove, ...], tuple[str, ...]]:
    """Moves of (ticker, name) pairs, best week first, and the tickers lacking the week.

    The same figures as period_returns and above_average, column by column over one
    array: a recap asks for some fifty tickers, and its earlier weeks' headlines again.
    A series whose closes stop inside the week (a fund missing Friday) keeps its row, to
    its own last close of the week (``through``), rather than vanishing.
    """
    rows: list[tuple[str, str, float, float, float | None, bool | None, dt.date | None]] = []
    missing: list[str] = []
    target = ytd_base_target(week)
    # Every figure here needs at most the year's base and some 150 sessions: a short
    # window keeps each column small when the frame holds decades of index history.
    start = min(
        pd.Timestamp(target) - pd.Timedelta(days=10),
        pd.Timestamp(week.end) - pd.Timedelta(days=WINDOW_DAYS),
    )
    present = [t for t, _ in members if t in closes]
    frame = closes.loc[start : pd.Timestamp(week.end), present]
    index = pd.DatetimeIndex(frame.index)
    values = frame.to_numpy(dtype="float64")
    at_end, at_base = _row(index, week.end), _row(index, week.base_date)
    prior_rows = int(index.searchsorted(pd.Timestamp(target), side="right"))
    for ticker, name in members:
        if ticker not in closes:
            missing.append(ticker)
            continue
        col = values[:, present.index(ticker)]
        end = float(col[at_end]) if at_end is not None else math.nan
        base = float(col[at_base]) if at_base is not None else math.nan
        through = None
        if not math.isfinite(end) and at_base is not None:
            inside = np.flatnonzero(np.isfinite(col[at_base + 1 :]))
            if len(inside):  # its own last close of the week, before the week's last
                last = at_base + 1 + int(inside[-1])
                end, through = float(col[last]), index[last].date()
        if not (math.isfinite(end) and math.isfinite(base)) or base <= 0:
            missing.append(ticker)
            continue
        ytd = None
        recent = [
            (index[i].date(), float(col[i]))
            for i in range(max(0, prior_rows - 10), prior_rows)
            if math.isfinite(col[i])
        ]
        if recent and recent[-1][1] > 0 and (target - recent[-1][0]).days <= 4:
            ytd = end / recent[-1][1] - 1.0
        valid = col[np.isfinite(col)]
        above = (
            bool(valid[-1] > valid[-AVERAGE_SESSIONS:].mean())
            if len(valid) >= AVERAGE_SESSIONS
            else None
        )
        rows.append((ticker, name, end, end / base - 1.0, ytd, above, through))
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
            through=th,
        )
        for i, (t, n, c, w, y, a, th) in enumerate(rows)
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
