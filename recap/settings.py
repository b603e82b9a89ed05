"""The shape of a config file: one frozen msgspec Struct per section.

``default.toml`` holds every default (and documents every key); a user's file is merged
over it and the result converted into ``Settings`` in one step, so a wrong key, type or
value fails at load with the path of the key (``$.email.port``), never later.
msgspec rather than hand-written dataclass checks: it forbids unknown keys, checks
nested arrays of tables and value bounds (``Meta(ge=1)``) from the annotations alone,
and reports the exact path of the first problem.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

# A ticker as Yahoo spells it: also what makes it safe as a file name (no '/', no '..').
TICKER_PATTERN = r"^\^?[A-Z0-9][A-Z0-9.=-]{0,14}$"

Ticker = Annotated[str, msgspec.Meta(pattern=TICKER_PATTERN)]
OptionalTicker = Annotated[str, msgspec.Meta(pattern=r"^$|" + TICKER_PATTERN)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]
# An hour at most: inf or 1e308 passed ge=0 and crashed the socket or the sleep later.
MAX_SECONDS = 3600.0
Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]
Timeout = Annotated[float, msgspec.Meta(gt=0, le=MAX_SECONDS)]
HTTP_URL_PATTERN = r"^https?://[^/\s]+"
# A folder inside the site: relative, without '..', not empty.
SITE_FOLDER_PATTERN = r"^(?!/)(?!(.*/)?\.\.(/|$)).+$"
HttpUrl = Annotated[str, msgspec.Meta(pattern=HTTP_URL_PATTERN)]
SiteFolder = Annotated[str, msgspec.Meta(pattern=SITE_FOLDER_PATTERN)]
# What each pattern means, for the error message of a value that does not match it.
PATTERN_MEANING = {
    TICKER_PATTERN: "a ticker (A-Z, 0-9, '.', '=', '-', '^')",
    r"^$|" + TICKER_PATTERN: "a ticker (A-Z, 0-9, '.', '=', '-', '^') or empty",
    HTTP_URL_PATTERN: "an http(s) URL",
    SITE_FOLDER_PATTERN: "a folder inside the site (relative, no '..')",
}


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A config table: unknown keys are errors (each subclass repeats the options for mypy)."""


class ReportSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[report]: the report's title, publisher, tagline, page size and disclaimer."""

    title: str
    publisher: str
    tagline: str
    page_size: Literal["Letter", "A4"]
    disclaimer: str
    # The PDF prints the story, its charts and tables; the reference tables of every
    # sector, industry fund and theme (folded on the page) only when this is true.
    print_reference: bool = False


class PathSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[paths]: where output, caches, the store, templates and delivery state live."""

    out_dir: str
    cache_dir: str
    store: str
    templates_dir: str
    state: str = ""  # empty: $XDG_STATE_HOME/recap/delivery.sqlite (config.state_path)


class YahooSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[yahoo]: how the Yahoo Finance source fetches."""

    timeout_seconds: Timeout
    retries: Count
    chunk_size: PositiveInt
    backoff_seconds: Seconds
    threads: bool
    earnings_limit: Annotated[int, msgspec.Meta(ge=1, le=100)]
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    absent_days: Count = 28


class IndexSpec(_Section, frozen=True, forbid_unknown_fields=True):
    """An index by its Yahoo symbol, with the ETF that stands in where needed.

    ``name`` is the full name for a first reference ("Dow Jones Industrial Average");
    ``short_name`` goes where space is tight (cards, chart labels) and after first use.
    """

    name: Annotated[str, msgspec.Meta(min_length=1)]
    symbol: Ticker
    proxy: OptionalTicker = ""
    proxy_name: str = ""
    role: Literal["large", "small", ""] = ""
    short_name: str = ""
    full_name: str = ""  # the prose's first reference, when not "the " + name
    later_name: str = ""  # the prose's later references, when not "the " + short_name

    @property
    def first_reference(self) -> str:
        """How the prose names the index first: 'the Dow Jones Industrial Average'."""
        return self.full_name or f"the {self.name}"

    @property
    def later_reference(self) -> str:
        """How the prose names it after that: 'the Dow'."""
        return self.later_name or f"the {self.short_name or self.name}"

    @property
    def proxy_label(self) -> str:
        """What the proxy ETF's numbers are called ('Nasdaq-100' for QQQ)."""
        return self.proxy_name or self.name

    def short(self, is_proxy: bool) -> str:
        """The short name of the index, or of what its proxy tracks when that differs."""
        if is_proxy and self.proxy_label != self.name:
            return self.proxy_label
        return self.short_name or self.name


class FundSpec(_Section, frozen=True, forbid_unknown_fields=True):
    """A sector or industry fund: ticker, display name and the GICS sector it tracks."""

    ticker: Ticker
    name: Annotated[str, msgspec.Meta(min_length=1)]
    gics: str = ""


class SectorSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[sectors]: sector and industry funds, how many leaders to name."""

    etfs: tuple[FundSpec, ...]
    industries: tuple[FundSpec, ...]
    leaders: PositiveInt
    rank_shift: PositiveInt


class BankSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[banks]: the regional-bank watchlist, its ETF and the large banks shown beside."""

    watchlist: str
    etf: OptionalTicker
    large: tuple[Ticker, ...]
    duplicate_days: Count


class SectorWeight(_Section, frozen=True, forbid_unknown_fields=True):
    """One row of [contribution] weights."""

    sector: Annotated[str, msgspec.Meta(min_length=1)]
    weight: Fraction


class SectorFund(_Section, frozen=True, forbid_unknown_fields=True):
    """One row of [contribution] sector_funds: a sector's small-cap fund."""

    sector: Annotated[str, msgspec.Meta(min_length=1)]
    ticker: Ticker


class ContributionSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[contribution]: the index ETF whose holdings give the attribution its weights (its
    holdings download), the small-cap sector funds of the estimate, or weights by hand."""

    etf: OptionalTicker
    holdings_url: str = ""
    timeout_seconds: Timeout = 30.0
    min_coverage: Fraction = 0.5
    top: PositiveInt = 10
    sector_funds: tuple[SectorFund, ...] = ()
    weights_source: str = ""
    weights_as_of: dt.date | None = None
    weights: tuple[SectorWeight, ...] = ()


class IndexAttributionSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[sp500_attribution]: the large-cap index ETF whose holdings (weights by Market
    Value) break the S&P 500's move down to its stocks, in index points."""

    etf: OptionalTicker
    holdings_url: str = ""
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    min_coverage: Fraction = 0.95
    top: PositiveInt = 10
    heavyweights: Count = 30


class RiskSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[risks]: the AI-hardware basket, the semiconductor fund and the flags' thresholds."""

    basket: str
    semis: OptionalTicker
    window_sessions: Annotated[int, msgspec.Meta(ge=2)]
    share_threshold: Fraction
    hhi_threshold: Fraction


class RiskNoteSpec(_Section, frozen=True, forbid_unknown_fields=True):
    """[[risk_notes]]: cited context, shown with its source and date."""

    text: Annotated[str, msgspec.Meta(min_length=1)]
    source: Annotated[str, msgspec.Meta(min_length=1)]
    as_of: dt.date


class EmailSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[email]: the SMTP server, sender, subject and sending pace."""

    host: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)]
    user: str
    tls: Literal["starttls", "ssl", "none"]
    sender: str = msgspec.field(name="from")
    from_name: str
    reply_to: str
    subject: str
    attach_pdf: bool
    unsubscribe_url: str
    unsubscribe_mailto: str
    max_per_minute: Count
    retries: Count
    backoff_seconds: Seconds
    timeout_seconds: Timeout


class BlogSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[blog]: where posts, charts and the archive go inside a site folder."""

    base_url: HttpUrl
    content_dir: SiteFolder
    media_dir: SiteFolder
    media_url: str
    archive_dir: SiteFolder
    archive_url: str
    tags: tuple[str, ...]
    feed_entries: PositiveInt


class WeeklySettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[weekly]: defaults for `recap weekly --to` and `--site` (empty skips the step)."""

    subscribers: str
    site: str


def parse_split(entry: str) -> tuple[str, dt.date, float] | None:
    """'KLAC:2026-06-05:10' -> ('KLAC', 2026-06-05, 10.0); the ratio is new shares per
    old share: '10' (10-for-1), '1/5' or '0.2' (1-for-5), '3/2' (3-for-2). None when
    the entry is not of that shape."""
    import re

    parts = entry.split(":")
    if len(parts) != 3 or not re.fullmatch(TICKER_PATTERN, parts[0]):
        return None
    try:
        day = dt.date.fromisoformat(parts[1])
        top, _, bottom = parts[2].partition("/")
        ratio = float(top) / float(bottom) if bottom else float(top)
    except (ValueError, ZeroDivisionError):
        return None
    if not (ratio > 0 and ratio != 1 and ratio < 1e6 and 1 / ratio < 1e6):
        return None
    return parts[0], day, ratio


class DataSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[data]: price flags accepted as real ("TICKER:YYYY-MM-DD", or "TICKER" for all),
    and splits declared by hand ("TICKER:YYYY-MM-DD:RATIO")."""

    accept: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()

    @property
    def declared_splits(self) -> dict[str, tuple[tuple[dt.date, float], ...]]:
        """ticker -> ((date, ratio), ...) of [data] splits (checked when the config loaded)."""
        out: dict[str, list[tuple[dt.date, float]]] = {}
        for entry in self.splits:
            parsed = parse_split(entry)
            if parsed is not None:
                out.setdefault(parsed[0], []).append(parsed[1:])
        return {t: tuple(sorted(v)) for t, v in out.items()}

    @property
    def accepted(self) -> frozenset[tuple[str, dt.date | None]]:
        """(ticker, date) pairs whose price flags are accepted; date None: every date.
        The entries were checked when the config loaded (config._check_across)."""
        out: set[tuple[str, dt.date | None]] = set()
        for entry in self.accept:
            ticker, _, day = entry.partition(":")
            out.add((ticker, dt.date.fromisoformat(day) if day else None))
        return frozenset(out)


class BackfillSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[backfill]: worker processes and formats."""

    workers: PositiveInt
    formats: str


class MarketSeriesSpec(_Section, frozen=True, forbid_unknown_fields=True):
    """One row of [markets] series: a rate, commodity, currency or coin beyond stocks.

    ``kind`` sets its unit and calendar: 'yield' (percent; weekly change in basis points),
    'volatility' (an index level; change in points), 'price', 'fx' (Yahoo's London-midnight
    rate) and 'crypto' (a row every day; its week runs Friday to Friday), each in percent.
    """

    symbol: Ticker
    name: Annotated[str, msgspec.Meta(min_length=1)]
    kind: Literal["yield", "volatility", "price", "fx", "crypto"]
    proxy: OptionalTicker = ""  # the ETF that stands in, only when the series is missing
    proxy_name: str = ""
    roll_check: OptionalTicker = ""  # a fund holding the front contract: tells rolls apart


class MarketPairSpec(_Section, frozen=True, forbid_unknown_fields=True):
    """One row of [markets] pairs: a series and a stock fund whose weeks are compared."""

    series: Ticker
    fund: Ticker


class MarketsSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[markets]: the "Beyond stocks" series, what makes a move news, and the pairs."""

    series: tuple[MarketSeriesSpec, ...]
    pairs: tuple[MarketPairSpec, ...] = ()
    news_sigmas: Annotated[float, msgspec.Meta(gt=0)] = 1.5
    extreme_months: tuple[PositiveInt, ...] = (3, 6, 12)
    roll_gap: Annotated[float, msgspec.Meta(gt=0)] = 0.04


class CalendarSettings(_Section, frozen=True, forbid_unknown_fields=True):
    """[calendar]: the Week Ahead's dates: FOMC decisions, options expirations, own events."""

    fomc: bool = True
    options_expiration: bool = True
    events_file: str = ""  # a CSV of date,name,source; relative to the working folder


class Settings(_Section, frozen=True, forbid_unknown_fields=True):
    """A whole config file, merged over the defaults."""

    report: ReportSettings
    paths: PathSettings
    yahoo: YahooSettings
    indexes: tuple[IndexSpec, ...]
    sectors: SectorSettings
    watchlists: dict[str, tuple[Ticker, ...]]
    names: dict[str, str]
    banks: BankSettings
    contribution: ContributionSettings
    sp500_attribution: IndexAttributionSettings
    risks: RiskSettings
    risk_notes: tuple[RiskNoteSpec, ...]
    email: EmailSettings
    blog: BlogSettings
    weekly: WeeklySettings
    data: DataSettings
    backfill: BackfillSettings
    markets: MarketsSettings
    calendar: CalendarSettings
