"""Beyond stocks: yields, oil, gold, the dollar, currencies, coins and the VIX (pure).

Each series is read on its own calendar. A week's move is the last close on or before the
week's last session against the last close on or before the session before its first
(``week.base_date``), so consecutive weeks chain with nothing left between them. Crypto
trades every day: its week runs Friday to Friday. Yahoo's FX close is the rate at midnight
London; the data notes say so. Yields move in basis points, the VIX in points, the rest in
percent.

A move is news when it is beyond ``news_sigmas`` standard deviations of the series' weekly
changes over the year before, or when the close is a multi-month high or low. A futures
contract roll (a day the futures gap and the fund holding the front contract does not) is
never news: the week's change then spans two contracts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recap.analytics import quality
from recap.model import CoMove, MarketFacts, MarketMove, PriceFlag, Week
from recap.settings import MarketSeriesSpec, MarketsSettings

UNITS = {"yield": "bp", "volatility": "pts"}  # every other kind: "pct"
CALENDARS = {"crypto": "fri-fri", "fx": "london"}  # every other kind: "nyse"
HISTORY_WEEKS = 52  # the year of weekly changes a move is measured against
MIN_HISTORY_WEEKS = 26  # fewer: no standard deviation, so no "large move" claim
TEN_YEAR, THREE_MONTH = "^TNX", "^IRX"


def market_tickers(settings: MarketsSettings) -> tuple[str, ...]:
    """Every symbol the block reads: the series, their proxies and roll-check funds."""
    out: list[str] = []
    for spec in settings.series:
        out.extend((spec.symbol, spec.proxy, spec.roll_check))
    return tuple(t for t in dict.fromkeys(out) if t)


def check_series(
    frame: pd.DataFrame,
    settings: MarketsSettings,
    accept: frozenset[tuple[str, dt.date | None]] = frozenset(),
) -> tuple[pd.DataFrame, tuple[PriceFlag, ...]]:
    """The series through the price checks, each on its own dates (crypto trades every
    day, futures and FX on days the exchange is shut, so neither a bar on a holiday nor a
    session without one is a fault), without the series flagged, and every open flag.

    A yield can be zero or negative (the 3-month bill yielded -0.1% in March 2020): only a
    close that is not a finite number is a fault there."""
    if frame.empty:
        return frame, ()
    coins = {s.symbol for s in settings.series if s.kind == "crypto"}
    yields = {s.symbol for s in settings.series if s.kind == "yield"}
    flags: list[PriceFlag] = []
    for group in ([c for c in frame if c in coins], [c for c in frame if c not in coins]):
        if not group:
            continue
        part = frame[group].dropna(how="all")
        days = pd.DatetimeIndex(part.index)
        for flag in quality.check_prices(part, None, days):
            if flag.kind == "not-positive" and flag.ticker in yields:
                value = part[flag.ticker].get(pd.Timestamp(flag.date))
                if value is not None and math.isfinite(float(value)):
                    continue
            flags.append(flag)
    result = quality.screen(frame, flags, leads=(), accept=accept)
    return result.closes, result.excluded


def window(kind: str, week: Week) -> tuple[dt.date, dt.date]:
    """(base day, end day) of a series' week: the trading week's base date and last
    session, or for crypto the Friday before and the Friday of the week."""
    if kind != "crypto":
        return week.base_date, week.end
    friday = week.end + dt.timedelta(days=4 - week.end.weekday())
    return friday - dt.timedelta(days=7), friday


def change(unit: str, base: float, last: float) -> float:
    """The change from ``base`` to ``last``: a fraction ('pct'), basis points of a yield
    quoted in percent ('bp'), or points ('pts')."""
    if unit == "pct":
        return last / base - 1
    # Quoted to a few decimals: rounded so 4.231 - 4.171 reads 6.0 bp, not 5.9999.
    if unit == "bp":
        return round((last - base) * 100, 9)
    return round(last - base, 9)


def _at(series: pd.Series, days: Sequence[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    """Positions and values of the last close on or before each day (NaN when none);
    ``series`` holds no NaN and is sorted."""
    stamps = pd.DatetimeIndex([pd.Timestamp(d) for d in days])
    at = series.index.searchsorted(stamps, side="right") - 1
    values = np.where(at >= 0, series.to_numpy()[np.maximum(at, 0)], np.nan)
    return at, values


def weekly_changes(
    series: pd.Series, unit: str, base_day: dt.date, end_day: dt.date, weeks: int
) -> np.ndarray:
    """The changes of the ``weeks`` weeks before this one, each read like this one
    (the same anchors, whole weeks earlier); NaN where the history does not reach."""
    ends = [end_day - dt.timedelta(weeks=k) for k in range(1, weeks + 1)]
    bases = [base_day - dt.timedelta(weeks=k) for k in range(1, weeks + 1)]
    _, last = _at(series, ends)
    _, base = _at(series, bases)
    out: np.ndarray
    with np.errstate(invalid="ignore", divide="ignore"):
        if unit == "pct":
            out = last / base - 1
        elif unit == "bp":
            out = (last - base) * 100
        else:
            out = last - base
    return out


def _extreme(
    series: pd.Series, as_of: dt.date, last: float, months: Sequence[int]
) -> tuple[str | None, int | None]:
    """('high' | 'low', months) for the longest window in which every earlier close is
    below (above) ``last``; a window the history does not cover is not claimed."""
    first = series.index[0].date()
    end = pd.Timestamp(as_of)
    values = series.to_numpy()
    stop = int(series.index.searchsorted(end, side="left"))  # the closes before as_of
    for n in sorted(months, reverse=True):
        start = end - pd.DateOffset(months=n)
        if start.date() < first:
            continue
        earlier = values[int(series.index.searchsorted(start, side="left")) : stop]
        if not len(earlier):
            continue
        if last > float(earlier.max()):
            return "high", n
        if last < float(earlier.min()):
            return "low", n
    return None, None


def _percentile(series: pd.Series, as_of: dt.date, last: float) -> float | None:
    """Share of the closes of the year to ``as_of`` at or below ``last``."""
    end = pd.Timestamp(as_of)
    year = series.loc[(series.index > end - pd.Timedelta(days=365)) & (series.index <= end)]
    if year.empty:
        return None
    return float((year <= last).mean())


def roll_day(
    futures: pd.Series, fund: pd.Series, base_day: dt.date, end_day: dt.date, gap: float
) -> tuple[dt.date, float, float] | None:
    """The day of the week the futures' daily move differs from the fund's by more than
    ``gap`` (log terms), the largest such: (day, futures move, fund move); else None."""
    both = pd.concat([futures, fund], axis=1, keys=["f", "e"], sort=True).dropna()
    both = both.loc[both.index <= pd.Timestamp(end_day)]
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(both.to_numpy(dtype="float64"))
    moves = np.diff(logs, axis=0)
    inside = (both.index[1:] > pd.Timestamp(base_day)) & np.isfinite(moves).all(axis=1)
    if not inside.any():
        return None
    apart = np.where(inside, np.abs(moves[:, 0] - moves[:, 1]), -1.0)
    i = int(np.argmax(apart))
    if apart[i] <= gap:
        return None
    day = pd.Timestamp(both.index[i + 1]).date()
    return day, math.expm1(float(moves[i, 0])), math.expm1(float(moves[i, 1]))


@dataclass(frozen=True)
class _Read:
    """A series read for the week, before it becomes a MarketMove."""

    symbol: str
    series: pd.Series
    kind: str
    base_date: dt.date
    base: float
    as_of: dt.date
    last: float


def _read(frame: pd.DataFrame, symbol: str, kind: str, week: Week) -> _Read | None:
    """The series' base and last closes for the week; None when it has no close in the
    week (or none before it)."""
    if symbol not in frame:
        return None
    series = frame[symbol].dropna()
    base_day, end_day = window(kind, week)
    series = series.loc[series.index <= pd.Timestamp(end_day)]
    if series.empty:
        return None
    at, values = _at(series, [base_day, end_day])
    if at[0] < 0 or at[1] <= at[0]:  # nothing before the week, or no close in it
        return None
    return _Read(
        symbol=symbol,
        series=series,
        kind=kind,
        base_date=series.index[at[0]].date(),
        base=float(values[0]),
        as_of=series.index[at[1]].date(),
        last=float(values[1]),
    )


def _move(
    read: _Read,
    spec: MarketSeriesSpec,
    week: Week,
    settings: MarketsSettings,
    proxy: str | None,
    roll_on: dt.date | None,
) -> MarketMove:
    unit = UNITS.get(read.kind, "pct")
    base_day, end_day = window(read.kind, week)
    history = weekly_changes(read.series, unit, base_day, end_day, HISTORY_WEEKS)
    history = history[np.isfinite(history)]
    sigma = float(np.std(history, ddof=1)) if len(history) >= MIN_HISTORY_WEEKS else None
    week_change = change(unit, read.base, read.last)
    extreme, months = _extreme(read.series, read.as_of, read.last, settings.extreme_months)
    large = sigma is not None and sigma > 0 and abs(week_change) > settings.news_sigmas * sigma
    return MarketMove(
        symbol=read.symbol,
        name=(spec.proxy_name or spec.proxy) if proxy else spec.name,
        last=read.last,
        week_change=week_change,
        change_unit=unit,
        as_of=read.as_of,
        proxy=proxy,
        series=spec.symbol,
        kind=read.kind,
        base=read.base,
        base_date=read.base_date,
        calendar=CALENDARS.get(read.kind, "nyse"),
        sigma=sigma,
        newsworthy=(large or extreme is not None) and roll_on is None,
        extreme=extreme,
        extreme_months=months,
        percentile=(
            _percentile(read.series, read.as_of, read.last) if read.kind == "volatility" else None
        ),
        roll_on=roll_on,
    )


def _span_text(
    frame: pd.DataFrame, symbol: str, week: Week, checked_out: Collection[str] = ()
) -> str:
    if symbol in checked_out:
        return "its prices failed the price checks"
    if symbol not in frame or frame[symbol].dropna().empty:
        return f"no prices in the data through {week.end.isoformat()}"
    valid = frame[symbol].dropna()
    return (
        f"no close in the week in the data (it holds {valid.index[0].date().isoformat()} "
        f"to {valid.index[-1].date().isoformat()})"
    )


def compute_markets(
    frame: pd.DataFrame,
    stock_closes: pd.DataFrame,
    week: Week,
    settings: MarketsSettings,
    fund_names: Mapping[str, str],
    checked_out: Collection[str] = (),
) -> tuple[tuple[MarketMove, ...], MarketFacts, tuple[str, ...]]:
    """Every configured series' week (in config order), the facts beside them, and the
    data notes: proxies, series left out, rolls, and the FX and crypto calendars.

    ``frame``: the series' closes, one column per symbol on its own dates (every calendar
    day for crypto); ``stock_closes``: the report's closes, for the pairs' stock funds;
    ``checked_out``: the series the price checks took out of ``frame``.
    """
    moves: list[MarketMove] = []
    notes: list[str] = []
    missing: list[str] = []
    rolls: list[str] = []
    for spec in settings.series:
        read = _read(frame, spec.symbol, spec.kind, week)
        proxy = None
        if read is None and spec.proxy:
            read = _read(frame, spec.proxy, "price", week)
            proxy = spec.proxy if read is not None else None
        label = f"{spec.name} ({spec.symbol})"
        why = _span_text(frame, spec.symbol, week, checked_out)
        if read is None:
            missing.append(spec.symbol)
            notes.append(f"{label}: {why}; left out of Beyond stocks.")
            continue
        if proxy:
            notes.append(
                f"{label}: {why}; the "
                f"{spec.proxy_name or proxy} ({proxy}) stands in, in percent, on the trading week."
            )
        roll_on = None
        if proxy is None and spec.roll_check and spec.roll_check in frame:
            base_day, end_day = window(spec.kind, week)
            found = roll_day(
                read.series,
                frame[spec.roll_check].dropna(),
                base_day,
                end_day,
                settings.roll_gap,
            )
            if found is not None:
                roll_on, fut, fund = found
                rolls.append(spec.symbol)
                notes.append(
                    f"{label}: the front-month contract rolled on {roll_on.isoformat()} "
                    f"(the futures moved {fut:+.2%} that day, {spec.roll_check} {fund:+.2%}), "
                    "so the week's change spans two contracts and is not told as a move."
                )
        moves.append(_move(read, spec, week, settings, proxy, roll_on))
    notes.extend(_calendar_notes(moves))
    spread, spread_change = _spread(moves)
    facts = MarketFacts(
        spread_bp=spread,
        spread_change_bp=spread_change,
        co_moves=_co_moves(moves, stock_closes, week, settings, fund_names),
        missing=tuple(missing),
        rolls=tuple(rolls),
    )
    return tuple(moves), facts, tuple(notes)


def _and(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _calendar_notes(moves: Sequence[MarketMove]) -> list[str]:
    """What the FX and crypto rows' dates mean."""
    notes = []
    fx = [m for m in moves if m.calendar == "london"]
    if fx:
        notes.append(
            f"{_and([m.name for m in fx])}: Yahoo's FX close is the rate at midnight "
            "London (about the previous New York close); the week runs from that rate on "
            f"{fx[0].base_date.isoformat()} to that on {fx[0].as_of.isoformat()}."
        )
    coins = [m for m in moves if m.calendar == "fri-fri"]
    if coins:
        notes.append(
            f"{_and([m.name for m in coins])} trade every day: their week runs Friday to "
            f"Friday ({coins[0].base_date.isoformat()} to {coins[0].as_of.isoformat()}, "
            "UTC days)."
        )
    return notes


def _spread(moves: Sequence[MarketMove]) -> tuple[float | None, float | None]:
    """(10-year minus 3-month yield, its change over the week), in basis points."""
    by = {m.symbol: m for m in moves if m.proxy is None}
    ten, three = by.get(TEN_YEAR), by.get(THREE_MONTH)
    if ten is None or three is None:
        return None, None
    now = round((ten.last - three.last) * 100, 9)
    before = round((ten.base - three.base) * 100, 9)
    return now, round(now - before, 9)


def _co_moves(
    moves: Sequence[MarketMove],
    closes: pd.DataFrame,
    week: Week,
    settings: MarketsSettings,
    fund_names: Mapping[str, str],
) -> tuple[CoMove, ...]:
    """The pairs whose series moved (no roll) and whose fund has the week's closes."""
    by = {m.series: m for m in moves if m.proxy is None and m.roll_on is None}
    out = []
    for pair in settings.pairs:
        move = by.get(pair.series)
        if move is None or pair.fund not in closes:
            continue
        fund = closes[pair.fund]
        base = fund.get(pd.Timestamp(week.base_date))
        end = fund.get(pd.Timestamp(week.end))
        if base is None or end is None or pd.isna(base) or pd.isna(end):
            continue
        ret = float(end) / float(base) - 1
        out.append(
            CoMove(
                series=move.series,
                series_name=move.name,
                series_change=move.week_change,
                change_unit=move.change_unit,
                fund=pair.fund,
                fund_name=fund_names.get(pair.fund, pair.fund),
                fund_return=ret,
                same_direction=move.week_change * ret > 0,
                newsworthy=move.newsworthy,
            )
        )
    return tuple(out)


__all__ = [
    "change",
    "check_series",
    "compute_markets",
    "market_tickers",
    "roll_day",
    "weekly_changes",
    "window",
]
