"""The report's sections beyond the index table: sectors and themes, bank earnings,
risks and the week ahead, computed from the frames the pipeline fetched.

Pure: config and frames in, model objects out. Tickers that lack data become data
notes here, so the report names them instead of dropping them or showing a zero.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recap import drivers as drivers_mod
from recap.analytics import attribution as attribution_mod
from recap.analytics import banks as banks_mod
from recap.analytics import risks as risks_mod
from recap.analytics import sectors as sectors_mod
from recap.analytics.indexes import move_for_role
from recap.config import RecapConfig
from recap.events import week_events
from recap.model import (
    Attribution,
    BankResult,
    BankSection,
    Gap,
    IndexMove,
    MarketBreadth,
    RiskNote,
    RiskSection,
    SectorSection,
    Watchlist,
    Week,
    WeekAhead,
    WeeklyRecap,
)
from recap.settings import FundSpec
from recap.sources.holdings import IndexHoldings
from recap.weeks import next_week


@dataclass(frozen=True)
class Content:
    """What compute_content found, before it goes into the WeeklyRecap."""

    sectors: SectorSection | None
    attribution: Attribution | None
    market_breadth: MarketBreadth | None
    banks: BankSection | None
    risks: RiskSection | None
    week_ahead: WeekAhead | None
    notes: tuple[str, ...]
    earnings: tuple[BankResult, ...] = ()
    gaps: tuple[Gap, ...] = ()


def _funds(config: RecapConfig) -> tuple[FundSpec, ...]:
    return config.sectors.etfs + config.sectors.industries


def _groups(config: RecapConfig) -> dict[str, tuple[str, ...]]:
    """The watchlists, then the large banks as a group of their own."""
    return {**config.watchlists, "Large banks": config.banks.large}


def display_names(config: RecapConfig) -> dict[str, str]:
    """What the report calls each ticker: sector and industry names, then [names]."""
    out = dict(config.names)
    for spec in _funds(config):
        out[spec.ticker] = spec.name
    return out


def content_tickers(config: RecapConfig) -> tuple[str, ...]:
    """Every ticker the content needs prices for, in config order, without repeats."""
    out = [s.ticker for s in _funds(config)]
    for tickers in config.watchlists.values():
        out.extend(tickers)
    out.extend(config.banks.large)
    out.append(config.risks.semis)
    out.extend(drivers_mod.driver_tickers(config))
    return tuple(t for t in dict.fromkeys(out) if t)


def earnings_tickers(config: RecapConfig) -> tuple[str, ...]:
    """Tickers whose earnings dates the report uses: watchlists and large banks."""
    return tuple(dict.fromkeys(t for tickers in _groups(config).values() for t in tickers))


def bank_tickers(config: RecapConfig) -> tuple[str, ...]:
    """The regional banks (the [banks] watchlist) and the large banks, in config order."""
    regional = config.watchlists.get(config.banks.watchlist, ())
    return tuple(dict.fromkeys([*regional, *config.banks.large]))


# A watchlist with fewer of its names priced than this share is left out whole: the average
# of one or two names is not the theme's move.
MIN_WATCHLIST_SHARE = 0.5


def _span(closes: pd.DataFrame, ticker: str) -> tuple[dt.date, dt.date] | None:
    """First and last dates with a close, or None when the data holds none."""
    if ticker not in closes:
        return None
    valid = closes[ticker].dropna()
    if valid.empty:
        return None
    return valid.index[0].date(), valid.index[-1].date()


def _why_missing(closes: pd.DataFrame, ticker: str, week: Week) -> str:
    """What the data lacks for ``ticker`` this week, in words that are true."""
    span = _span(closes, ticker)
    if span is None:
        # The data is fetched up to the week's end: say how far it was looked at.
        return f"no prices in the data through {week.end.isoformat()}"
    first, last = span
    if first > week.base_date:
        return f"prices in the data start {first.isoformat()}"
    if last < week.end:
        return f"prices in the data end {last.isoformat()}"
    series = closes[ticker]
    lacking = [
        d.isoformat()
        for d in (week.base_date, week.end)
        if pd.isna(series.get(pd.Timestamp(d), float("nan")))
    ]
    return f"no close for {' or '.join(lacking)} in the data"


def _missing_notes(
    closes: pd.DataFrame,
    tickers: Sequence[str],
    where: str,
    week: Week,
    checked_out: Collection[str] = (),
) -> list[str]:
    """One note per reason: 'AVGO, MU: prices in the data start 2025-10-31; left out of ...'.

    A series the price checks left out (``checked_out``) has its own note already.
    """
    by_reason: dict[str, list[str]] = {}
    for t in tickers:
        if t in checked_out:
            continue
        by_reason.setdefault(_why_missing(closes, t, week), []).append(t)
    return [f"{', '.join(ts)}: {why}; left out of {where}." for why, ts in by_reason.items()]


def _gaps(
    closes: pd.DataFrame,
    week: Week,
    where: tuple[str, str],
    tickers: Sequence[str],
    members: int,
    names: Mapping[str, str],
    left_out: bool,
    checked_out: Collection[str],
) -> list[Gap]:
    """What the prose says is missing: the series with no prices for the week, and apart,
    those whose prices failed the checks."""
    section, subject = where
    out = []
    for failed in (False, True):
        group = [t for t in tickers if (t in checked_out) == failed]
        if not group:
            continue
        spans = [None if failed else _span(closes, t) for t in group]
        firsts = [s[0] for s in spans if s is not None]
        lasts = [s[1] for s in spans if s is not None]
        all_later = len(firsts) == len(group) and all(f > week.base_date for f in firsts)
        all_ended = len(lasts) == len(group) and all(x < week.end for x in lasts)
        out.append(
            Gap(
                section=section,
                subject=subject,
                tickers=tuple(group),
                names=tuple(names.get(t, t) for t in group),
                members=members,
                left_out=left_out,
                starts=min(firsts) if all_later else None,
                ends=max(lasts) if all_ended else None,
                failed_check=failed,
            )
        )
    return out


def _sector_section(
    closes: pd.DataFrame,
    week: Week,
    config: RecapConfig,
    attribution: Attribution | None,
    left_out: Collection[str] = (),
) -> tuple[SectorSection | None, dict[str, Watchlist], tuple[str, ...], tuple[Gap, ...]]:
    table = config.sectors
    names = config.names
    notes: list[str] = []
    etfs, industries = table.etfs, table.industries
    gaps: list[Gap] = []
    fund_names = {s.ticker: s.name for s in etfs + industries}
    moves = {}
    for kind, specs, where in (
        ("sector", etfs, "sector funds"),
        ("industry", industries, "industry funds"),
    ):
        found, missing = sectors_mod.compute_moves(
            closes, week, [(s.ticker, s.name) for s in specs], kind
        )
        if missing:
            notes.extend(_missing_notes(closes, missing, f"the {kind} table", week, left_out))
            gaps += _gaps(
                closes,
                week,
                ("sectors", where),
                missing,
                len(specs),
                fund_names,
                not found,
                left_out,
            )
        moves[kind] = found
    sectors, inds = moves["sector"], moves["industry"]
    lists: dict[str, Watchlist] = {}
    for name, tickers in config.watchlists.items():
        wl = sectors_mod.compute_watchlist(closes, week, name, tickers, names)
        with_prices = len(wl.members) if wl else 0
        too_few = with_prices < MIN_WATCHLIST_SHARE * len(tickers)
        lacking = [t for t in tickers if wl is None or t in wl.missing]
        if lacking:
            where = f"the {name} watchlist"
            if too_few:
                notes.append(
                    f"Watchlist {name}: {with_prices} of its {len(tickers)} names "
                    f"{'has' if with_prices == 1 else 'have'} prices for the week, too few for "
                    "the theme's average; left out."
                )
            notes.extend(_missing_notes(closes, lacking, where, week, left_out))
            gaps += _gaps(
                closes,
                week,
                ("sectors", where),
                lacking,
                len(tickers),
                names,
                too_few,
                left_out,
            )
        if wl is not None and not too_few:
            lists[name] = wl
    if not sectors and not inds and not lists:
        return None, lists, tuple(notes), tuple(gaps)
    top = table.leaders
    gics = {s.ticker: s.gics for s in etfs}
    small_caps = drivers_mod.compare_sectors(sectors, gics, attribution, closes, week, config)
    funds = drivers_mod.sector_funds(config)
    priced = _with_week(closes, week)
    unpriced = [t for t in funds.values() if t not in priced]
    notes.extend(
        _missing_notes(closes, unpriced, "the small-cap sector comparison", week, left_out)
    )
    every = list(sectors) + list(inds) + [m for wl in lists.values() for m in wl.members]
    ytd_sorted = sorted(
        (m for m in sectors if m.ytd_rank is not None), key=lambda m: m.ytd_rank or 0
    )
    section = SectorSection(
        sectors=sectors,
        industries=inds,
        leaders=sectors[:top],
        laggards=tuple(reversed(sectors[-top:])) if len(sectors) > top else (),
        ytd_leaders=tuple(ytd_sorted[:top]),
        watchlists=tuple(lists.values()),
        small_caps=small_caps,
        breadth=sectors_mod.compute_breadth(every),
        rank_changes=sectors_mod.rank_changes(sectors, table.rank_shift),
    )
    return section, lists, tuple(notes), tuple(gaps)


def _with_week(closes: pd.DataFrame, week: Week) -> set[str]:
    """Tickers with a close on the base date and the week's last session."""
    rows = closes.loc[closes.index.isin([pd.Timestamp(week.base_date), pd.Timestamp(week.end)])]
    return set(rows.columns[rows.notna().sum() == 2]) if len(rows) == 2 else set()


def _bank_section(
    closes: pd.DataFrame,
    results: Sequence[BankResult],
    config: RecapConfig,
    lists: Mapping[str, Watchlist],
    week: Week,
) -> BankSection | None:
    """The regional banks of the bank watchlist that reported, and the large banks."""
    watch = config.banks.watchlist
    regional = set(config.watchlists.get(watch, ()))
    large_banks = set(config.banks.large)
    by_date = sorted(results, key=lambda r: (r.report_date, r.ticker))
    reported = [dataclasses.replace(r, group="regional") for r in by_date if r.ticker in regional]
    large = [dataclasses.replace(r, group="large") for r in by_date if r.ticker in large_banks]
    if not reported and not large:
        return None
    etf = config.banks.etf
    kre = sectors_mod.period_returns(closes[etf], week) if etf in closes else None
    group = lists.get(watch)
    return banks_mod.summarize(
        watch,
        reported,
        large,
        group.week_return if group else None,
        kre[0] if kre else None,
    )


def _earnings(
    closes: pd.DataFrame, earnings: pd.DataFrame, week: Week, config: RecapConfig
) -> tuple[BankResult, ...]:
    """Every watchlist name and large bank that reported: largest reaction first, then
    those without a reaction, by date. Each is tagged with its first group in config."""
    names = config.names
    group_of: dict[str, str] = {}
    for group, tickers in _groups(config).items():
        for t in tickers:
            group_of.setdefault(t, group)
    found = banks_mod.earnings_results(earnings, closes, week, list(group_of), "", names)
    out = [dataclasses.replace(r, group=group_of[r.ticker]) for r in found]
    return tuple(
        sorted(
            out,
            key=lambda r: (
                r.reaction is None,
                -abs(r.reaction or 0.0),
                r.report_date,
                r.ticker,
            ),
        )
    )


# A cited context note expires this long after its date unless config renews it (a new
# as_of): a 2021 statistic is not repeated every week.
NOTE_LIFE = dt.timedelta(days=365)


def _risk_notes(config: RecapConfig, week: Week) -> tuple[RiskNote, ...]:
    """The cited notes a week may carry: published by its end (a backfilled 2017 week
    cites no 2024 report) and no more than a year old."""
    return tuple(
        RiskNote(text=n.text.strip(), source=n.source.strip(), as_of=n.as_of)
        for n in config.risk_notes
        if n.as_of <= week.end <= n.as_of + NOTE_LIFE
    )


def _risk_section(
    closes: pd.DataFrame,
    week: Week,
    indexes: Sequence[IndexMove],
    config: RecapConfig,
    attribution: Attribution | None,
    lists: Mapping[str, Watchlist],
) -> RiskSection:
    table = config.risks
    window = table.window_sessions
    share_limit, hhi_limit = table.share_threshold, table.hhi_threshold
    ytd = attribution.ytd if attribution else None
    two, share, hhi = attribution_mod.concentration(ytd) if ytd else ((), None, None)
    flagged = (share is not None and share > share_limit) or (hhi is not None and hhi > hhi_limit)
    small = move_for_role(indexes, config, "small")
    large = move_for_role(indexes, config, "large")
    basket_name = table.basket
    basket = lists.get(basket_name)
    bw = basket.week_return if basket else None
    by = basket.ytd_return if basket else None
    semis = table.semis
    diff = risks_mod.difference
    return RiskSection(
        index_label=attribution.index if attribution else (small.label if small else ""),
        concentration_share=share,
        concentration_sectors=two,
        hhi=hhi,
        concentration_flagged=flagged,
        share_threshold=share_limit,
        hhi_threshold=hhi_limit,
        basket=basket_name,
        basket_week=bw,
        basket_ytd=by,
        basket_vs_large_week=diff(bw, large.week_return if large else None),
        basket_vs_small_week=diff(bw, small.week_return if small else None),
        basket_vs_large_ytd=diff(by, large.ytd_return if large else None),
        basket_vs_small_ytd=diff(by, small.ytd_return if small else None),
        correlation_3m=(
            risks_mod.correlation(closes, small.symbol, semis, week, window) if small else None
        ),
        semis_volatility=risks_mod.volatility(closes, semis, week, window),
        market_volatility=(
            risks_mod.volatility(closes, large.symbol, week, window) if large else None
        ),
        notes=_risk_notes(config, week),
    )


def compute_content(
    closes: pd.DataFrame,
    earnings: pd.DataFrame,
    week: Week,
    indexes: Sequence[IndexMove],
    config: RecapConfig,
    holdings: IndexHoldings | None,
    left_out: Collection[str] = (),
    *,
    constituents: pd.DataFrame | None = None,
    heavyweights: Mapping[str, float] | None = None,
) -> Content:
    """Sectors, attribution, banks, risks and the week ahead for one week (closes end at
    week.end; ``constituents``: the closes of the index's own stocks; ``heavyweights``:
    the S&P 500's largest members and their weights, who lead the Week Ahead).

    ``left_out``: tickers the price checks took out; the pipeline names them in the data
    notes, so they are not reported again as missing.
    """
    found = drivers_mod.compute_drivers(closes, constituents, week, indexes, config, holdings)
    sectors, lists, notes, gaps = _sector_section(closes, week, config, found.attribution, left_out)
    notes = found.notes + notes
    earnings = banks_mod.drop_repeats(earnings, config.banks.duplicate_days)
    results = _earnings(closes, earnings, week, config)
    banks = _bank_section(closes, results, config, lists, week)
    risks = _risk_section(closes, week, indexes, config, found.attribution, lists)
    ahead = next_week(week)
    week_ahead = WeekAhead(
        week=ahead,
        earnings=banks_mod.upcoming(earnings, ahead, _groups(config), config.names, heavyweights),
        events=week_events(
            ahead,
            config.events,
            fomc=config.calendar.fomc,
            opex=config.calendar.options_expiration,
        ),
    )
    return Content(
        sectors=sectors,
        attribution=found.attribution,
        market_breadth=found.market_breadth,
        banks=banks,
        risks=risks,
        week_ahead=week_ahead,
        notes=notes,
        earnings=results,
        gaps=gaps,
    )


def content_fields(content: Content) -> dict[str, Any]:
    """The WeeklyRecap fields this module fills."""
    return {
        "sectors": content.sectors,
        "attribution": content.attribution,
        "market_breadth": content.market_breadth,
        "banks": content.banks,
        "risks": content.risks,
        "week_ahead": content.week_ahead,
        "earnings": content.earnings,
        "gaps": content.gaps,
    }


def write_story(
    recap: WeeklyRecap, config: RecapConfig, earlier: Sequence[Sequence[str]] = ()
) -> tuple[str, str, tuple[Any, ...]]:
    """Headline, dek and paragraphs (narrative.py); ``earlier``: the headline options of
    the weeks before, which the headline must not repeat."""
    from recap.narrative import write_story as _write

    return _write(recap, config, earlier)
