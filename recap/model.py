"""The immutable model passed along the pipeline: one WeeklyRecap per week.

Every figure the reports show lives here, computed once. Returns are unrounded
fractions (0.0213 is +2.13%); formatting happens only in the template filters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, is_dataclass
from types import GeneratorType
from typing import Any

from recap.claims import Claim

SCHEMA_VERSION = 1


def _help(text: str, **default: Any) -> Any:
    """A documented field; ``default=`` for fields added after a record's first version."""
    return field(metadata={"help": text}, **default)


@dataclass(frozen=True)
class _Record:
    """Base of the model's records: a list or generator given to a field becomes a tuple,
    so a record stays immutable and hashable however it was built."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list | GeneratorType):
                object.__setattr__(self, f.name, tuple(value))


@dataclass(frozen=True)
class Week(_Record):
    """One NYSE trading week."""

    start: dt.date = _help("First session of the week")
    end: dt.date = _help("Last session of the week; the output folder is named after it")
    sessions: int = _help("Number of sessions in the week")
    base_date: dt.date = _help("Last session before the week: the base of week returns")
    session_dates: tuple[dt.date, ...] = _help("Every session of the week, in order")
    early_closes: tuple[dt.date, ...] = _help("Sessions of the week that closed early")
    holidays: tuple[dt.date, ...] = _help("Weekdays of the week on which the exchange was shut")
    missing_sessions: tuple[dt.date, ...] = _help(
        "Sessions of the calendar week after ``end`` that the data does not hold: the week "
        "is reported through ``end`` (Thursday's close for a week missing its Friday); "
        "empty for a complete week",
        default=(),
    )


@dataclass(frozen=True)
class DayMove:
    """One session of the week for one index: its close and its move from the session before."""

    date: dt.date = _help("The session")
    close: float = _help("Its close")
    day_return: float = _help("close / previous session's close - 1")
    points: float = _help("close - previous session's close, in index points")


@dataclass(frozen=True)
class IndexMove:
    """How one index (or its ETF proxy) moved over the week."""

    name: str = _help("Name of what the numbers track, e.g. 'Nasdaq-100' for QQQ")
    short_name: str = _help("Short name for tight places and later references, e.g. 'Dow'")
    symbol: str = _help("Symbol whose closes were used, e.g. '^RUT' or 'IWM'")
    index_symbol: str = _help("The index's own Yahoo symbol, e.g. '^RUT'")
    is_proxy: bool = _help("True when an ETF stood in for the index")
    close: float = _help("Close on the week's last session")
    week_return: float = _help("close(end) / close(base_date) - 1")
    ytd_return: float | None = _help("close(end) / close(last session of prior year) - 1")
    ytd_base_date: dt.date | None = _help("Session whose close is the YTD base")
    high_52w: float = _help("Highest close in the 52 weeks to the week's end")
    pct_below_52w_high: float = _help("1 - close / high_52w; 0.0 at a 52-week closing high")
    record_close: bool | None = _help(
        "Close above every earlier close held; None when under a year of history"
    )
    record_sessions: tuple[dt.date, ...] = _help("Sessions of the week that set a record close")
    history_start: dt.date = _help("First date of the history the source holds")
    full_name: str = _help(
        "How the prose names it at first reference: 'the Dow Jones Industrial Average', or "
        "for a fund standing in, 'the iShares Russell 2000 ETF (IWM)'",
        default="",
    )
    later_name: str = _help("How the prose names it after that: 'the Dow'", default="")
    record_streak: int = _help(
        "Consecutive record closes ending on the week's last session", default=0
    )
    milestone: float | None = _help(
        "Highest round level first closed above this week (a multiple of half the leading "
        "power of ten: 45,000 and 50,000 for the Dow); None for a proxy or without a record",
        default=None,
    )
    milestone_on: dt.date | None = _help(
        "Session that first closed above the milestone", default=None
    )
    larger_move_on: dt.date | None = _help(
        "Last session of the latest earlier week with a move at least as large in the same "
        "direction; None when the history holds none",
        default=None,
    )
    weeks_since_larger: int = _help(
        "Weeks back to that week (the weeks of history when there is none)", default=0
    )
    base_close: float | None = _help(
        "Close on the session before the week (week.base_date): the base of the week's move",
        default=None,
    )
    points: float | None = _help(
        "The week's move in index points: close - base_close", default=None
    )
    days: tuple[DayMove, ...] = _help("Each session of the week, in order", default=())
    big_day: DayMove | None = _help(
        "The session of the week with the largest move either way", default=None
    )
    larger_day_on: dt.date | None = _help(
        "The latest earlier session with a daily move at least as large as big_day's in the "
        "same direction; None when the history holds none",
        default=None,
    )
    sessions_since_larger_day: int = _help(
        "Sessions back to that session (the sessions of history when there is none)", default=0
    )
    week_streak: int = _help(
        "Consecutive weeks, ending this one, that the index rose (positive) or fell (negative)",
        default=0,
    )
    snapped_streak: int = _help(
        "The streak of weeks the other way that this week ended (signed), 0 when none",
        default=0,
    )
    prior_below_52w_high: float | None = _help(
        "pct_below_52w_high at the end of the week before: whether a pullback, correction or "
        "bear market began or ended this week",
        default=None,
    )

    @property
    def label(self) -> str:
        """'Russell 2000 (IWM)' for a proxy, 'S&P 500' for the index itself."""
        return f"{self.name} ({self.symbol})" if self.is_proxy else self.name

    @property
    def tick(self) -> str:
        """The ticker shown beside the name: the ETF's for a proxy; none for an index,
        whose Yahoo symbol ('^GSPC') is no name a reader looks up."""
        return "" if self.symbol.startswith("^") else self.symbol

    @property
    def short_label(self) -> str:
        """'Nasdaq-100 (QQQ)' for a proxy, 'Dow' for the index itself."""
        return f"{self.short_name} ({self.symbol})" if self.is_proxy else self.short_name


@dataclass(frozen=True)
class SmallVsLarge:
    """Small caps against large caps: the Russell 2000's week return minus the S&P 500's."""

    small_symbol: str = _help("Symbol used for small caps")
    large_symbol: str = _help("Symbol used for large caps")
    spread: float = _help("Small-cap week return minus large-cap week return")
    positive_streak_weeks: int = _help(
        "Consecutive weeks, ending this one, in which the spread was positive (0 if not)"
    )
    wider_on: dt.date | None = _help(
        "Last session of the latest earlier week with a spread at least as wide in the same "
        "direction; None when the history holds none",
        default=None,
    )
    weeks_since_wider: int = _help(
        "Weeks back to that week (the weeks of history when there is none)", default=0
    )


@dataclass(frozen=True)
class PriceFlag:
    """A close the price checks found implausible (recap/analytics/quality.py)."""

    ticker: str = _help("Symbol of the series")
    date: dt.date = _help("Session of the implausible close (the first one, for a run)")
    kind: str = _help(
        "'not-positive', 'non-session', 'gap', 'stale', 'bad-print', 'split', 'jump' or "
        "'range' (the close outside the day's high-low range)"
    )
    reason: str = _help("What was found, in a sentence, e.g. 'close -5 is not a positive price'")

    def __str__(self) -> str:
        return f"{self.ticker} {self.date.isoformat()}: {self.reason}"


@dataclass(frozen=True)
class SplitEvent:
    """A stock split found in a series' closes (recap/analytics/splits.py): repaired when
    certain, else the series is left out where a figure would span it."""

    ticker: str = _help("Symbol of the series")
    date: dt.date = _help("First session at the new price level")
    ratio: float = _help("New shares per old share: 10.0 for a 10-for-1 split, 0.2 for 1-for-5")
    move: float = _help("The close's move that day as the source gave it, e.g. -0.9 for -90%")
    repaired: bool = _help(
        "True when certain (the ratio and a second sign, or declared in [data] splits): "
        "prices before the date were divided by the ratio; False for a possible split"
    )
    evidence: tuple[str, ...] = _help(
        "What confirmed it: 'volume', 'range' (the close outside the day's high-low range), "
        "'holdings' (share counts), 'event' (the source's split events), 'declared'"
    )


@dataclass(frozen=True)
class MissingEarnings:
    """A name whose earnings dates could not be fetched: the report may miss its release."""

    ticker: str = _help("Symbol")
    reason: str = _help("Why, e.g. 'rate limited'")
    bank: bool = _help("True for a regional or large bank (the bank section names it)")


@dataclass(frozen=True)
class DataInfo(_Record):
    """Where the numbers came from."""

    source: str = _help("'yahoo', 'snapshot', 'store' or 'sample'")
    last_bar: dt.date = _help("Latest session with a bar among the tickers used")
    notes: tuple[str, ...] = _help("Data notes shown in the report: proxies, gaps, missing tickers")
    excluded: tuple[PriceFlag, ...] = field(
        default=(),
        metadata={
            "help": "Series left out of every figure because their prices failed the checks "
            "(the first flag of each); the data notes name them too"
        },
    )
    earnings_missing: tuple[MissingEarnings, ...] = field(
        default=(),
        metadata={
            "help": "Watchlist names and large banks whose earnings dates could not be fetched"
        },
    )
    splits: tuple[SplitEvent, ...] = _help(
        "Splits found in the closes read: repaired ones, and possible ones left out",
        default=(),
    )

    @property
    def is_sample(self) -> bool:
        """True when built from generated sample data, which must never be delivered."""
        return self.source == "sample"


@dataclass(frozen=True)
class Sentence:
    """One sentence of the prose and the claims (figures) it states."""

    text: str = _help("The sentence as printed")
    claims: tuple[Claim, ...] = _help("The figures it states, with their provenance")
    plain: bool = _help(
        "True when its first wording failed the checks and it is said plainly", default=False
    )


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of prose, tagged with the report section it belongs to."""

    section: str = _help("Section key, e.g. 'indexes', 'sectors', 'banks', 'conclusion'")
    text: str = _help("The paragraph as plain text")
    sentences: tuple[Sentence, ...] = _help("Its sentences, with their claims", default=())


@dataclass(frozen=True)
class SectorMove:
    """One sector ETF, industry ETF or watchlist stock over the week."""

    ticker: str = _help("Symbol, e.g. 'XLK'")
    name: str = _help("Display name, e.g. 'Technology'")
    group: str = _help("'sector', 'industry', or the watchlist's name")
    close: float = _help("Close on the week's last session")
    week_return: float = _help("close(end) / close(base_date) - 1")
    ytd_return: float | None = _help("Return since the prior year's last close; None if not held")
    week_rank: int = _help("1 = best week within its group")
    ytd_rank: int | None = _help("1 = best YTD within its group; None without a YTD return")
    above_50d: bool | None = _help("Close above its 50-session average; None under 50 sessions")
    through: dt.date | None = _help(
        "The series' own last close of the week when it lacks the week's last session(s): "
        "close and returns are to that date (the table says 'to Wed'); None for the full week",
        default=None,
    )


@dataclass(frozen=True)
class Watchlist(_Record):
    """A named basket (theme) from config, e.g. 'AI hardware', with its movers."""

    name: str = _help("Watchlist name from config")
    members: tuple[SectorMove, ...] = _help("Members with data, best week first")
    week_return: float = _help("Equal-weighted average week return of the members")
    ytd_return: float | None = _help("Equal-weighted average YTD return (None if any lacks it)")
    leaders: tuple[str, ...] = _help("Tickers of the top movers (up to three)")
    laggards: tuple[str, ...] = _help("Tickers of the bottom movers (up to three)")
    missing: tuple[str, ...] = _help("Members without data for the week (listed in data notes)")


def _json(name: str, text: str) -> Any:
    """A field whose recap.json key differs from its Python name ('return' is a keyword)."""
    return field(metadata={"help": text, "json": name})


@dataclass(frozen=True)
class SectorContribution:
    """One sector of an index: its weight, its own return, and what it added to the index."""

    sector: str = _help("Sector, as the holdings file names it (GICS)")
    weight: float = _help("The sector's weight in the index at the period's base date (fraction)")
    sector_return: float | None = _json(
        "return",
        "Cap-weighted return of the sector's priced stocks (or its small-cap fund, for an "
        "estimate); None when it has none",
    )
    contribution: float | None = _help(
        "Points the sector added to the index's return (fraction): sum of weight x return "
        "over its priced stocks; None when it has none"
    )


@dataclass(frozen=True)
class StockContribution:
    """One constituent's part in an index's move."""

    ticker: str = _help("Yahoo symbol")
    name: str = _help("Company name")
    sector: str = _help("Sector, as the holdings file names it")
    weight: float = _help("Weight in the index at the period's base date (drifted by price)")
    stock_return: float = _json("return", "The stock's return over the period")
    contribution: float = _help("weight x return: points added to the index's return (fraction)")


@dataclass(frozen=True)
class PeriodAttribution(_Record):
    """Where an index's move over one period (the week, or the year to date) came from."""

    holdings_as_of: dt.date | None = _help(
        "As-of date of the holdings file used (the latest on or before base_date, else the "
        "earliest); None for an estimate from sector weights without a date"
    )
    base_date: dt.date = _help("Session whose close is the base of the period's returns")
    index_return: float | None = _help(
        "Return of the index ETF (the fund) over the period: what the contributions add up to"
    )
    contributions_total: float = _help("Sum of the contributions of every priced stock (fraction)")
    residual: float | None = _help("index_return minus contributions_total")
    coverage: float = _help("Share of the index's weight whose return is known (0 to 1)")
    sectors: tuple[SectorContribution, ...] = _help("By sector, largest contribution first")
    top: tuple[StockContribution, ...] = _help("The ten largest contributors, largest first")
    bottom: tuple[StockContribution, ...] = _help("The ten largest detractors, worst first")


@dataclass(frozen=True)
class Attribution(_Record):
    """Which sectors and stocks drove the small-cap index, for the week and the year."""

    index: str = _help("The index whose move is broken down, e.g. 'Russell 2000'")
    fund: str = _help("The ETF whose holdings give the weights, e.g. 'IWM'")
    method: str = _help(
        "'constituents' (each holding's drifted weight x its own return) or 'estimate' "
        "(sector weight x the small-cap sector fund's return)"
    )
    week: PeriodAttribution | None = _help("The week, from the close of week.base_date")
    ytd: PeriodAttribution | None = _help("The year to date, from the prior year's last close")


@dataclass(frozen=True)
class SectorPoints(SectorContribution):
    """A sector's part in an index's move, also in index points (the S&P 500's)."""

    points: float | None = _help(
        "The contribution in index points: each sub-period's contribution x the index's "
        "level at its start, summed (None when the sector has no priced stock)",
        default=None,
    )


@dataclass(frozen=True)
class StockPoints(StockContribution):
    """A constituent's part in an index's move, also in index points (the S&P 500's)."""

    points: float = _help(
        "The contribution in index points: each sub-period's contribution x the index's "
        "level at its start, summed",
        default=0.0,
    )


@dataclass(frozen=True)
class PeriodPoints(PeriodAttribution):
    """A period's attribution with index points; sectors are SectorPoints and top and
    bottom StockPoints. Over several holdings files it is chain-linked: each sub-period
    uses the file current at its start, and its contributions in points (contribution x
    the index's level at the sub-period's start) add up across sub-periods."""

    base_level: float = _help("The index's level at base_date", default=0.0)
    index_points: float = _help(
        "The index's move over the period in points (its level at the end minus base_level)",
        default=0.0,
    )
    contributions_points: float = _help("Sum of the contributions in index points", default=0.0)
    residual_points: float = _help(
        "index_points minus contributions_points (about the dividends the constituents' "
        "closes include and the index does not, plus unpriced names)",
        default=0.0,
    )
    linked_at: tuple[dt.date, ...] = _help(
        "Sessions at which the period is chain-linked to a later holdings file; empty when "
        "one file covers it",
        default=(),
    )


@dataclass(frozen=True)
class IndexAttribution(Attribution):
    """Attribution of an index's move in points (the S&P 500): week and ytd are
    PeriodPoints, or None when their coverage is below the gate (no figures then)."""

    min_coverage: float = _help(
        "The coverage gate: a period whose priced share of the weight is below it gives no figures",
        default=0.0,
    )
    week_coverage: float | None = _help(
        "The week's priced share of the weight (also when below the gate); None without "
        "holdings for it",
        default=None,
    )
    ytd_coverage: float | None = _help(
        "The year to date's priced share of the weight, the lowest of its linked "
        "sub-periods (also when below the gate); None without holdings for it",
        default=None,
    )


@dataclass(frozen=True)
class MarketBreadth:
    """How the index's own stocks moved on the week."""

    universe: str = _help("Which stocks, e.g. 'Russell 2000 stocks (IWM holdings of 2025-11-05)'")
    names: int = _help("Stocks with a close on the base date and the week's last session")
    advancers: int = _help("Stocks up on the week")
    decliners: int = _help("Stocks down on the week")
    unchanged: int = _help("Stocks whose week return rounds to 0.00%")
    above_50d: int = _help("Stocks closing above their 50-session average")
    with_50d: int = _help("Stocks with 50 sessions of history (the base of above_50d)")
    new_highs_52w: int = _help(
        "Stocks that closed above every close of the prior 52 weeks on a session of the week "
        "(counted only with a year of history)"
    )
    new_lows_52w: int = _help("Stocks that closed below every close of the prior 52 weeks")


@dataclass(frozen=True)
class SectorComparison:
    """One sector's week and year in large caps (Select Sector SPDR) and small caps."""

    sector: str = _help("GICS sector")
    large_ticker: str = _help("The large-cap sector fund, e.g. 'XLK' ('' when none)")
    large_week: float | None = _help("Its week return")
    large_ytd: float | None = _help("Its YTD return")
    small_week: float | None = _help("Cap-weighted week return of the index's own stocks in it")
    small_ytd: float | None = _help("Cap-weighted YTD return of the index's own stocks in it")
    fund_ticker: str = _help("The small-cap sector fund, e.g. 'PSCT' ('' when none)")
    fund_week: float | None = _help("Its week return")
    fund_ytd: float | None = _help("Its YTD return")


@dataclass(frozen=True)
class Breadth:
    """How many names of the universe rose and fell on the week."""

    names: int = _help(
        "Sector funds, industry funds and watchlist stocks tracked here with data for the week"
    )
    advancers: int = _help("Names up on the week")
    decliners: int = _help("Names down on the week")
    unchanged: int = _help("Names flat on the week")
    above_50d: int = _help("Names closing above their 50-session average")
    with_50d: int = _help("Names with 50 sessions of history (the base of above_50d)")


@dataclass(frozen=True)
class SectorSection(_Record):
    """Sector Highlights and Drivers."""

    sectors: tuple[SectorMove, ...] = _help("The sector ETFs, best week first")
    industries: tuple[SectorMove, ...] = _help("The industry ETFs, best week first")
    leaders: tuple[SectorMove, ...] = _help("Top three sectors on the week")
    laggards: tuple[SectorMove, ...] = _help("Bottom three sectors on the week, worst first")
    ytd_leaders: tuple[SectorMove, ...] = _help("Top three sectors year to date")
    watchlists: tuple[Watchlist, ...] = _help("Themes from config, in config order")
    small_caps: tuple[SectorComparison, ...] = _help(
        "Each sector in large caps and in small caps (the index's stocks, its sector fund)"
    )
    breadth: Breadth | None = _help("Advancers and decliners among the funds and watchlists")
    rank_changes: tuple[tuple[str, int, int], ...] = _help(
        "(ticker, ytd_rank, week_rank) for sectors whose week rank differs from YTD by 5+"
    )


@dataclass(frozen=True)
class BankResult:
    """One company's earnings release in the week (a bank, or any watchlist name) and how
    the stock reacted."""

    ticker: str = _help("Symbol")
    name: str = _help("Company name")
    group: str = _help("'regional' or 'large'")
    report_date: dt.date = _help("Date of the release")
    release_time: str = _help(
        "'before the open', 'after the close', 'during the session' or 'time unknown' "
        "(the reaction then assumes before the open, and the text says so)"
    )
    eps_estimate: float | None = _help("Consensus EPS estimate")
    eps_actual: float | None = _help("Reported EPS")
    surprise: float | None = _help("(actual - estimate) / |estimate|, fraction")
    outcome: str = _help(
        "'beat' or 'miss' (by at least a cent), 'in line' (equal to the cent), 'no estimate', "
        "or 'not reported' (the data holds the date, not the figures)"
    )
    reaction: float | None = _help("Close-to-close move around the release; None if pending")
    reaction_from: dt.date | None = _help("Session whose close is the reaction's base")
    reaction_to: dt.date | None = _help("Session whose close ends the reaction")
    reaction_pending: bool = _help("True when the reaction falls after the week's last bar")
    week_return: float | None = _help("The stock's week return")
    time_inferred: bool = _help(
        "True when the data gives no release time and release_time is inferred from the "
        "company's earlier releases in the data (the text says so)",
        default=False,
    )
    surprise_nm: bool = _help(
        "True when the estimate is under $0.05 either way: a percentage surprise on it means "
        "nothing, so tables print 'n/m' (surprise keeps the number)",
        default=False,
    )


EarningsResult = BankResult


@dataclass(frozen=True)
class Gap(_Record):
    """A part of the report with no data for the week, said where the reader would look."""

    section: str = _help("Section key of the prose that says so: 'sectors', 'banks', 'risks'")
    subject: str = _help("What is missing, e.g. 'the AI hardware watchlist', 'industry funds'")
    tickers: tuple[str, ...] = _help("The tickers without the week's closes")
    names: tuple[str, ...] = _help("Their display names, same order")
    members: int = _help("How many names the subject has in config")
    left_out: bool = _help("True when the subject is left out whole (too few names with data)")
    starts: dt.date | None = _help(
        "When every missing series starts after the week's base date: the earliest first date "
        "(none of them has a price before it)"
    )
    ends: dt.date | None = _help(
        "When every missing series ends before the week's last session: the latest last date "
        "(none of them has a price after it)"
    )
    failed_check: bool = _help(
        "True when these series have prices that failed the price checks (data notes say which)",
        default=False,
    )


@dataclass(frozen=True)
class Upcoming:
    """An earnings release expected next week."""

    ticker: str = _help("Symbol")
    name: str = _help("Company name")
    group: str = _help("The watchlist it comes from, or 'Large banks'")
    report_date: dt.date = _help("Expected date")
    release_time: str = _help("'before the open', 'after the close' or 'time unknown'")
    eps_estimate: float | None = _help("Consensus EPS estimate, when known")
    time_inferred: bool = _help(
        "True when release_time is inferred from the company's earlier releases", default=False
    )
    index_weight: float | None = _help(
        "Its weight in the S&P 500 (IVV holdings) when listed as one of the index's largest "
        "members; None for a watchlist name",
        default=None,
    )


@dataclass(frozen=True)
class BankSection(_Record):
    """Regional Banks: who reported, who beat or missed, how the stocks reacted."""

    watchlist: str = _help("The watchlist the regional banks come from")
    reported: tuple[BankResult, ...] = _help("Regional banks that reported in the week, by date")
    large: tuple[BankResult, ...] = _help("Large banks that reported in the week (context)")
    beats: int = _help("Regional banks that beat the estimate")
    misses: int = _help("Regional banks that missed")
    in_line: int = _help("Regional banks in line, or without an estimate")
    best: str | None = _help("Ticker with the best reaction")
    worst: str | None = _help("Ticker with the worst reaction")
    reaction_spread: float | None = _help("Best reaction minus worst (two or more reactions)")
    classification: str | None = _help(
        "How the shares reacted, apart from the results: 'mixed' (moves of half a percent "
        "or more both ways), 'broadly higher' or 'broadly lower' (two or more such moves, "
        "none the other way); None with fewer than two reactions or no clear direction"
    )
    group_week_return: float | None = _help("Equal-weighted week return of the watchlist")
    kre_week_return: float | None = _help("Week return of the regional-bank ETF, if held")
    reactions_up: int = _help(
        "Regional banks with figures whose shares rose half a percent or more on the release",
        default=0,
    )
    reactions_down: int = _help("Those whose shares fell half a percent or more", default=0)
    reactions_flat: int = _help("Those whose shares moved less than half a percent", default=0)


@dataclass(frozen=True)
class RiskNote:
    """Cited context from config; never computed, always shown with its source."""

    text: str = _help("The note")
    source: str = _help("Who says so")
    as_of: dt.date = _help("When")


@dataclass(frozen=True)
class RiskSection(_Record):
    """Risk Spotlight: concentration of gains and the AI-hardware trade."""

    index_label: str = _help("The index whose YTD gains are broken down")
    concentration_share: float | None = _help(
        "The top two sectors' YTD contributions / the sum of all contributions; None unless "
        "that sum is positive, coverage at least 90% and the residual within 1 point"
    )
    concentration_sectors: tuple[str, ...] = _help("The two sectors that added most this year")
    hhi: float | None = _help(
        "Herfindahl index of the sectors' shares of the positive YTD contributions (1.0 = one "
        "sector); None under the same conditions as concentration_share"
    )
    concentration_flagged: bool = _help("Share or HHI above the config thresholds")
    share_threshold: float = _help("Config threshold for the top-two share")
    hhi_threshold: float = _help("Config threshold for the HHI")
    basket: str = _help("Name of the AI-hardware watchlist")
    basket_week: float | None = _help("Basket week return (equal-weighted)")
    basket_ytd: float | None = _help("Basket YTD return (equal-weighted)")
    basket_vs_large_week: float | None = _help("Basket week return minus the large-cap index's")
    basket_vs_small_week: float | None = _help("Basket week return minus the small-cap index's")
    basket_vs_large_ytd: float | None = _help("Basket YTD minus the large-cap index's YTD")
    basket_vs_small_ytd: float | None = _help("Basket YTD minus the small-cap index's YTD")
    correlation_3m: float | None = _help("63-session correlation of daily returns: small caps, SMH")
    semis_volatility: float | None = _help("63-session annualized volatility of SMH")
    market_volatility: float | None = _help("63-session annualized volatility of the S&P 500")
    notes: tuple[RiskNote, ...] = _help("Cited context from config")

    @property
    def volatility_ratio(self) -> float | None:
        """Semiconductor volatility as a multiple of the market's."""
        if self.semis_volatility is None or not self.market_volatility:
            return None
        return self.semis_volatility / self.market_volatility


@dataclass(frozen=True)
class WeekAhead(_Record):
    """The next trading week: sessions and expected earnings."""

    week: Week = _help("The next NYSE trading week")
    earnings: tuple[Upcoming, ...] = _help(
        "Releases expected: the S&P 500's largest members first (by weight), then the "
        "watchlists and large banks, by date"
    )
    events: tuple[CalendarEvent, ...] = _help(
        "Scheduled events of the week: FOMC decisions, options expirations, the user's own "
        "events file; by date",
        default=(),
    )


@dataclass(frozen=True)
class WeeklyRecap(_Record):
    """Everything a week's reports show, computed once and never changed."""

    week: Week = _help("The trading week covered")
    generated_at: dt.datetime = _help("When the recap was built (UTC)")
    data: DataInfo = _help("Source and freshness of the data")
    indexes: tuple[IndexMove, ...] = _help("The index table, in config order")
    small_vs_large: SmallVsLarge | None = _help("Russell 2000 minus S&P 500, when both are present")
    headline: str = _help("The week's headline")
    dek: str = _help("One-line summary under the headline")
    narrative: tuple[Paragraph, ...] = _help("Prose for every section, written from the facts")
    sectors: SectorSection | None = _help("Sector Highlights and Drivers; None without sector data")
    attribution: Attribution | None = _help(
        "Where the small-cap index's move came from; None without holdings or sector weights"
    )
    market_breadth: MarketBreadth | None = _help(
        "Advancers, decliners, 50-day and 52-week figures across the index's own stocks"
    )
    banks: BankSection | None = _help("Regional-bank earnings; None when no bank reported")
    risks: RiskSection | None = _help("Risk Spotlight")
    week_ahead: WeekAhead | None = _help("The next trading week")
    earnings: tuple[BankResult, ...] = _help(
        "Every watchlist name and large bank that reported in the week (or after the previous "
        "week's last close), largest next-session reaction first",
        default=(),
    )
    gaps: tuple[Gap, ...] = _help(
        "Sections, funds and watchlist names without data for the week", default=()
    )
    markets: tuple[MarketMove, ...] = _help(
        "Beyond stocks: yields, oil, gold, the dollar, currencies, coins and the VIX, in "
        "config order; a series without data is left out (the data notes say so)",
        default=(),
    )
    market_facts: MarketFacts | None = _help(
        "The yield spread, co-movements with stock funds and what is missing; None without "
        "a [markets] series",
        default=None,
    )
    sp500_attribution: IndexAttribution | None = _help(
        "Where the S&P 500's move came from, from its own stocks (IVV holdings, weights "
        "by Market Value), in index points too; None without holdings",
        default=None,
    )

    def paragraphs(self, *sections: str) -> tuple[str, ...]:
        """The narrative paragraphs of these sections, in the order of the text (each a
        ``Prose``: plain text, which an HTML template shows with its figures' sources)."""
        return tuple(Prose(p) for p in self.narrative if p.section in sections)


class Prose(str):
    """A paragraph's text that, put in an HTML template, shows each figure with where it
    came from (a title on hover: "Russell 2000: 2,677.74 on Jan 16 against 2,624.19 on
    Jan 9"). Anywhere else it is the plain text."""

    sentences: tuple[Sentence, ...]

    def __new__(cls, paragraph: Paragraph) -> Prose:
        out = super().__new__(cls, paragraph.text)
        out.sentences = paragraph.sentences
        return out

    def __html__(self) -> str:
        from markupsafe import escape

        if not self.sentences:
            return str(escape(str(self)))
        parts = []
        for s in self.sentences:
            text = str(escape(s.text))
            spans: list[tuple[int, int, str]] = []  # (start, end, title), not overlapping
            for c in sorted(s.claims, key=lambda c: -len(c.text)):
                figure = str(escape(c.text))
                at = text.find(figure)
                while at >= 0 and any(a < at + len(figure) and at < b for a, b, _ in spans):
                    at = text.find(figure, at + 1)
                if c.sources and at >= 0:
                    spans.append((at, at + len(figure), str(escape(c.tooltip()))))
            out, last = [], 0
            for a, b, title in sorted(spans):
                out.append(text[last:a] + f'<span class="fig" title="{title}">{text[a:b]}</span>')
                last = b
            parts.append("".join(out) + text[last:])
        return " ".join(parts)


@dataclass(frozen=True)
class CalendarEvent:
    """A scheduled event of the week ahead, with where the date comes from."""

    date: dt.date = _help("Day of the event")
    name: str = _help("What happens, e.g. 'FOMC rate decision'")
    source: str = _help("Where the date comes from")


@dataclass(frozen=True)
class MarketMove:
    """One series beyond stocks (a yield, a commodity, a currency, a coin, the VIX) over
    the week, on its own calendar."""

    symbol: str = _help("Symbol whose closes were used, e.g. '^TNX', or the proxy's 'USO'")
    name: str = _help("What it is, e.g. '10-year Treasury yield'; a proxy's own fund name")
    last: float = _help("Close (a yield in percent, 4.25 = 4.25%) on as_of")
    week_change: float = _help(
        "The week's change in change_unit: 'pct' a fraction (0.0213 = +2.13%, like every "
        "return here), 'bp' basis points (12.0 = +12 bp), 'pts' index points"
    )
    change_unit: str = _help("'pct', 'bp' (yields) or 'pts' (the VIX)")
    as_of: dt.date = _help("Date of last: the last close on or before the week's end")
    proxy: str | None = _help(
        "The ETF used in place of the series (which had no data), or None; symbol is then the ETF's"
    )
    series: str = _help("The series' own symbol from config, e.g. 'CL=F' (also for a proxy)")
    kind: str = _help("'yield', 'volatility', 'price', 'fx' or 'crypto'")
    base: float = _help("Close the change is measured from")
    base_date: dt.date = _help("Date of base: the last close on or before the week's base date")
    calendar: str = _help(
        "'nyse' (the trading week), 'fri-fri' (crypto: Friday to Friday, UTC days) or "
        "'london' (FX: Yahoo's rate at midnight London, about the prior New York close)"
    )
    sigma: float | None = _help(
        "Standard deviation of its weekly changes over the 52 weeks before (same unit); "
        "None under 26 weeks of history"
    )
    newsworthy: bool = _help(
        "A move beyond [markets] news_sigmas standard deviations, or a multi-month high or "
        "low; never in a week with a contract roll"
    )
    extreme: str | None = _help("'high' or 'low' when last is a multi-month extreme, else None")
    extreme_months: int | None = _help(
        "The longest [markets] extreme_months window whose every earlier close last exceeds "
        "(high) or undercuts (low); None when none"
    )
    percentile: float | None = _help(
        "Share of the year's closes at or below last (0 to 1); the VIX only, else None"
    )
    roll_on: dt.date | None = _help(
        "A futures contract roll in the week: the day the futures gapped and their fund did "
        "not; the move is then not news"
    )

    @property
    def tick(self) -> str:
        """The ticker a reader may want: a stand-in fund's; none for a Yahoo symbol
        (^TNX, CL=F, EURUSD=X are no names for a reader)."""
        return self.symbol if self.proxy else ""


@dataclass(frozen=True)
class CoMove:
    """A series and a stock fund over the same week, side by side: a co-movement, never a
    cause."""

    series: str = _help("The series' symbol, e.g. 'CL=F'")
    series_name: str = _help("Its name, e.g. 'WTI crude'")
    series_change: float = _help("Its week change, in its change_unit")
    change_unit: str = _help("The series' unit: 'pct', 'bp' or 'pts'")
    fund: str = _help("The stock fund, e.g. 'XLE'")
    fund_name: str = _help("Its display name, e.g. 'Energy'")
    fund_return: float = _help("The fund's week return (fraction)")
    same_direction: bool = _help("Both rose or both fell (a zero move is neither)")
    newsworthy: bool = _help("The series' move is news this week (MarketMove.newsworthy)")


@dataclass(frozen=True)
class MarketFacts(_Record):
    """What the "Beyond stocks" block and the story need beside each series' move."""

    spread_bp: float | None = _help(
        "10-year minus 3-month Treasury yield in basis points at the week's end (negative: "
        "inverted); None without both"
    )
    spread_change_bp: float | None = _help("The spread's change over the week, in basis points")
    co_moves: tuple[CoMove, ...] = _help("The [markets] pairs with data for the week")
    missing: tuple[str, ...] = _help(
        "Symbols of the series without data for the week (and no proxy): their rows are left out"
    )
    rolls: tuple[str, ...] = _help("Symbols of the futures that rolled in the week")

    @property
    def inverted(self) -> bool:
        """True when the 3-month bill yields more than the 10-year note."""
        return self.spread_bp is not None and self.spread_bp < 0


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.metadata.get("json", f.name): _plain(getattr(value, f.name)) for f in fields(value)
        }
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def recap_to_dict(recap: WeeklyRecap) -> dict[str, Any]:
    """The recap as plain JSON-ready data (recap.json, schema 1)."""
    out: dict[str, Any] = {"schema": SCHEMA_VERSION}
    for f in fields(recap):
        out[f.name] = _plain(getattr(recap, f.name))
    out["data"]["is_sample"] = recap.data.is_sample
    for entry, move in zip(out["indexes"], recap.indexes, strict=True):
        entry["label"] = move.label
    if recap.risks is not None:
        out["risks"]["volatility_ratio"] = recap.risks.volatility_ratio
    if recap.market_facts is not None:
        out["market_facts"]["inverted"] = recap.market_facts.inverted
    out["narrative"] = [p["text"] for p in out["narrative"]]
    out["narrative_sections"] = [p.section for p in recap.narrative]
    out["claims"] = [
        c.to_json(s.text) for p in recap.narrative for s in p.sentences for c in s.claims
    ]
    return out
