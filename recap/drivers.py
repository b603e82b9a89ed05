"""Where the small-cap index's move came from, for one week: the attribution (week and
year to date), breadth across the index's own stocks, and each sector in small caps
beside large caps.

Pure: config, holdings and frames in, model objects and data notes out. The method is
analytics/attribution.py; this module picks the holdings file of each period, the
fund's return to reconcile with, and falls back to the estimate (sector weights x
small-cap sector funds, labelled so) when the constituents' prices cover too little.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from recap import formatting as f
from recap.analytics import attribution as attr
from recap.analytics.sectors import period_returns
from recap.config import RecapConfig
from recap.model import (
    Attribution,
    IndexMove,
    MarketBreadth,
    PeriodAttribution,
    SectorComparison,
    SectorMove,
    StockContribution,
    Week,
)
from recap.sources.holdings import HoldingsFile, IndexHoldings
from recap.sources.symbols import reader_name
from recap.weeks import ytd_base_session


@dataclass(frozen=True)
class Drivers:
    """What compute_drivers found."""

    attribution: Attribution | None
    market_breadth: MarketBreadth | None
    notes: tuple[str, ...]


def sector_funds(config: RecapConfig) -> dict[str, str]:
    """Sector -> small-cap sector fund ticker, from [contribution] sector_funds."""
    return {f.sector: f.ticker for f in config.contribution.sector_funds}


def driver_tickers(config: RecapConfig) -> tuple[str, ...]:
    """The fund and the small-cap sector funds: tickers the content needs prices for."""
    etf = config.contribution.etf
    return tuple(t for t in dict.fromkeys([etf, *sector_funds(config).values()]) if t)


def config_weights(
    config: RecapConfig,
) -> tuple[tuple[tuple[str, float], ...], str, dt.date | None]:
    """Sector weights from the [contribution] table: (weights, source, as of); checked
    when the config loaded (a source and a date are required with weights)."""
    c = config.contribution
    if not c.weights:
        return (), "", None
    return tuple((w.sector, w.weight) for w in c.weights), c.weights_source, c.weights_as_of


PERIOD_WORDS = {"week": "the week", "ytd": "year to date"}


def _periods(week: Week) -> tuple[tuple[str, dt.date], ...]:
    return (("week", week.base_date), ("ytd", ytd_base_session(week)))


def needed_files(holdings: IndexHoldings | None, week: Week) -> tuple[HoldingsFile, ...]:
    """The holdings files the week's periods use (one or two), oldest first."""
    if holdings is None:
        return ()
    picked = {id(p): p for _, base in _periods(week) if (p := holdings.pick(base)) is not None}
    return tuple(sorted(picked.values(), key=lambda h: h.as_of))


def _named(period: PeriodAttribution, names: Mapping[str, str]) -> PeriodAttribution:
    """The listed stocks under the names a reader knows (only these are ever shown)."""

    def tidy(stocks: tuple[StockContribution, ...]) -> tuple[StockContribution, ...]:
        return tuple(
            dataclasses.replace(x, name=reader_name(x.ticker, x.name, names)) for x in stocks
        )

    return dataclasses.replace(period, top=tidy(period.top), bottom=tidy(period.bottom))


def _fund_return(
    closes: pd.DataFrame, ticker: str, week: Week
) -> tuple[float | None, float | None]:
    if ticker not in closes:
        return None, None
    returns = period_returns(closes[ticker], week)
    return (None, None) if returns is None else returns


def _constituents(
    holdings: IndexHoldings,
    constituents: pd.DataFrame,
    week: Week,
    fund: tuple[float | None, float | None],
    names: Mapping[str, str],
    top: int,
) -> tuple[dict[str, PeriodAttribution], list[str]]:
    out: dict[str, PeriodAttribution] = {}
    notes: list[str] = []
    for (period, base), fund_return in zip(_periods(week), fund, strict=True):
        held = holdings.pick(base)
        if held is None:
            continue
        result, priced = attr.attribute_period(
            held.table,
            constituents,
            holdings_as_of=held.as_of,
            base=base,
            end=week.end,
            fund_return=fund_return,
            top=top,
        )
        out[period] = result = _named(result, names)
        if held.as_of > base:
            # No file as old as the base: the later one's weights, carried back by price.
            notes.append(
                f"Attribution ({PERIOD_WORDS.get(period, period)}): no {holdings.fund} holdings "
                f"file is dated on or before {f.long_date(base)}, so the weights of the file "
                f"of {f.long_date(held.as_of)} are used, carried back by price; stocks "
                "bought or sold in between are not reflected."
            )
        if period == "week":
            unpriced = held.positions - priced
            notes.append(
                f"Attribution: {priced:,} of the {held.positions:,} holdings in the "
                f"{holdings.fund} file of {f.long_date(held.as_of)} have prices for the week "
                f"({f.pct(result.coverage, 1)} of the weight); the other {unpriced:,} are "
                "left out of the sums, their returns unknown."
            )
    return out, notes


def _estimate(
    weights: Sequence[tuple[str, float]],
    as_of: dt.date | None,
    closes: pd.DataFrame,
    week: Week,
    fund: tuple[float | None, float | None],
    funds: Mapping[str, str],
) -> dict[str, PeriodAttribution]:
    out: dict[str, PeriodAttribution] = {}
    by_sector = {s: _fund_return(closes, t, week) for s, t in funds.items()}
    for i, ((period, base), fund_return) in enumerate(zip(_periods(week), fund, strict=True)):
        returns = {s: r[i] for s, r in by_sector.items()}
        result = attr.estimate_period(
            weights, returns, holdings_as_of=as_of, base=base, fund_return=fund_return
        )
        if result.coverage > 0:
            out[period] = result
    return out


def compute_drivers(
    closes: pd.DataFrame,
    constituents: pd.DataFrame | None,
    week: Week,
    indexes: Sequence[IndexMove],
    config: RecapConfig,
    holdings: IndexHoldings | None,
) -> Drivers:
    """The attribution and market breadth of one week; data notes for what is missing."""
    c = config.contribution
    etf = c.etf
    spec = config.index_by_role("small")
    index = spec.name if spec else etf
    fund = _fund_return(closes, etf, week)
    names = config.names
    notes: list[str] = []
    periods: dict[str, PeriodAttribution] = {}
    method = "constituents"
    breadth = None
    files = holdings.files if holdings else ()
    if holdings is not None and files and constituents is not None:
        periods, notes = _constituents(holdings, constituents, week, fund, names, c.top)
        held = holdings.pick(week.base_date)
        if held is not None:
            breadth = attr.market_breadth(
                constituents,
                held.tickers(),
                base=week.base_date,
                end=week.end,
                sessions=week.session_dates,
                universe=f"{index} stocks ({holdings.fund} holdings of {held.as_of.isoformat()})",
            )
    floor = c.min_coverage
    if not periods or any(p.coverage < floor for p in periods.values()):
        if periods:
            notes = [
                f"Attribution: the {index}'s stocks with prices cover under "
                f"{f.pct(floor, 0)} of its weight, so the sector estimate is used instead."
            ]
        method = "estimate"
        weights, source, as_of = _estimate_weights(holdings, week, config)
        if not weights:
            notes.append(
                f"No holdings or sector weights for {etf}: the attribution of the {index}'s "
                "move is left out."
            )
            return Drivers(None, breadth, tuple(notes))
        funds = sector_funds(config)
        periods = _estimate(weights, as_of, closes, week, fund, funds)
        uncovered = [s for s, _ in weights if s not in funds]
        notes.append(
            f"Contribution by sector is an estimate: each sector's weight ({source}) times "
            "its small-cap sector fund's return"
            + (f"; no small-cap fund for {', '.join(uncovered)}" if uncovered else "")
            + "."
        )
    if not periods:
        notes.append(f"No returns for the {index}'s sectors this week: attribution left out.")
        return Drivers(None, breadth, tuple(notes))
    if fund[0] is None:
        notes.append(f"No close of {etf} for the week: the attribution is not reconciled.")
    attribution = Attribution(
        index=index,
        fund=etf,
        method=method,
        week=periods.get("week"),
        ytd=periods.get("ytd"),
    )
    return Drivers(attribution, breadth, tuple(notes))


def _estimate_weights(
    holdings: IndexHoldings | None, week: Week, config: RecapConfig
) -> tuple[tuple[tuple[str, float], ...], str, dt.date | None]:
    if holdings is not None:
        held = holdings.pick(week.base_date)
        if held is not None:
            source = f"the {held.fund} holdings file of {f.long_date(held.as_of)}"
            return held.sector_weights(), source, held.as_of
        if holdings.weights is not None:
            w = holdings.weights
            return w.sector_weights, w.source, w.as_of
    return config_weights(config)


def compare_sectors(
    sectors: Sequence[SectorMove],
    gics: Mapping[str, str],
    attribution: Attribution | None,
    closes: pd.DataFrame,
    week: Week,
    config: RecapConfig,
) -> tuple[SectorComparison, ...]:
    """Each sector in large caps (its SPDR) and small caps (the index's stocks, its fund)."""
    large = {gics[m.ticker]: m for m in sectors if gics.get(m.ticker)}
    funds = sector_funds(config)
    own = attribution is not None and attribution.method == "constituents"

    def small(period: PeriodAttribution | None) -> dict[str, float | None]:
        if not own or period is None:
            return {}
        return {s.sector: s.sector_return for s in period.sectors}

    week_small = small(attribution.week if attribution else None)
    ytd_small = small(attribution.ytd if attribution else None)
    names = list(dict.fromkeys([*large, *funds]))
    rows = []
    for sector in names:
        lg, fund_ticker = large.get(sector), funds.get(sector, "")
        fund_week, fund_ytd = (
            _fund_return(closes, fund_ticker, week) if fund_ticker else (None, None)
        )
        row = SectorComparison(
            sector=sector,
            large_ticker=lg.ticker if lg else "",
            large_week=lg.week_return if lg else None,
            large_ytd=lg.ytd_return if lg else None,
            small_week=week_small.get(sector),
            small_ytd=ytd_small.get(sector),
            fund_ticker=fund_ticker if fund_week is not None else "",
            fund_week=fund_week,
            fund_ytd=fund_ytd,
        )
        if row.large_week is not None or row.small_week is not None or row.fund_week is not None:
            rows.append(row)
    rows.sort(key=lambda r: (r.small_week is None, -(r.small_week or 0.0), r.sector))
    return tuple(rows)
