"""build_week(): the pipeline from prices to a finished WeeklyRecap and its files.

`recap build`, `recap weekly` and `recap backfill` all build through ``build_week``, from
the data ``sources.opening.open_source`` chose. The steps, in order:
  1. resolve the week (explicit date; else the latest the data holds in full, or for
     Yahoo the latest complete week by the calendar and the clock)
  2. fetch: index history, content tickers, earnings, holdings (one batched call each),
     then check every close read (analytics/quality.py) and reconcile the earnings rows:
     a flagged index stops the build, any other flagged series is left out of every figure;
     offline, the live source gives way to its fallback and the report says so
  3. compute: index moves, small vs large caps, then sectors, banks, risks (sections.py)
  4. narrate: headline, dek and paragraphs from the facts, then check the prose
  5. draw the charts once, render every requested format in memory
  6. write: output.py moves the whole folder into place at the end (the caller's step)
Nothing is written until step 6, so a failure anywhere leaves earlier output untouched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recap import sections
from recap.analytics import quality, splits
from recap.analytics.banks import reconcile_earnings
from recap.analytics.indexes import compute_index_move, compute_small_vs_large, move_for_role
from recap.checker import check_story
from recap.claims import Closes, verify
from recap.config import IndexSpec, RecapConfig
from recap.errors import (
    DataError,
    IncompleteWeekError,
    PriceCheckError,
    RecapError,
    RenderError,
    ShortWeekError,
    SourceError,
    StaleDataError,
    WeekError,
)
from recap.formatting import long_date
from recap.live_names import NameLookup, with_live_names
from recap.model import (
    DataInfo,
    IndexMove,
    MarketFacts,
    MarketMove,
    MissingEarnings,
    PriceFlag,
    SplitEvent,
    Week,
    WeeklyRecap,
    recap_to_dict,
)
from recap.sources.base import PriceSource, aligned, closes_frame, failures_of
from recap.sources.holdings import IndexHoldings
from recap.sources.opening import OpenSource, index_tickers, open_source, resolve_week
from recap.sp500 import compute_sp500_attribution, heavyweights
from recap.weeks import (
    CALENDAR_START,
    latest_complete_week,
    next_week,
    previous_week,
    session_close,
    sessions_between,
    through,
    ytd_base_session,
)

if TYPE_CHECKING:
    from recap.charts import Chart

logger = logging.getLogger(__name__)

FORMATS = ("html", "pdf", "json", "email")
SHOWN_REFUSED = 12  # names a note lists of the constituents that could not be fetched
HEADLINE_MEMORY = 4  # weeks whose headlines a new one must not repeat
# The formats that show the charts as PNG files (charts/); the web page inlines them as
# SVG, and the email has its own PNGs drawn for a phone's width (email/).
PNG_FORMATS = frozenset({"pdf"})
# Enough history before the week for 52-week highs, YTD, 50-day averages, 3-month stats.
CONTENT_LOOKBACK_DAYS = 400
# The constituents' price flags that count: back to the attribution's holdings dates and
# YTD base, and at least this far (50 sessions, for the 50-day average).
CHECKED_DAYS = dt.timedelta(days=75)
# How far back a company's earlier releases are read when a release has no time.
EARNINGS_HISTORY_DAYS = 400
# How long after the week's last close its closes may still be on their way: a build
# before then refuses (IncompleteWeekError, exit 75, so a job retries); one after reports
# the week through the last session the indexes hold, and says so.
DATA_GRACE = dt.timedelta(hours=24)


@dataclass(frozen=True)
class MarketData:
    """The frames a week's recap was computed from (kept for the charts), and what the
    fetch could not get: ticker -> reason, for bars and for earnings, with the notes
    that say so."""

    closes: pd.DataFrame
    earnings: pd.DataFrame
    holdings: IndexHoldings | None
    source: str
    excluded: tuple[PriceFlag, ...] = ()  # series the price checks took out (all flags)
    unfetched: Mapping[str, str] = dataclasses.field(default_factory=dict)
    earnings_missing: Mapping[str, str] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the checks, the reconciliation and the fetch said
    constituents: pd.DataFrame | None = None  # closes of the index's own stocks
    markets: pd.DataFrame | None = None  # [markets] series, each on its own dates
    sp500_holdings: IndexHoldings | None = None  # IVV's dated files (weights by Market Value)
    sp500_constituents: pd.DataFrame | None = None  # closes of the S&P 500's own stocks
    names: NameLookup | None = None  # live: Yahoo's names of the companies a recap shows
    splits: tuple[SplitEvent, ...] = ()  # splits found in the closes: repaired or possible


@dataclass(frozen=True)
class BuiltWeek:
    """A finished recap and its files, in memory, ready to be written."""

    recap: WeeklyRecap
    files: Mapping[str, bytes]


def _pick_symbol(spec: IndexSpec, closes: pd.DataFrame, week_end: dt.date) -> str | None:
    """The index itself when it has the week's last close, else its ETF when that has it,
    else whichever has any data (and then the week's close is missing: stale)."""
    have = [s for s in (spec.symbol, spec.proxy) if s and s in closes and closes[s].notna().any()]
    end = pd.Timestamp(week_end)
    closed = [s for s in have if pd.notna(closes[s].get(end))]
    return next(iter(closed or have), None)


def _proxy_note(
    spec: IndexSpec, symbol: str, closes: pd.DataFrame, week: Week, unfetched: Mapping[str, str]
) -> str:
    """Why the ETF stands in for the index: it was not fetched, has no close for the
    week's end, or is not in the data at all."""
    name = spec.proxy_name
    if spec.symbol in unfetched:
        return (
            f"{name}: {spec.symbol} could not be fetched ({unfetched[spec.symbol]}); "
            f"the {symbol} ETF stands in."
        )
    if spec.symbol in closes and closes[spec.symbol].notna().any():
        return (
            f"{name}: {spec.symbol} has no close for {week.end.isoformat()} in the data; "
            f"the {symbol} ETF stands in."
        )
    return (
        f"{name}: the {symbol} ETF stands in for {spec.symbol}, "
        "which the data source does not carry."
    )


def compute_indexes(
    closes: pd.DataFrame,
    week: Week,
    config: RecapConfig,
    unfetched: Mapping[str, str] | None = None,
) -> tuple[tuple[IndexMove, ...], tuple[str, ...]]:
    """Index table rows, with notes on proxies (why each stands in: ``unfetched`` holds
    the symbols the source could not fetch, with the reason); errors name every missing
    symbol."""
    missing: list[str] = []
    stale: list[str] = []
    picked: list[tuple[IndexSpec, str]] = []
    end = pd.Timestamp(week.end)
    for spec in config.indexes:
        symbol = _pick_symbol(spec, closes, week.end)
        if symbol is None:
            both = " or ".join(s for s in (spec.symbol, spec.proxy) if s)
            missing.append(f"{spec.name} ({both})")
            continue
        value = closes[symbol].get(end)
        if value is None or pd.isna(value):
            stale.append(symbol)
        picked.append((spec, symbol))
    if missing:
        raise DataError("no price data for " + ", ".join(missing))
    if stale:
        raise StaleDataError(
            f"no close on {week.end.isoformat()} (the week's last session) for " + ", ".join(stale)
        )
    moves: list[IndexMove] = []
    notes: list[str] = []
    for spec, symbol in picked:
        is_proxy = symbol != spec.symbol
        name = spec.proxy_label if is_proxy else spec.name
        move = compute_index_move(
            closes[symbol],
            week,
            name=name,
            symbol=symbol,
            index_symbol=spec.symbol,
            short_name=spec.short(is_proxy),
        )
        if is_proxy:
            # The fund is the subject: its own name, and its ticker once.
            full, later = f"the {name} fund ({symbol})", f"the {name} fund"
        else:
            full, later = spec.first_reference, spec.later_reference
        moves.append(dataclasses.replace(move, full_name=full, later_name=later))
        if is_proxy:
            notes.append(_proxy_note(spec, symbol, closes, week, unfetched or {}))
        if moves[-1].record_close is None:
            notes.append(
                f"{moves[-1].label}: history starts {moves[-1].history_start.isoformat()}, "
                "under a year, so no record close is claimed."
            )
    return tuple(moves), tuple(notes)


def _by_reason(reasons: Mapping[str, str]) -> str:
    """{'KRE': 'rate limited', 'XLF': 'rate limited'} -> 'KRE, XLF (rate limited)'."""
    groups: dict[str, list[str]] = {}
    for ticker, reason in reasons.items():
        groups.setdefault(reason, []).append(ticker)
    return "; ".join(f"{', '.join(tickers)} ({reason})" for reason, tickers in groups.items())


def _fetch_notes(
    source: PriceSource,
    indexes: tuple[str, ...],
    unfetched: Mapping[str, str],
    earnings_missing: Mapping[str, str],
    config: RecapConfig,
) -> tuple[str, ...]:
    """What the data notes say of what could not be fetched (an index's own note is
    written where its ETF stands in)."""
    notes: list[str] = []
    others = {t: r for t, r in unfetched.items() if t not in indexes}
    if others:
        notes.append(f"Could not be fetched from the {source.name} source: {_by_reason(others)}.")
    if earnings_missing:
        banks = set(sections.bank_tickers(config)) & set(earnings_missing)
        notes.append(
            f"Earnings dates could not be fetched for {_by_reason(earnings_missing)}, so "
            + ("the bank results and " if banks else "")
            + "next week's reports may be incomplete."
        )
    return tuple(notes)


def fetch_market(
    source: PriceSource,
    config: RecapConfig,
    week: Week,
    holdings: IndexHoldings | None = None,
) -> MarketData:
    """Every frame the week needs, in two batched bar calls and one earnings call.

    Earnings that could not be fetched do not stop the build: the prices carry it, and
    the data notes (and the bank section) say which names are missing and why.
    """
    failures = failures_of(source)
    failures.bars.clear()  # what failed in this fetch, not in an earlier week's
    failures.earnings.clear()
    indexes = index_tickers(config)
    long_history = source.fetch_bars(indexes, dt.date.fromisoformat(CALENDAR_START), week.end)
    missing = [
        f"{spec.name} ({' or '.join(t for t in (spec.symbol, spec.proxy) if t)})"
        for spec in config.indexes
        if spec.symbol not in long_history and spec.proxy not in long_history
    ]
    if missing:
        why = {t: r for t, r in failures.bars.items() if t in indexes}
        raise DataError(
            f"no price data in the {source.name} source for "
            + ", ".join(missing)
            + (f"; could not be fetched: {_by_reason(why)}" if why else "")
        )
    start = week.start - dt.timedelta(days=CONTENT_LOOKBACK_DAYS)
    extra = tuple(t for t in sections.content_tickers(config) if t not in long_history)
    recent = source.fetch_bars(extra, start, week.end) if extra else {}
    closes = closes_frame({**long_history, **recent})
    if closes.empty or closes.index.max() < pd.Timestamp(week.start):
        last = closes.index.max().date().isoformat() if not closes.empty else "nothing"
        raise WeekError(
            f"no data for the week of {week.start.isoformat()} to {week.end.isoformat()} "
            f"in the {source.name} source (its data ends: {last})"
        )
    last = _indexes_through(closes, config, week)
    if last is not None:
        raise ShortWeekError(
            f"no close on {week.end.isoformat()} (the week's last session) for the indexes; "
            f"they end {last.isoformat()}",
            last,
        )
    bars = {**long_history, **recent}
    events = split_events(source, tuple(t for t in bars if not t.startswith("^")), start, week.end)
    closes, excluded, notes, found = screen_prices(bars, closes, week, config, events=events)
    if holdings is None and config.data_dir is not None:
        holdings = holdings_for(config)  # a snapshot's own dated holdings files
    ahead = next_week(week)
    wanted = sections.earnings_tickers(config)
    # The four weeks before this one get their headlines computed too, from these same
    # rows: reach back far enough that each sees what its own build saw (a dateless row
    # is told from a repeat by the report before it, up to duplicate_days earlier).
    since = week.start - dt.timedelta(days=7 * (HEADLINE_MEMORY + 1) + config.banks.duplicate_days)
    earnings = fetch_earnings(source, wanted, since, ahead.end)
    # A left-out bank's release is a figure too (surprise, reaction); next week's dates stay.
    left_out = {f.ticker for f in excluded}
    earnings = earnings.loc[
        ~(earnings["ticker"].isin(left_out) & (earnings["date"] <= pd.Timestamp(week.end)))
    ]
    earnings, earnings_notes = reconcile_earnings(
        earnings, week, ahead.end, sections.display_names(config)
    )
    beyond, beyond_flags, beyond_notes = fetch_beyond(source, config, week)
    excluded += beyond_flags
    notes += beyond_notes
    beyond_tickers = set(_beyond_tickers(config))
    unfetched = {
        t: r for t, r in failures.bars.items() if t in indexes or t in extra or t in beyond_tickers
    }
    earnings_missing = {t: failures.earnings[t] for t in wanted if t in failures.earnings}
    market = MarketData(
        closes=closes,
        earnings=earnings,
        holdings=None,
        source=source.name,
        excluded=excluded,
        unfetched=unfetched,
        earnings_missing=earnings_missing,
        notes=notes
        + earnings_notes
        + _fetch_notes(source, indexes, unfetched, earnings_missing, config),
        markets=beyond,
        splits=found,
    )
    market = add_holdings(market, source, config, week, holdings)
    if config.data_dir is not None:
        market = add_sp500(market, source, config, week, sp500_holdings_for(config))
    return market


def fetch_earnings(
    source: PriceSource, tickers: tuple[str, ...], since: dt.date, end: dt.date
) -> pd.DataFrame:
    """Earnings rows of ``tickers`` in [since, end], and a year of earlier releases of
    those with a row without a time: their earlier times stand in for it (banks.timed).
    What the earlier releases could not be had for is no failure of this week's data."""
    earnings = source.fetch_earnings(tickers, since, end)
    blank = earnings["time"].isna() | (earnings["time"].astype(str).str.strip() == "")
    untimed = tuple(dict.fromkeys(earnings.loc[blank, "ticker"].astype(str)))
    if not untimed:
        return earnings
    failures = failures_of(source)
    kept = dict(failures.earnings)
    try:
        history = source.fetch_earnings(
            untimed, since - dt.timedelta(days=EARNINGS_HISTORY_DAYS), since - dt.timedelta(days=1)
        )
    except SourceError as e:
        logger.info("earlier earnings of %s not fetched: %s", ", ".join(untimed), e)
        history = earnings.iloc[0:0]
    finally:
        failures.earnings.clear()
        failures.earnings.update(kept)
    if history.empty:
        return earnings
    return pd.concat([history, earnings], ignore_index=True)


def _heavy_earnings(
    market: MarketData,
    source: PriceSource,
    config: RecapConfig,
    week: Week,
    holdings: IndexHoldings,
) -> pd.DataFrame:
    """The earnings rows of the S&P 500's largest members that the config's watchlists
    do not already bring, reconciled like those (the Week Ahead lists them first)."""
    have = set(sections.earnings_tickers(config))
    heavy = heavyweights(holdings, week.end, config.sp500_attribution.heavyweights)
    wanted = tuple(t for t in heavy if t not in have)
    if not wanted:
        return market.earnings
    ahead = next_week(week)
    since = week.start - dt.timedelta(days=7 * (HEADLINE_MEMORY + 1) + config.banks.duplicate_days)
    failures = failures_of(source)
    kept = dict(failures.earnings)
    try:
        rows = fetch_earnings(source, wanted, since, ahead.end)
    except SourceError as e:
        logger.warning("earnings of the S&P 500's largest members not fetched: %s", e)
        return market.earnings
    finally:
        failures.earnings.clear()  # the watchlists' failures are the ones the notes tell
        failures.earnings.update(kept)
    rows, _ = reconcile_earnings(rows, week, ahead.end, sections.display_names(config))
    if rows.empty:
        return market.earnings
    return pd.concat([market.earnings, rows], ignore_index=True)


def add_sp500(
    market: MarketData,
    source: PriceSource,
    config: RecapConfig,
    week: Week,
    holdings: IndexHoldings | None,
) -> MarketData:
    """The market data with the S&P 500's holdings and its stocks' closes, from the
    oldest holdings file its periods use to the week's end, checked like every close."""
    from recap.sources.closes import fetch_closes

    if holdings is None or not holdings.files:
        return market
    base = min(week.base_date, ytd_base_session(week))
    used = [h for h in holdings.files if h.as_of <= week.end]
    first = holdings.pick(base) or holdings.files[0]
    files = [h for h in used if h.as_of >= first.as_of] or [first]
    tickers = tuple(dict.fromkeys(t for held in files for t in held.tickers()))
    start = min(base, files[0].as_of) - dt.timedelta(days=7)
    closes = fetch_closes(source, tickers, start, week.end, progress=None)
    checked = min(files[0].as_of, base)
    # the same split handling as the small-cap index's stocks: NVDA, a missed split
    # repaired there, must not reach the S&P 500's attribution unrepaired
    closes, found = _split_screen(
        closes, holdings, source, tickers, start, week.end, config, week, checked
    )
    flagged, notes = screen_constituents(
        closes,
        week,
        config,
        holdings.fund,
        checked,
        possible=splits.possible_flags(found, week.base_date),
    )
    closes = quality.without(closes, {f.ticker for f in flagged})
    known = {(x.ticker, x.date) for x in market.splits}
    new = tuple(x for x in found if (x.ticker, x.date) not in known)
    return dataclasses.replace(
        market,
        earnings=_heavy_earnings(market, source, config, week, holdings),
        sp500_holdings=holdings,
        sp500_constituents=closes,
        notes=market.notes + _constituent_split_notes(new, holdings.fund, week) + notes,
        splits=market.splits + new,
    )


def sp500_holdings_for(config: RecapConfig) -> IndexHoldings | None:
    """The S&P 500 ETF's dated holdings files (weights by Market Value), as holdings_for."""
    from recap.sources.holdings import read_holdings_folder
    from recap.sources.ishares import holdings_folder

    etf = config.sp500_attribution.etf
    if not etf:
        return None
    folder = config.data_dir / "holdings" if config.data_dir else holdings_folder(config)
    files = read_holdings_folder(folder, etf, exact=True)
    return IndexHoldings(fund=etf, files=files) if files else None


def _beyond_tickers(config: RecapConfig) -> tuple[str, ...]:
    from recap.analytics.markets import market_tickers

    return market_tickers(config.markets)


def fetch_beyond(
    source: PriceSource, config: RecapConfig, week: Week
) -> tuple[pd.DataFrame, tuple[PriceFlag, ...], tuple[str, ...]]:
    """The [markets] series in one batched call, each kept on its own dates (apart from
    the stock closes, which hold NYSE sessions only), checked, with a note per series
    the checks left out (its row is then left out, or its proxy stands in)."""
    from recap.analytics import markets as markets_mod

    tickers = markets_mod.market_tickers(config.markets)
    if not tickers:
        return pd.DataFrame(), (), ()
    start = week.start - dt.timedelta(days=CONTENT_LOOKBACK_DAYS)
    _, last_day = markets_mod.window("crypto", week)  # the latest day any series reads
    frame = closes_frame(source.fetch_bars(tickers, start, last_day))
    frame, flags = markets_mod.check_series(frame, config.markets, config.accept)
    notes = tuple(
        f"{t}: its prices failed a check ({f.date.isoformat()}: {f.reason}), so Beyond "
        "stocks does not use them."
        for t, f in {f.ticker: f for f in reversed(flags)}.items()
    )
    return frame, flags, notes


def _indexes_through(closes: pd.DataFrame, config: RecapConfig, week: Week) -> dt.date | None:
    """The last session of the week the indexes (or their ETFs) have closes for, when
    none of them has the week's last session: the data stops short. None when any has
    it (one series missing its last bar is that series' error, which the usual checks
    name), or when an index has no close in the week at all."""
    rows = closes.loc[pd.Timestamp(week.start) : pd.Timestamp(week.end)]  # a label slice
    present = ~np.isnan(rows.to_numpy(dtype="float64"))
    lasts: list[dt.date] = []
    for spec in config.indexes:
        at = rows.columns.get_indexer(pd.Index([s for s in (spec.symbol, spec.proxy) if s]))
        valid = present[:, at[at >= 0]].any(axis=1)
        if not valid.any():
            return None
        lasts.append(rows.index[np.flatnonzero(valid)[-1]].date())
    if not lasts or max(lasts) >= week.end:
        return None
    return min(lasts)


def _split_screen(
    closes: pd.DataFrame,
    holdings: IndexHoldings | None,
    source: PriceSource,
    tickers: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    config: RecapConfig,
    week: Week,
    first: dt.date,
) -> tuple[pd.DataFrame, tuple[SplitEvent, ...]]:
    """An index's constituents' closes with their splits handled, and the splits found.

    Splits first: a certain one is repaired, a possible one in the week is a flag, one
    before it leaves the closes after it. Searched from the checked window on (and the
    sessions before it that tell a step): older history only sets 52-week highs and
    lows, as for the flags, and the search is then a third of the rows.
    """
    found = splits.find_splits(
        closes.loc[pd.Timestamp(first - dt.timedelta(days=10)) :],
        changes=splits.share_changes(holdings.files if holdings else ()),
        events=split_events(source, tickers, start, end),
        declared=config.data.declared_splits,
    )
    # A possible split matters only in a stock the week can price (the snapshot's
    # constituents start in 2024: a week of 2016 has nothing to leave out).
    priced = _priced(closes, week)
    found = tuple(s for s in found if s.repaired or (s.date >= first and s.ticker in priced))
    found = splits.unless_accepted(found, config.accept)
    closes = splits.before_possible(splits.repair_closes(closes, found), found, week.base_date)
    return closes, found


def add_holdings(
    market: MarketData,
    source: PriceSource,
    config: RecapConfig,
    week: Week,
    holdings: IndexHoldings | None,
) -> MarketData:
    """The market data with the holdings, and the closes of the stocks the week's
    attribution and breadth need (from the holdings dates to the week's end), each
    series checked like every other close: a flagged stock is left out (uncovered)."""
    from recap.drivers import needed_files
    from recap.sources.closes import fetch_closes

    files = needed_files(holdings, week)
    if not files:
        return dataclasses.replace(market, holdings=holdings)
    tickers = tuple(dict.fromkeys(t for held in files for t in held.tickers()))
    start = min(week.start - dt.timedelta(days=CONTENT_LOOKBACK_DAYS), files[0].as_of)
    end = max(week.end, files[-1].as_of)
    closes = fetch_closes(source, tickers, start, end, progress=None)
    refused = _refused_note(source, files[0].fund, tickers)
    # A flag counts where the attribution and the 50-day average read: from the holdings
    # dates, the YTD base or 75 days back; older history only sets 52-week highs and lows.
    first = min(files[0].as_of, ytd_base_session(week), week.start - CHECKED_DAYS)
    carried = end if end > week.end else None  # holdings carried back to the week by price
    closes, found = _split_screen(
        closes, holdings, source, tickers, start, end, config, week, first
    )
    flagged, notes = screen_constituents(
        closes,
        week,
        config,
        files[0].fund,
        first,
        carried_from=carried,
        possible=splits.possible_flags(found, week.base_date),
    )
    out = {f.ticker for f in flagged}
    closes = quality.without(closes, out)
    return dataclasses.replace(
        market,
        holdings=holdings,
        constituents=closes,
        excluded=market.excluded + flagged,
        notes=market.notes + refused + _constituent_split_notes(found, files[0].fund, week) + notes,
        splits=market.splits + found,
    )


def _refused_note(source: PriceSource, fund: str, tickers: tuple[str, ...]) -> tuple[str, ...]:
    """A note naming the holdings' stocks the source failed to fetch (still rate limited
    after the retries...): they count as unpriced, so coverage shrinks openly."""
    failures = failures_of(source).bars
    refused = {t: failures[t] for t in tickers if t in failures}
    if not refused:
        return ()
    shown = dict(list(refused.items())[:SHOWN_REFUSED])
    more = len(refused) - len(shown)
    return (
        f"Could not be fetched from the {source.name} source: {len(refused):,} of the {fund} "
        f"holdings' stocks, counted as unpriced in the attribution and breadth "
        f"({_by_reason(shown)}{f'; and {more:,} more' if more else ''}).",
    )


def _priced(closes: pd.DataFrame, week: Week) -> set[str]:
    """Tickers with a close on the week's base date and its last session."""
    at = closes.index.get_indexer(pd.DatetimeIndex([week.base_date, week.end]))
    if (at < 0).any():
        return set()
    both = ~np.isnan(closes.to_numpy(dtype="float64")[at]).any(axis=0)
    return {str(t) for t, ok in zip(closes.columns.tolist(), both.tolist(), strict=True) if ok}


def split_events(
    source: PriceSource, tickers: tuple[str, ...], start: dt.date, end: dt.date
) -> Mapping[str, tuple[tuple[dt.date, float], ...]]:
    """The source's own split events, ticker -> ((date, new shares per old), ...), where it
    has them: a live source may define ``split_events`` (Yahoo's ``actions``); a snapshot
    has none. Evidence for the split checks only, never a reason to adjust by itself."""
    fetch = getattr(source, "split_events", None)
    if fetch is None or not tickers:
        return {}
    events: Mapping[str, tuple[tuple[dt.date, float], ...]] = fetch(tickers, start, end)
    return events


def _constituent_split_notes(
    found: tuple[SplitEvent, ...], fund: str, week: Week
) -> tuple[str, ...]:
    """One note for the constituents' repaired splits, one for possible ones before the
    week (the week's own are flags, in the price-check note's place)."""
    notes = []
    repaired = [s for s in found if s.repaired]
    if repaired:
        listed = "; ".join(splits.repair_note(s, s.ticker) for s in repaired)
        notes.append(f"Splits in the {fund} holdings' stocks: {listed}.")
    earlier = [s for s in found if not s.repaired and s.date <= week.base_date]
    if earlier:
        listed = ", ".join(
            f"{s.ticker} ({splits.ratio_words(s.ratio)}, {long_date(s.date)})" for s in earlier
        )
        notes.append(
            f"Possible splits in the {fund} holdings' stocks, with nothing to confirm them: "
            f"{listed}; their closes before those dates are not used."
        )
    return tuple(notes)


def screen_constituents(
    closes: pd.DataFrame,
    week: Week,
    config: RecapConfig,
    fund: str,
    since: dt.date,
    *,
    carried_from: dt.date | None = None,
    possible: tuple[PriceFlag, ...] = (),
) -> tuple[tuple[PriceFlag, ...], tuple[str, ...]]:
    """The constituents' closes through the same price checks (each series judged on its
    whole history read): the flags dated ``since`` or later of the stocks to take out
    whole (the attribution counts them unpriced), and one note for them.

    ``carried_from``: the date of holdings carried back to the week by price, whose closes
    after the week were read too; the note says so when it shows a flag dated then.
    ``possible``: flags of possible splits in the week (splits.possible_flags), which
    leave their stocks out too, under a note of their own."""
    if closes.empty:
        return (), ()
    sessions = sessions_between(closes.index.min().date(), closes.index.max().date())
    flags = quality.check_prices(closes, None, sessions, (week.base_date, *week.session_dates))
    recent = [flag for flag in (*flags, *possible) if flag.date >= since]
    result = quality.screen(closes, recent, leads=(), accept=config.accept)
    out = tuple(dict.fromkeys(f.ticker for f in result.excluded))
    if not out:
        return (), ()
    guessed = tuple(dict.fromkeys(f.ticker for f in result.excluded if f in possible))
    notes: tuple[str, ...] = ()
    if guessed:
        shown = ", ".join(
            f"{f.ticker} ({f.date.isoformat()})" for f in result.excluded if f in possible
        )
        notes = (
            f"Possible splits left {len(guessed)} of the {fund} holdings' stocks out of the "
            f"attribution and breadth, counted as unpriced: {shown}; the close moved by about "
            "a split ratio and held, with nothing else to confirm a split.",
        )
    out = tuple(t for t in out if t not in guessed)
    if not out:
        return result.excluded, notes
    first = [next(f for f in result.excluded if f.ticker == t) for t in out]
    shown = "; ".join(str(f) for f in first[:3]) + ("; ..." if len(first) > 3 else "")
    note = (
        f"Price checks left {len(out)} of the {fund} holdings' stocks out of the "
        f"attribution and breadth, counted as unpriced ({shown})."
    )
    if carried_from is not None and any(f.date > week.end for f in first[:3]):
        note += (
            " Flags dated after the week are in the closes that carry the holdings of "
            f"{long_date(carried_from)} back to this week."
        )
    for flag in first:
        logger.info("constituent left out: %s", flag)
    return result.excluded, (*notes, note)


def steady_series(config: RecapConfig) -> set[str]:
    """Series that track many stocks: held to an index's steadiness by the price checks."""
    out = set(index_tickers(config))
    out.update(f.ticker for f in (*config.sectors.etfs, *config.sectors.industries))
    out.update((config.banks.etf, config.risks.semis, config.contribution.etf))
    return out - {""}


def _volumes(bars: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    have = {t: b["Volume"] for t, b in bars.items() if b["Volume"].notna().any()}
    return aligned(have) if have else None


def _accept_hint(flag: PriceFlag, fit: float | None = None) -> str:
    """What the log offers for a flag: a [data] splits line when the move fits a split
    ratio (``fit``), never accept; else the accept line."""
    if flag.kind == "not-positive":
        return " (a price is never zero or negative: the source must be fixed)"
    if fit is not None:
        entry = f"{flag.ticker}:{flag.date.isoformat()}:{splits.ratio_entry(fit)}"
        return f' (if it is a {splits.ratio_words(fit)} split, add "{entry}" to [data] splits)'
    return f' (if the price is right, add "{flag.ticker}:{flag.date.isoformat()}" to [data] accept)'


def _fit(flag: PriceFlag, closes: pd.DataFrame) -> float | None:
    """The split ratio the flagged day's move fits, or None (see _accept_hint)."""
    if flag.kind not in ("split", "jump", "bad-print") or flag.ticker not in closes:
        return None
    series = closes[flag.ticker].loc[: pd.Timestamp(flag.date)].dropna()
    if len(series) < 2 or series.index[-1] != pd.Timestamp(flag.date):
        return None
    return splits.split_fit(float(series.iloc[-1] / series.iloc[-2] - 1))


def screen_prices(
    bars: Mapping[str, pd.DataFrame],
    closes: pd.DataFrame,
    week: Week,
    config: RecapConfig,
    *,
    events: Mapping[str, tuple[tuple[dt.date, float], ...]] | None = None,
) -> tuple[pd.DataFrame, tuple[PriceFlag, ...], tuple[str, ...], tuple[SplitEvent, ...]]:
    """Step 2b: repair certain splits, then check every close read; refuse a flagged
    index, leave other flagged series out (returned closes lack them; a possible split
    is a flag in its week and cuts the closes before it later) and say so in the notes."""
    leads = {s for spec in config.indexes if (s := _pick_symbol(spec, closes, week.end))}
    # An index's ETF the report does not use (the index itself has data) is not judged.
    unused = set(index_tickers(config)) - leads - set(sections.content_tickers(config))
    found = splits.find_splits(
        quality.without(closes, unused),
        bars=bars,
        events=events,
        declared=config.data.declared_splits,
    )
    found = splits.unless_accepted(found, config.accept)
    raw = closes
    if found:
        bars = splits.repair_bars(bars, found)
        closes = splits.before_possible(splits.repair_closes(closes, found), found, week.base_date)
    sessions = sessions_between(closes.index.min().date(), closes.index.max().date())
    judged = quality.without(closes, unused)
    flags = quality.check_prices(
        judged,
        _volumes(bars),
        sessions,
        (week.base_date, *week.session_dates),
        funds=steady_series(config),
    )
    flags = tuple(
        sorted(
            {
                *flags,
                *quality.check_ranges(
                    bars,
                    judged.columns,
                    pd.Timestamp(week.start - dt.timedelta(days=CONTENT_LOOKBACK_DAYS)),
                ),
                *splits.possible_flags(found, week.base_date),
            },
            key=lambda f: (f.ticker, f.date, f.kind),
        )
    )
    for flag in flags:
        if quality.is_accepted(flag, config.accept):
            logger.info("price check accepted by [data] accept: %s", flag)
    result = quality.screen(closes, flags, leads=leads, accept=config.accept)
    if result.refused:
        first = result.refused[0]
        name = next(
            (spec.name for spec in config.indexes if first.ticker in (spec.symbol, spec.proxy)),
            first.ticker,
        )
        more = len(result.refused) - 1
        raise PriceCheckError(
            f"{first.ticker} {first.date.isoformat()}: {first.reason}"
            + (f" (and {more} more)" if more else "")
            + f"; the report leads with {name}, so it is not built"
            + _accept_hint(first, _fit(first, raw)),
            result.refused,
        )
    labels = sections.display_names(config)
    notes = [
        splits.repair_note(s, labels.get(s.ticker, s.ticker)) + "."
        for s in found
        if s.repaired and s.ticker in closes
    ]
    notes += [
        f"{_label(s.ticker, labels)}: a possible {splits.ratio_words(s.ratio)} split on "
        f"{long_date(s.date)}, with nothing to confirm it; its closes before then are not used."
        for s in found
        if not s.repaired and s.date <= week.base_date and s.ticker in closes
    ]
    for ticker in dict.fromkeys(f.ticker for f in result.excluded):
        own = [f for f in result.excluded if f.ticker == ticker]
        label = _label(ticker, labels)
        others = f"; {len(own) - 1} more flag(s)" if len(own) > 1 else ""
        guess = next((s for s in found if s.ticker == ticker and s.date == own[0].date), None)
        if own[0].kind == "split" and guess is not None and not guess.repaired:
            notes.append(
                f"{label}: left out of every figure: a possible "
                f"{splits.ratio_words(guess.ratio)} split on {long_date(guess.date)} (the "
                f"close moved {guess.move * 100:+.1f}% and held, with nothing else to confirm "
                f"a split){others}."
            )
        else:
            notes.append(
                f"{label}: left out of every figure, because its prices failed a check "
                f"({own[0].date.isoformat()}: {own[0].reason}{others})."
            )
        logger.warning("%s left out: %s%s", ticker, own[0], _accept_hint(own[0], _fit(own[0], raw)))
    return result.closes, result.excluded, tuple(notes), found


def _label(ticker: str, labels: Mapping[str, str]) -> str:
    return f"{labels[ticker]} ({ticker})" if ticker in labels else ticker


def compute_facts(
    market: MarketData, week: Week, config: RecapConfig, now: dt.datetime
) -> WeeklyRecap:
    """Step 3: every figure of the week, with no prose yet."""
    closes = market.closes.loc[: pd.Timestamp(week.end)]
    indexes, notes = compute_indexes(closes, week, config, market.unfetched)
    s = move_for_role(indexes, config, "small")
    lg = move_for_role(indexes, config, "large")
    small_vs_large = None
    if s and lg:
        small_vs_large = compute_small_vs_large(
            closes[s.symbol],
            closes[lg.symbol],
            week,
            small_symbol=s.symbol,
            large_symbol=lg.symbol,
        )
    left_out = tuple(dict.fromkeys(f.ticker for f in market.excluded))
    banks = sections.bank_tickers(config)
    content = sections.compute_content(
        closes,
        market.earnings,
        week,
        indexes,
        config,
        market.holdings,
        left_out,
        constituents=market.constituents,
        heavyweights=heavyweights(
            market.sp500_holdings, week.end, config.sp500_attribution.heavyweights
        ),
    )
    sp500, sp500_notes = compute_sp500_attribution(
        closes, market.sp500_constituents, week, config, market.sp500_holdings
    )
    beyond, beyond_facts, beyond_notes = _beyond(market, closes, week, config)
    last_bar = closes.index.max().date()
    first_flags = tuple(next(f for f in market.excluded if f.ticker == t) for t in left_out)
    recap = WeeklyRecap(
        week=week,
        generated_at=now.astimezone(dt.UTC).replace(microsecond=0),
        data=DataInfo(
            source=market.source,
            last_bar=last_bar,
            notes=notes + content.notes + sp500_notes + market.notes + beyond_notes,
            excluded=first_flags,
            splits=market.splits,
            earnings_missing=tuple(
                MissingEarnings(ticker=t, reason=r, bank=t in banks)
                for t, r in market.earnings_missing.items()
            ),
        ),
        indexes=indexes,
        small_vs_large=small_vs_large,
        headline="",
        dek="",
        narrative=(),
        **sections.content_fields(content),
        markets=beyond,
        market_facts=beyond_facts,
        sp500_attribution=sp500,
    )
    return recap


def _beyond(
    market: MarketData, closes: pd.DataFrame, week: Week, config: RecapConfig
) -> tuple[tuple[MarketMove, ...], MarketFacts | None, tuple[str, ...]]:
    """Step 3b: the "Beyond stocks" rows, their facts and data notes."""
    if not config.markets.series:
        return (), None, ()
    from recap.analytics.markets import compute_markets

    frame = market.markets if market.markets is not None else pd.DataFrame()
    checked_out = {f.ticker for f in market.excluded}
    return compute_markets(
        frame, closes, week, config.markets, sections.display_names(config), checked_out
    )


def earlier_headlines(
    market: MarketData, week: Week, config: RecapConfig, now: dt.datetime
) -> tuple[tuple[str, ...], ...]:
    """The headline options of the four weeks before ``week``, from their own facts.

    A week's headline is none of these (narrative.write_story), so it never repeats one
    of the four before it. Only the facts are computed, from the frames already fetched
    (the same prices, holdings and earnings those weeks' own builds read, unless a price
    check or an earnings conflict was settled differently since); a week the data cannot
    build is skipped.
    """
    from recap.narrative import options_for

    out: list[tuple[str, ...]] = []
    earlier = week
    for _ in range(HEADLINE_MEMORY):
        earlier = previous_week(earlier)
        try:
            facts = compute_facts(market, earlier, config, now)
        except RecapError:
            continue
        out.append(options_for(facts))
    return tuple(out)


def compute_recap(
    market: MarketData, week: Week, config: RecapConfig, now: dt.datetime
) -> WeeklyRecap:
    """Steps 3 and 4: the facts, then the prose written from them and checked (live,
    with Yahoo's names for the companies the facts show: live_names.py)."""
    from recap import narrative

    recap = compute_facts(market, week, config, now)
    if market.names is not None:
        recap = with_live_names(recap, market.names, config.names)
    earlier = earlier_headlines(market, week, config, now)
    lookup = closes_lookup(market)
    story = narrative.compose(recap, config, earlier, lookup)
    recap = dataclasses.replace(
        recap, headline=story.headline, dek=story.dek, narrative=story.paragraphs
    )
    problems = check_story(recap)
    if problems:
        raise RenderError(
            "the prose contradicts the numbers: " + "; ".join(problems), tuple(problems)
        )
    said = [c for p in recap.narrative for s in p.sentences for c in s.claims]
    checked, mismatches = verify(said, lookup)
    if mismatches:
        raise RenderError(
            "a figure of the prose differs from the data: " + "; ".join(mismatches),
            tuple(mismatches),
        )
    ledger = (
        f"{len(said)} figures in this issue's story, each held to the computed facts; "
        f"{checked} of them recomputed from the closes they name: 0 mismatches."
    )
    notes = (*recap.data.notes, *story.notes, ledger)
    return dataclasses.replace(recap, data=dataclasses.replace(recap.data, notes=notes))


def closes_lookup(market: MarketData) -> Closes:
    """(series, date) -> its close in the data the week was built from, or None."""
    frames = [market.closes]
    for more in (market.constituents, market.sp500_constituents):
        if more is not None:
            frames.append(more)

    def close(series: str, day: dt.date) -> float | None:
        at = pd.Timestamp(day)
        for frame in frames:
            if series in frame.columns:
                value = frame[series].get(at)
                if value is not None and pd.notna(value):
                    return float(value)
        return None

    return close


def render_files(
    recap: WeeklyRecap,
    market: MarketData,
    config: RecapConfig,
    formats: tuple[str, ...],
    *,
    chart_pngs: bool = False,
) -> dict[str, bytes]:
    """Step 5: charts drawn once, then every requested format rendered in memory.

    The page inlines SVG charts; the PDF shows charts/*.png, drawn only for it or when
    ``chart_pngs`` (the blog's images), and the email email/*.png (the phone layout), so
    an html build writes no PNG.
    """
    svg = "html" in formats
    png = chart_pngs or bool(PNG_FORMATS & set(formats))
    # The email's charts, and the PDF's half-width ones, are the phone layout's PNGs.
    phone_png = bool({"email", "pdf"} & set(formats))
    charts: tuple[Chart, ...] = ()
    chart_notes: tuple[str, ...] = ()
    if svg or png or phone_png:
        from recap.charts import draw_charts

        charts, chart_notes = draw_charts(
            recap,
            market.closes,
            config,
            svg=svg,
            png=png,
            phone_png=phone_png,
            markets=market.markets,
        )
    return render_drawn(recap, charts, chart_notes, config, formats)


def render_drawn(
    recap: WeeklyRecap,
    charts: tuple[Chart, ...],
    chart_notes: tuple[str, ...],
    config: RecapConfig,
    formats: tuple[str, ...],
) -> dict[str, bytes]:
    """Step 5b: the requested formats from charts already drawn; the charts' data notes
    join the recap's, and each chart drawn as PNG is written as charts/<name>.png."""
    files: dict[str, bytes] = {}
    if "json" in formats:
        try:
            text = json.dumps(recap_to_dict(recap), indent=2, ensure_ascii=False, allow_nan=False)
        except ValueError as e:  # a NaN or infinity slipped through: never publish it
            raise RenderError(f"recap.json: a figure is not a finite number ({e})") from None
        files["recap.json"] = (text + "\n").encode()
    if chart_notes:
        recap = dataclasses.replace(
            recap, data=dataclasses.replace(recap.data, notes=recap.data.notes + chart_notes)
        )
    # The phone layout's 8-bit PNGs: the email's charts, and the PDF's half-width ones
    # (written out only with the email; the PDF embeds what it uses).
    phone = {f"email/{c.name}.png": c.png_phone for c in charts if c.png_phone}
    for chart in charts:
        if chart.png:
            files[f"charts/{chart.name}.png"] = chart.png
    if "email" in formats:
        files.update(phone)
    if any(c.png for c in charts):  # their titles and alt text, for the blog post
        files["charts/charts.json"] = chart_index(charts)
    if not set(formats) & {"html", "pdf", "email"}:
        return files
    from recap import render

    if "html" in formats:
        files["recap.html"] = render.render_html(recap, charts, config).encode()
    if "pdf" in formats:
        from recap.pdf import html_to_pdf

        html = render.render_html(recap, charts, config, for_print=True)
        files["recap.pdf"] = html_to_pdf(html, files | phone)
    if "email" in formats:
        files["email.html"] = render.render_email_html(recap, charts, config).encode()
        files["email.txt"] = render.render_text(recap, config).encode()
    return files


def chart_index(charts: tuple[Chart, ...]) -> bytes:
    """charts/charts.json: each chart's name, title and alt text (the blog post's alt text)."""
    rows = [{"name": c.name, "title": c.title, "alt": c.alt} for c in charts]
    return (json.dumps(rows, indent=2, ensure_ascii=False) + "\n").encode()


def parse_formats(value: str) -> tuple[str, ...]:
    """'html,pdf' -> ('html', 'pdf'); unknown names are an error naming them."""
    names = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise WeekError(
            f"unknown format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}"
        )
    return names


def _offline_note(source: str, week: Week, week_date: dt.date | None, now: dt.datetime) -> str:
    """What the report says when Yahoo was unreachable and the build fell back."""
    if source == "sample":
        return "Yahoo Finance could not be reached and the local store holds no index prices."
    note = "Yahoo Finance could not be reached; built from the local store"
    latest = latest_complete_week(now)
    if week_date is None and week.end < latest.end:
        note += (
            f", whose latest full week ends {week.end.isoformat()}, older than the latest "
            f"complete week (ending {latest.end.isoformat()})"
        )
    return note + "."


def gather_market(
    opened: OpenSource, config: RecapConfig, week_date: dt.date | None, now: dt.datetime
) -> tuple[Week, MarketData]:
    """Steps 1-2: the week and its data, from the source open_source chose or, when that
    cannot be reached, from its fallback (the store, or sample data), with a note."""
    try:
        week = resolve_week(opened.source, config, week_date, now)
        week, market = _fetch_week(opened.source, config, week, now)
    except SourceError as e:
        if not e.offline or opened.offline is None:
            raise
        fallback = opened.offline(week_date)
        week = resolve_week(fallback.source, config, week_date, now)
        note = _offline_note(fallback.source.name, week, week_date, now)
        detail = str(e).removeprefix("Yahoo Finance could not be reached: ")
        logger.warning("%s (%s)", note, detail)
        week, market = _fetch_week(fallback.source, config, week, now)
        market = dataclasses.replace(market, notes=(note, *market.notes))
        return week, _with_holdings(fallback, config, week, market, now)
    return week, _with_holdings(opened, config, week, market, now)


def _fetch_week(
    source: PriceSource, config: RecapConfig, week: Week, now: dt.datetime
) -> tuple[Week, MarketData]:
    """fetch_market, and for a week whose last session the indexes lack: a refusal soon
    after its close (the data may be on its way), else the week through the last session
    they hold, with a note."""
    try:
        return week, fetch_market(source, config, week)
    except ShortWeekError as e:
        last: dt.date = e.last  # type: ignore[assignment]
        missing = [d for d in week.session_dates if d > last]
        wait_until = session_close(week.end) + DATA_GRACE
        if now < wait_until:
            raise IncompleteWeekError(
                f"the week ending {week.end.isoformat()} is not complete in the {source.name} "
                f"source yet: the indexes' closes end {last.isoformat()}, without "
                f"{', '.join(f'{d:%A}' for d in missing)}'s; try again later (after "
                f"{wait_until.isoformat(timespec='minutes')} the week is built through "
                f"{last:%A}'s close)"
            ) from None
    short = through(week, last)
    market = fetch_market(source, config, short)
    note = (
        f"The week is reported through {last:%A}'s close ({long_date(last)}): the data "
        f"holds no close for {', '.join(f'{d:%A}, {long_date(d)}' for d in missing)} for "
        "the indexes."
    )
    logger.warning("%s", note)
    return short, dataclasses.replace(market, notes=(note, *market.notes))


def _with_holdings(
    opened: OpenSource, config: RecapConfig, week: Week, market: MarketData, now: dt.datetime
) -> MarketData:
    """Holdings for a source without its own holdings files. Live: today's iShares file
    joins those stored by earlier runs, and without any, the fund's sector weights from
    Yahoo (for the estimate). The store alone: the stored files. Sample data: none."""
    etf = config.contribution.etf
    if market.holdings is not None or not etf or market.source == "sample":
        return market
    if opened.sector_weights is not None:
        # Asked only once the prices came: offline, the bars say so first and clearly.
        from recap.sources.ishares import refresh_holdings

        said: list[str] = []
        held = refresh_holdings(config, notes=said)
        market = dataclasses.replace(market, notes=market.notes + tuple(said))
        if held is None:
            weights = opened.sector_weights(etf, now.date())
            note = () if weights else (f"Yahoo Finance returned no sector weights for {etf}.",)
            market = dataclasses.replace(market, notes=market.notes + note)
            held = IndexHoldings(fund=etf, weights=weights) if weights else None
    else:
        held = holdings_for(config)
    market = add_holdings(market, opened.source, config, week, held)
    return add_sp500(market, opened.source, config, week, _sp500_live(opened, config))


def _sp500_live(opened: OpenSource, config: RecapConfig) -> IndexHoldings | None:
    """Live: today's IVV file joins those stored by earlier runs; else the stored files."""
    c = config.sp500_attribution
    if opened.sector_weights is None or not c.etf:
        return sp500_holdings_for(config)
    from recap.sources.ishares import refresh_fund

    return refresh_fund(config, c.etf, c.holdings_url, c.timeout_seconds, exact=True)


def build_week(
    opened: OpenSource,
    config: RecapConfig,
    *,
    week_date: dt.date | None,
    now: dt.datetime,
    formats: tuple[str, ...] = FORMATS,
    chart_pngs: bool = False,
) -> BuiltWeek:
    """Steps 1-5: a finished week in memory. Writing it is output.write_week's job.

    ``opened`` is what ``open_source(config, now)`` chose; ``week_date`` None means the
    latest complete week (see ``resolve_week``). ``chart_pngs``: charts/*.png even when
    no format shows them (a week about to be published: the blog post's images).
    """
    week, market = gather_market(opened, config, week_date, now)
    if opened.names is not None and market.source == opened.source.name:
        # Yahoo's names only when the build did not fall back to another source.
        market = dataclasses.replace(market, names=opened.names)
    recap = compute_recap(market, week, config, now)
    files = render_files(recap, market, config, formats, chart_pngs=chart_pngs)
    return BuiltWeek(recap=recap, files=files)


def holdings_for(config: RecapConfig) -> IndexHoldings | None:
    """The index ETF's dated holdings files, oldest first: a snapshot's holdings/ folder,
    or the ones earlier live runs downloaded into the cache folder. Each period of the
    attribution picks the latest on or before its base date (else the earliest), so a
    week never uses holdings published after it."""
    from recap.sources.holdings import read_holdings_folder
    from recap.sources.ishares import holdings_folder

    etf = config.contribution.etf
    if not etf:
        return None
    folder = config.data_dir / "holdings" if config.data_dir else holdings_folder(config)
    files = read_holdings_folder(folder, etf)
    return IndexHoldings(fund=etf, files=files) if files else None


__all__ = [
    "FORMATS",
    "BuiltWeek",
    "MarketData",
    "build_week",
    "compute_facts",
    "compute_recap",
    "earlier_headlines",
    "fetch_market",
    "add_holdings",
    "add_sp500",
    "gather_market",
    "holdings_for",
    "sp500_holdings_for",
    "open_source",
    "parse_formats",
    "render_drawn",
    "render_files",
    "steady_series",
]


def save_snapshot(
    config: RecapConfig, start: dt.date, end: dt.date, out: Path, now: dt.datetime
) -> tuple[Path, int]:
    """Save every ticker the recap uses, in the snapshot layout (recap snapshot)."""
    from recap.analytics.markets import market_tickers
    from recap.sources.export import export_snapshot

    tickers = tuple(
        dict.fromkeys(
            index_tickers(config)
            + sections.content_tickers(config)
            + market_tickers(config.markets)
        )
    )
    folder = export_snapshot(open_source(config, now).source, tickers, start, end, out)
    return folder, sum(1 for _ in (folder / "prices").glob("*.csv"))
