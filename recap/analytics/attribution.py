"""Attribution of an index's move to its own stocks and sectors, and breadth across them
(pure numpy and pandas).

The method, for one period (base close to end close):
  1. weights from the holdings file current at the base date, normalized to sum to 1;
  2. each weight drifted by the stock's own price from the holdings date to the base
     date (w x P_base / P_holdings), then normalized again; a stock without a close on
     the holdings date, the base date and the period's last session is uncovered and
     keeps its weight (its return is unknown, never taken as zero);
  3. contribution = drifted weight x the stock's return; by sector, the sum over its
     priced stocks, and its own cap-weighted return (contribution / priced weight);
  4. coverage = the priced share of the weight; residual = the ETF's return minus the
     sum of contributions (what cash, fees, unpriced names and timing leave over).
Without constituents, an estimate: sector weight x the small-cap sector fund's return.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recap.model import MarketBreadth, PeriodAttribution, SectorContribution, StockContribution

TOP = 10
# The share of gains may be stated only when the stocks priced explain the move well.
MIN_COVERAGE = 0.90
MAX_RESIDUAL = 0.01
# A holdings date must have a close within this many days (a weekend or holiday before it).
HOLDINGS_GAP_DAYS = 5
YEAR_DAYS = 364  # a 52-week window, as the index table's 52-week high
AVERAGE_SESSIONS = 50


def _row(closes: pd.DataFrame, day: dt.date, exact: bool) -> np.ndarray | None:
    """The closes of the session ``day`` (exact) or the last one on or before it."""
    ts = pd.Timestamp(day)
    if exact:
        row = closes.loc[ts] if ts in closes.index else None
    else:
        upto = closes.index[closes.index <= ts]
        ok = len(upto) > 0 and (ts - upto[-1]).days <= HOLDINGS_GAP_DAYS
        row = closes.loc[upto[-1]] if ok else None
    return None if row is None else np.asarray(row, dtype=float)


def _prices(
    tickers: pd.Series, closes: pd.DataFrame, day: dt.date, exact: bool = True
) -> np.ndarray:
    """One close per position (NaN when the ticker or the close is missing)."""
    out = np.full(len(tickers), np.nan)
    row = _row(closes, day, exact)
    if row is None:
        return out
    where = pd.Index(closes.columns).get_indexer(pd.Index(tickers))
    found = where >= 0
    out[found] = row[where[found]]
    return out


def _stock(t: str, n: str, s: str, w: float, r: float, c: float) -> StockContribution:
    return StockContribution(ticker=t, name=n, sector=s, weight=w, stock_return=r, contribution=c)


def _frame(
    holdings: pd.DataFrame,
    closes: pd.DataFrame,
    *,
    holdings_as_of: dt.date,
    base: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    """One row per position: drifted weight, priced or not, return and contribution."""
    w = holdings["weight"].to_numpy(dtype=float)
    tickers = holdings["ticker"].astype(str)
    p_held = _prices(tickers, closes, holdings_as_of, exact=False)
    p_base, p_end = _prices(tickers, closes, base), _prices(tickers, closes, end)
    with np.errstate(invalid="ignore", divide="ignore"):
        covered = (
            np.isfinite(p_held)
            & np.isfinite(p_base)
            & np.isfinite(p_end)
            & (p_held > 0)
            & (p_base > 0)
        )
        drifted = np.where(covered, w * p_base / p_held, w)
        total_w = drifted.sum()
        weight = drifted / total_w if total_w > 0 else drifted
        ret = np.where(covered, p_end / p_base - 1.0, np.nan)
    contrib = np.where(covered, weight * ret, 0.0)
    return pd.DataFrame(
        {
            "ticker": tickers.to_numpy(),
            "name": holdings["name"].astype(str).to_numpy(),
            "sector": holdings["sector"].astype(str).to_numpy(),
            "weight": weight,
            "covered_weight": np.where(covered, weight, 0.0),
            "covered": covered,
            "ret": ret,
            "contrib": contrib,
        }
    )


def attribute_period(
    holdings: pd.DataFrame,
    closes: pd.DataFrame,
    *,
    holdings_as_of: dt.date,
    base: dt.date,
    end: dt.date,
    fund_return: float | None,
    top: int = TOP,
) -> tuple[PeriodAttribution, int]:
    """Constituent attribution of one period (see the module docstring), and how many
    positions had prices.

    ``holdings``: ticker, name, sector, weight (one row per position; ticker "" when
    unlisted). ``closes``: wide closes of the constituents, sessions as index.
    """
    frame = _frame(holdings, closes, holdings_as_of=holdings_as_of, base=base, end=end)
    total = float(frame["contrib"].sum())
    period = PeriodAttribution(
        holdings_as_of=holdings_as_of,
        base_date=base,
        index_return=fund_return,
        contributions_total=total,
        residual=None if fund_return is None else fund_return - total,
        coverage=float(frame["covered_weight"].sum()),
        sectors=_sectors(frame),
        top=_ranked(frame, top, largest=True),
        bottom=_ranked(frame, top, largest=False),
    )
    return period, int(frame["covered"].sum())


def _sectors(frame: pd.DataFrame) -> tuple[SectorContribution, ...]:
    # One groupby sum of the four columns: the same sums as four named aggregations
    # (pandas' compensated sum either way), at a third of the cost.
    columns = ["weight", "covered_weight", "covered", "contrib"]
    sums = frame.groupby("sector", sort=True)[columns].sum()
    rows = []
    for sector, weight, priced, names, contribution in zip(
        sums.index.tolist(), *(sums[c].tolist() for c in columns), strict=True
    ):
        has = int(names) > 0
        rows.append(
            SectorContribution(
                sector=str(sector),
                weight=float(weight),
                sector_return=float(contribution) / priced if has and priced > 0 else None,
                contribution=float(contribution) if has else None,
            )
        )
    return sort_sectors(rows)


def sort_sectors(rows: Sequence[SectorContribution]) -> tuple[SectorContribution, ...]:
    """Largest contribution first; sectors without one last, by weight."""
    return tuple(
        sorted(
            rows,
            key=lambda s: (
                s.contribution is None,
                -(s.contribution or 0.0),
                -s.weight,
                s.sector,
            ),
        )
    )


def _ranked(frame: pd.DataFrame, n: int, *, largest: bool) -> tuple[StockContribution, ...]:
    """The ``n`` priced stocks that added (or took away) the most; ties by ticker."""
    t, name, sector, w, r, c = (
        frame[k].to_numpy() for k in ("ticker", "name", "sector", "weight", "ret", "contrib")
    )
    picked = np.flatnonzero(frame["covered"].to_numpy() & ((c > 0) if largest else (c < 0)))
    # sort_values(["contrib", "ticker"]) without its overhead: a stable lexsort, the last
    # key first (the contributions have one sign here, so -c puts the largest first).
    key = -c[picked] if largest else c[picked]
    top = picked[np.lexsort((t[picked], key))[:n]].tolist()
    return tuple(
        _stock(str(t[i]), str(name[i]), str(sector[i]), float(w[i]), float(r[i]), float(c[i]))
        for i in top
    )


def estimate_period(
    weights: Sequence[tuple[str, float]],
    fund_returns: Mapping[str, float | None],
    *,
    holdings_as_of: dt.date | None,
    base: dt.date,
    fund_return: float | None,
) -> PeriodAttribution:
    """Sector weight x the sector fund's return; sectors without a fund are uncovered."""
    rows = []
    for sector, w in weights:
        r = fund_returns.get(sector)
        ok = r is not None and math.isfinite(r)
        rows.append(
            SectorContribution(
                sector=sector,
                weight=w,
                sector_return=r if ok else None,
                contribution=w * r if ok and r is not None else None,
            )
        )
    total = sum(s.contribution for s in rows if s.contribution is not None)
    return PeriodAttribution(
        holdings_as_of=holdings_as_of,
        base_date=base,
        index_return=fund_return,
        contributions_total=total,
        residual=None if fund_return is None else fund_return - total,
        coverage=sum(s.weight for s in rows if s.contribution is not None),
        sectors=sort_sectors(rows),
        top=(),
        bottom=(),
    )


def share_of_gains_allowed(period: PeriodAttribution) -> bool:
    """May the text say "X supplied N% of the index's gains"? Only when the index gained,
    the stocks priced cover 90% of its weight, and they explain its move within a point."""
    return (
        period.contributions_total > 0
        and period.coverage >= MIN_COVERAGE
        and period.residual is not None
        and abs(period.residual) <= MAX_RESIDUAL
    )


def concentration(
    period: PeriodAttribution,
) -> tuple[tuple[str, ...], float | None, float | None]:
    """(top two sectors, their share of the gains, Herfindahl index of the positive shares).

    The share is of the sum of contributions (the index's gain, as the stocks priced
    explain it), and both figures are None unless share_of_gains_allowed.
    """
    positive = [s for s in period.sectors if (s.contribution or 0.0) > 0]
    two = positive[:2]
    names = tuple(s.sector for s in two)
    if not share_of_gains_allowed(period) or not two:
        return names, None, None
    share = sum(s.contribution or 0.0 for s in two) / period.contributions_total
    gains = sum(s.contribution or 0.0 for s in positive)
    hhi = sum(((s.contribution or 0.0) / gains) ** 2 for s in positive)
    return names, share, hhi


def market_breadth(
    closes: pd.DataFrame,
    tickers: Sequence[str],
    *,
    base: dt.date,
    end: dt.date,
    sessions: Sequence[dt.date],
    universe: str,
) -> MarketBreadth | None:
    """Breadth across ``tickers``: every one with a close on ``base`` and ``end``."""
    have = set(closes.columns.tolist())  # not Index.__contains__ per ticker: slower
    cols = [t for t in dict.fromkeys(tickers) if t and t in have]
    b, e = pd.Timestamp(base), pd.Timestamp(end)
    if not cols or b not in closes.index or e not in closes.index:
        return None
    # Rows and columns picked by position on the array: .loc by ~1,800 labels cost more
    # than all the arithmetic below.
    stop = int(closes.index.searchsorted(e, side="right"))  # sessions ascending
    index = pd.DatetimeIndex(closes.index[:stop])
    where = closes.columns.get_indexer(pd.Index(cols))
    values = np.take(closes.to_numpy(dtype=float)[:stop], where, axis=1)
    start, last = values[index.get_loc(b)], values[-1]
    with np.errstate(invalid="ignore"):
        has = np.isfinite(start) & np.isfinite(last) & (start > 0)
        if not has.any():
            return None
        values, start, last = values[:, has], start[has], last[has]
        ret = last / start - 1.0
    flat = np.round(ret, 4) == 0
    valid = np.isfinite(values)
    # The last 50 closes of each stock: the average its close is held against.
    rank = valid[::-1].cumsum(axis=0)[::-1]  # 1 = the stock's latest close
    enough = valid.sum(axis=0) >= AVERAGE_SESSIONS
    in_last = valid & (rank <= AVERAGE_SESSIONS)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(in_last, values, 0.0).sum(axis=0) / in_last.sum(axis=0)
    above = enough & (last > average)
    highs, lows = _new_extremes(index, values, valid, sessions)
    return MarketBreadth(
        universe=universe,
        names=int(has.sum()),
        advancers=int(((ret > 0) & ~flat).sum()),
        decliners=int(((ret < 0) & ~flat).sum()),
        unchanged=int(flat.sum()),
        above_50d=int(above.sum()),
        with_50d=int(enough.sum()),
        new_highs_52w=highs,
        new_lows_52w=lows,
    )


def _new_extremes(
    index: pd.DatetimeIndex, values: np.ndarray, valid: np.ndarray, sessions: Sequence[dt.date]
) -> tuple[int, int]:
    """Stocks with a new 52-week closing high (low) on a session of the week; only those
    whose history starts a year before the week count."""
    week_start = pd.Timestamp(sessions[0])
    first = np.where(valid.any(axis=0), valid.argmax(axis=0), len(index))
    cutoff = index.searchsorted(week_start - pd.Timedelta(days=YEAR_DAYS + 1), side="right")
    old = first < cutoff  # a close on or before the cutoff day
    high = np.zeros(values.shape[1], dtype=bool)
    low = np.zeros(values.shape[1], dtype=bool)
    windows = []  # (the session's row, the first row of the year before it)
    for day in sessions:
        ts = pd.Timestamp(day)
        if ts not in index:
            continue
        at = int(index.searchsorted(ts, side="left"))
        lo = int(index.searchsorted(ts - pd.Timedelta(days=YEAR_DAYS), side="left"))
        if at > lo:
            windows.append((at, lo))
    for (at, _), (top, bottom) in zip(
        windows, _window_extremes(values, valid, windows), strict=True
    ):
        with np.errstate(invalid="ignore"):
            high |= values[at] > top
            low |= values[at] < bottom
    return int((high & old).sum()), int((low & old).sum())


def _window_extremes(
    values: np.ndarray, valid: np.ndarray, windows: Sequence[tuple[int, int]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each column's highest and lowest close in rows [lo, at) of each window (-inf and
    inf without one). The week's windows share all but a few rows: those are reduced
    once, and a max or min is the same however its rows are split."""
    if not windows:
        return []
    # Missing closes never set a high or a low.
    highs = np.where(valid, values, -np.inf)
    lows = np.where(valid, values, np.inf)
    shared = slice(max(lo for _, lo in windows), min(at for at, _ in windows))
    overlap = shared.start < shared.stop
    top = highs[shared].max(axis=0, initial=-np.inf)
    bottom = lows[shared].min(axis=0, initial=np.inf)
    out = []
    for at, lo in windows:
        # The rows of this window that are not shared (all of them without an overlap).
        edges = [slice(lo, shared.start), slice(shared.stop, at)] if overlap else [slice(lo, at)]
        highest = [highs[e].max(axis=0, initial=-np.inf) for e in edges]
        lowest = [lows[e].min(axis=0, initial=np.inf) for e in edges]
        out.append((np.maximum.reduce([top, *highest]), np.minimum.reduce([bottom, *lowest])))
    return out
