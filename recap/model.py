"""The immutable model passed along the pipeline: one WeeklyRecap per week.

Every figure the reports show lives here, computed once. Returns are unrounded
fractions (0.0213 is +2.13%); formatting happens only in the template filters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, is_dataclass
from types import GeneratorType
from typing import Any

SCHEMA_VERSION = 1


def _help(text: str) -> Any:
    return field(metadata={"help": text})


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


@dataclass(frozen=True)
class IndexMove:
    """How one index (or its ETF proxy) moved over the week."""

    name: str = _help("Name of what the numbers track, e.g. 'Nasdaq-100' for QQQ")
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

    @property
    def label(self) -> str:
        """'Russell 2000 (IWM)' for a proxy, 'S&P 500' for the index itself."""
        return f"{self.name} ({self.symbol})" if self.is_proxy else self.name


@dataclass(frozen=True)
class SmallVsLarge:
    """Small caps against large caps: the Russell 2000's week return minus the S&P 500's."""

    small_symbol: str = _help("Symbol used for small caps")
    large_symbol: str = _help("Symbol used for large caps")
    spread: float = _help("Small-cap week return minus large-cap week return")
    positive_streak_weeks: int = _help(
        "Consecutive weeks, ending this one, in which the spread was positive (0 if not)"
    )


@dataclass(frozen=True)
class PriceFlag:
    """A close the price checks found implausible (recap/analytics/quality.py)."""

    ticker: str = _help("Symbol of the series")
    date: dt.date = _help("Session of the implausible close (the first one, for a run)")
    kind: str = _help(
        "'not-positive', 'non-session', 'gap', 'stale', 'bad-print', 'split' or 'jump'"
    )
    reason: str = _help("What was found, in a sentence, e.g. 'close -5 is not a positive price'")

    def __str__(self) -> str:
        return f"{self.ticker} {self.date.isoformat()}: {self.reason}"


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

    @property
    def is_sample(self) -> bool:
        """True when built from generated sample data, which must never be delivered."""
        return self.source == "sample"


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of prose, tagged with the report section it belongs to."""

    section: str = _help("Section key, e.g. 'indexes', 'sectors', 'banks', 'conclusion'")
    text: str = _help("The paragraph as plain text")


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


@dataclass(frozen=True)
class Contribution:
    """One sector's share of an index's move."""

    sector: str = _help("GICS sector name")
    weight: float = _help("Weight in the index (fraction) at the start of the period")
    sector_return: float = _help("Return of the sector over the period (fraction)")
    contribution: float = _help("weight x return: fraction of the index's return")
    share: float | None = _help("contribution / sum of positive contributions (gains only)")


@dataclass(frozen=True)
class Leadership(_Record):
    """Which sectors drove an index's move over a period (week or year to date)."""

    period: str = _help("'week' or 'ytd'")
    index_label: str = _help("The index whose move is broken down, e.g. 'Russell 2000 (IWM)'")
    method: str = _help("'exact' (holdings x their prices) or 'estimate' (weights x sector ETFs)")
    weights_source: str = _help("Where the weights came from, e.g. 'iShares IWM holdings file'")
    weights_as_of: dt.date | None = _help("As-of date of the weights")
    contributions: tuple[Contribution, ...] = _help("By sector, largest contribution first")
    total: float = _help("Sum of contributions: the estimated index return")
    top_two: tuple[str, ...] = _help("The two sectors with the largest positive contribution")
    top_two_share: float | None = _help("Their share of the sum of positive contributions")
    hhi: float | None = _help("Herfindahl index of the positive shares (1.0 = one sector)")


@dataclass(frozen=True)
class Breadth:
    """How many names of the universe rose and fell on the week."""

    names: int = _help("Tickers of the sector and watchlist universe with data for the week")
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
    leadership: tuple[Leadership, ...] = _help("Contribution by sector: week, then YTD")
    breadth: Breadth | None = _help("Advancers and decliners in the universe")
    rank_changes: tuple[tuple[str, int, int], ...] = _help(
        "(ticker, ytd_rank, week_rank) for sectors whose week rank differs from YTD by 5+"
    )


@dataclass(frozen=True)
class BankResult:
    """One bank's earnings release in the week and how the stock reacted."""

    ticker: str = _help("Symbol")
    name: str = _help("Company name")
    group: str = _help("'regional' or 'large'")
    report_date: dt.date = _help("Date of the release")
    release_time: str = _help("'before the open', 'after the close' or 'time unknown'")
    eps_estimate: float | None = _help("Consensus EPS estimate")
    eps_actual: float | None = _help("Reported EPS")
    surprise: float | None = _help("(actual - estimate) / |estimate|, fraction")
    outcome: str = _help("'beat', 'miss', 'in line', 'no estimate' or 'not reported'")
    reaction: float | None = _help("Close-to-close move around the release; None if pending")
    reaction_from: dt.date | None = _help("Session whose close is the reaction's base")
    reaction_to: dt.date | None = _help("Session whose close ends the reaction")
    reaction_pending: bool = _help("True when the reaction falls after the week's last bar")
    week_return: float | None = _help("The stock's week return")


@dataclass(frozen=True)
class Upcoming:
    """An earnings release expected next week."""

    ticker: str = _help("Symbol")
    name: str = _help("Company name")
    group: str = _help("The watchlist it comes from, or 'Large banks'")
    report_date: dt.date = _help("Expected date")
    release_time: str = _help("'before the open', 'after the close' or 'time unknown'")
    eps_estimate: float | None = _help("Consensus EPS estimate, when known")


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
    classification: str | None = _help("'mixed', 'broadly higher' or 'broadly lower'")
    group_week_return: float | None = _help("Equal-weighted week return of the watchlist")
    kre_week_return: float | None = _help("Week return of the regional-bank ETF, if held")


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
    concentration_share: float | None = _help("YTD share of gains from the top two sectors")
    concentration_sectors: tuple[str, ...] = _help("Those two sectors")
    hhi: float | None = _help("Herfindahl index of YTD sector shares of gains")
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
    earnings: tuple[Upcoming, ...] = _help("Watchlist and large-bank releases expected, by date")


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
    banks: BankSection | None = _help("Regional-bank earnings; None when no bank reported")
    risks: RiskSection | None = _help("Risk Spotlight")
    week_ahead: WeekAhead | None = _help("The next trading week")

    def paragraphs(self, section: str) -> tuple[str, ...]:
        """The narrative paragraphs of one section."""
        return tuple(p.text for p in self.narrative if p.section == section)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
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
    out["narrative"] = [p["text"] for p in out["narrative"]]
    out["narrative_sections"] = [p.section for p in recap.narrative]
    return out
