"""Attribution in index points, chain-linked across holdings files (pure numpy and pandas).

A period (the week, the year to date) over which the index's holdings file changes is
cut into sub-periods at each later file's date (the last session on or before it). Each
sub-period is attributed with the file current at its start, by the method of
analytics/attribution.py (weights drifted by price to the sub-period's base, times each
stock's return). Its contributions are turned into index points with the index's level
at the sub-period's start; points add up across sub-periods, so a stock's contribution
over the whole period is the sum of its points over the base level:

    c_i = sum_t c_i,t x L_(t-1) / L_0 = sum_t c_i,t x prod_(s<t) (1 + R_s),

the chain-linking of sub-period contributions by the index's own growth before each
(exact: the sub-period sums compound to the index's return, less the residuals).
Coverage over the period is the lowest of its sub-periods'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recap.analytics.attribution import TOP, _frame
from recap.model import PeriodPoints, SectorPoints, StockPoints


@dataclass(frozen=True)
class Piece:
    """One sub-period: the holdings file current at its start, and its two sessions."""

    table: pd.DataFrame  # ticker, name, sector, weight (holdings.HoldingsFile.table)
    as_of: dt.date
    base: dt.date
    end: dt.date


def pieces(
    files: Sequence[tuple[pd.DataFrame, dt.date]],
    sessions: pd.DatetimeIndex,
    base: dt.date,
    end: dt.date,
) -> tuple[Piece, ...]:
    """The sub-periods of [base, end]: ``files`` (table, as-of date), oldest first; the
    first sub-period uses the latest file on or before ``base`` (else the earliest), and
    each later file starts a sub-period at the last session on or before its date."""
    if not files:
        return ()
    before = [f for f in files if f[1] <= base]
    first = before[-1] if before else files[0]
    cuts: list[tuple[pd.DataFrame, dt.date, dt.date]] = [(first[0], first[1], base)]
    for table, as_of in files:
        if as_of <= first[1]:
            continue
        upto = sessions[sessions <= pd.Timestamp(as_of)]
        if len(upto) == 0:
            continue
        at = upto[-1].date()
        if cuts[-1][2] < at < end:
            cuts.append((table, as_of, at))
    ends = [c[2] for c in cuts[1:]] + [end]
    return tuple(
        Piece(table=t, as_of=a, base=b, end=e) for (t, a, b), e in zip(cuts, ends, strict=True)
    )


def attribute_points(
    parts: Sequence[Piece],
    closes: pd.DataFrame,
    levels: pd.Series,
    *,
    top: int = TOP,
) -> PeriodPoints | None:
    """The chain-linked attribution of ``parts`` (see the module docstring), in index
    points from ``levels`` (the index's closes); None without a level at every cut."""
    if not parts:
        return None
    at = [pd.Timestamp(p.base) for p in parts] + [pd.Timestamp(parts[-1].end)]
    if any(ts not in levels.index or not np.isfinite(levels.loc[ts]) for ts in at):
        return None
    level = [float(levels.loc[ts]) for ts in at]
    frames = []
    coverage = []
    for part, start_level in zip(parts, level, strict=False):
        frame = _frame(part.table, closes, holdings_as_of=part.as_of, base=part.base, end=part.end)
        frame["points"] = frame["contrib"] * start_level
        frame["growth"] = np.where(frame["covered"], 1.0 + frame["ret"], 1.0)
        coverage.append(float(frame["covered_weight"].sum()))
        frames.append(frame)
    base_level = level[0]
    stocks = _stocks(frames, base_level)
    total_points = float(sum(f["points"].sum() for f in frames))
    index_points = level[-1] - base_level
    index_return = level[-1] / base_level - 1.0
    total = total_points / base_level
    return PeriodPoints(
        holdings_as_of=parts[0].as_of,
        base_date=parts[0].base,
        index_return=index_return,
        contributions_total=total,
        residual=index_return - total,
        coverage=min(coverage),
        sectors=_sectors(frames, level, base_level),
        top=_ranked(stocks, top, largest=True),
        bottom=_ranked(stocks, top, largest=False),
        base_level=base_level,
        index_points=index_points,
        contributions_points=total_points,
        residual_points=index_points - total_points,
        linked_at=tuple(p.base for p in parts[1:]),
    )


def _stocks(frames: Sequence[pd.DataFrame], base_level: float) -> pd.DataFrame:
    """Per listed stock across sub-periods: points summed, return chained over those it
    was priced in; weight, name and sector from its first sub-period. Indexed by ticker,
    sorted."""
    both = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    both = both.loc[both["ticker"] != ""]
    if len(frames) == 1:  # one file: one row per ticker already (holdings merge repeats)
        stocks = both.set_index("ticker").sort_index()
        stocks = stocks.assign(covered=stocks["covered"].astype(bool))
    else:
        stocks = both.groupby("ticker", sort=True).agg(
            name=("name", "first"),
            sector=("sector", "first"),
            weight=("weight", "first"),
            covered=("covered", "any"),
            growth=("growth", "prod"),
            points=("points", "sum"),
        )
    stocks["contrib"] = stocks["points"] / base_level
    stocks["ret"] = stocks["growth"] - 1.0
    return stocks


def _sectors(
    frames: Sequence[pd.DataFrame], level: Sequence[float], base_level: float
) -> tuple[SectorPoints, ...]:
    """Each sector: weight at the period's base, points summed, its own return chained."""
    columns = ["weight", "covered_weight", "covered", "points", "contrib"]
    sums = [f.groupby("sector", sort=True)[columns].sum() for f in frames]
    names = sorted(set().union(*(s.index.tolist() for s in sums)))
    weight = sums[0]["weight"].reindex(names, fill_value=0.0).to_numpy()
    points = np.zeros(len(names))
    growth = np.ones(len(names))
    priced = np.zeros(len(names), dtype=bool)
    for part in sums:
        part = part.reindex(names, fill_value=0.0)
        cw = part["covered_weight"].to_numpy(dtype=float)
        has = (part["covered"].to_numpy(dtype=float) > 0) & (cw > 0)
        priced |= has
        points += part["points"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(has, part["contrib"].to_numpy(dtype=float) / cw, 0.0)
        growth *= 1.0 + r
    rows = [
        SectorPoints(
            sector=str(name),
            weight=float(w),
            sector_return=float(g) - 1.0 if p else None,
            contribution=float(pts) / base_level if p else None,
            points=float(pts) if p else None,
        )
        for name, w, g, pts, p in zip(names, weight, growth, points, priced, strict=True)
    ]
    return tuple(
        sorted(
            rows,
            key=lambda s: (s.contribution is None, -(s.contribution or 0.0), -s.weight, s.sector),
        )
    )


def _ranked(stocks: pd.DataFrame, n: int, *, largest: bool) -> tuple[StockPoints, ...]:
    """The ``n`` priced stocks that added (took away) the most points; ties by ticker."""
    tickers = stocks.index.to_numpy()
    pts = stocks["points"].to_numpy(dtype=float)
    ok = stocks["covered"].to_numpy(dtype=bool) & ((pts > 0) if largest else (pts < 0))
    picked = np.flatnonzero(ok)
    key = -pts[picked] if largest else pts[picked]
    top = picked[np.lexsort((tickers[picked], key))[:n]].tolist()
    name, sector = stocks["name"].to_numpy(), stocks["sector"].to_numpy()
    weight, ret = stocks["weight"].to_numpy(dtype=float), stocks["ret"].to_numpy(dtype=float)
    contrib = stocks["contrib"].to_numpy(dtype=float)
    return tuple(
        StockPoints(
            ticker=str(tickers[i]),
            name=str(name[i]),
            sector=str(sector[i]),
            weight=float(weight[i]),
            stock_return=float(ret[i]),
            contribution=float(contrib[i]),
            points=float(pts[i]),
        )
        for i in top
    )


__all__ = ["Piece", "attribute_points", "pieces"]
