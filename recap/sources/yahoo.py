"""Yahoo Finance through yfinance: the only module that imports yfinance.

yfinance does not raise when a download fails: it logs the failure and returns empty or
all-NaN columns. So every requested ticker is checked, yfinance's log is read during the
call to tell a rate limit (retried with exponential backoff) or an unreachable network
(SourceError with ``offline=True``) from a ticker that simply has no data. Whatever it
does raise is caught in one place, ``call_yfinance``. A ticker that could not be fetched
this run (rate limited, a failed page) is recorded in ``YahooSource.failures`` with the
reason, so the report can say what happened and the store does not keep it as fact.

Under throttling: ``workers`` requests in flight (the project's setting, not yfinance's
2 x cores), Retry-After honoured in the session (sources/throttle.py), and yfinance's
time-zone cache told New York for US listings so it does not ask Yahoo per ticker first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import math
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import yfinance as yf

from recap.config import RecapConfig
from recap.errors import RateLimited, SourceError
from recap.retry import backoff_delay, retry_call
from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS, FetchFailures, empty_earnings
from recap.sources.holdings import Holdings, normalized
from recap.sources.throttle import ChartAnswers, RetryAfterStats, honour_retry_after
from recap.weeks import NEW_YORK

logger = logging.getLogger(__name__)

DownloadFn = Callable[..., pd.DataFrame | None]
TickerFactory = Callable[[str], Any]

# Column names yf.download can put beside the bars; used to find the field level.
_FIELDS = frozenset({*BAR_COLUMNS, "Dividends", "Stock Splits", "Capital Gains", "Repaired?"})
_RATE_LIMIT = ("rate limit", "too many requests", "yfratelimiterror")
_CONNECTION = (
    "could not resolve host",
    "failed to perform",
    "connection",
    "timed out",
    "timeout",
    "dnserror",
    "network is unreachable",
    "ssl",
)
_UNREACHABLE = "Yahoo Finance could not be reached"
# What yfinance says of a ticker Yahoo does not carry (HTTP 404, delisted, no rows).
_NO_DATA = (
    "possibly delisted",
    "no data found",
    "no price data found",
    "no timezone found",
    "not found",
)


def _mentions(message: str, markers: tuple[str, ...]) -> bool:
    low = message.lower()
    return any(m in low for m in markers)


def _first_mention(messages: list[str], markers: tuple[str, ...]) -> str | None:
    """The message naming the most specific marker (markers go specific to general)."""
    for marker in markers:
        for message in messages:
            if marker in message.lower():
                return message
    return None


def _one_line(message: str, limit: int = 160) -> str:
    text = " ".join(message.split()).split(" See https://")[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Capture(logging.Handler):
    """Collects yfinance's warnings and errors, which is how it reports failures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _yfinance_log() -> Iterator[list[str]]:
    handler = _Capture()
    yf_logger = logging.getLogger("yfinance")
    yf_logger.addHandler(handler)
    # Its raw lines ("possibly delisted; no timezone found" when offline) would reach the
    # user's terminal; recap reports what they mean in its own words instead.
    propagate, yf_logger.propagate = yf_logger.propagate, False
    try:
        with warnings.catch_warnings():
            # yfinance's own pandas deprecation warnings: nothing we can change.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"yfinance")
            yield handler.messages
    finally:
        yf_logger.removeHandler(handler)
        yf_logger.propagate = propagate


# How an error yfinance raised is written among its log lines.
RAISED = "yfinance raised "
_T = TypeVar("_T")


def call_yfinance(call: Callable[[], _T]) -> tuple[_T | None, list[str], str | None]:
    """Run one yfinance call: its value (None if it raised), its log lines, and what it
    raised as one line ("yfinance raised AttributeError: ...") or None.

    This is the one place recap meets yfinance's code. Its surface is wide (it scrapes
    web pages, and a changed layout raises AttributeError, KeyError, IndexError...), so
    every error it raises stops here and becomes a reason; none reaches the user as a
    traceback.
    """
    with _yfinance_log() as messages:
        try:
            return call(), messages, None
        except Exception as e:  # the one wide catch: see the docstring
            return None, messages, f"{RAISED}{type(e).__name__}: {_one_line(str(e))}"


_TICKER_LINE = re.compile(r"\[(?P<names>[^\]]*)\]: (?P<message>.+)", re.S)


def messages_by_ticker(messages: list[str]) -> dict[str, str]:
    """yfinance's closing lines of a download ("['^DJI', 'XYZ']: reason") as
    upper-cased ticker -> reason."""
    out: dict[str, str] = {}
    for message in messages:
        found = _TICKER_LINE.fullmatch(message.strip())
        if found is None:
            continue
        for name in re.findall(r"'([^']+)'", found["names"]):
            out[name.upper()] = found["message"]
    return out


def failure_reason(message: str) -> str | None:
    """A short reason when what yfinance said means the fetch failed; None when it means
    the ticker has no data there (unknown or delisted: the source does not carry it)."""
    if not message.strip():
        return None
    if _mentions(message, _RATE_LIMIT):
        return "rate limited"
    if _mentions(message, _CONNECTION):
        return _UNREACHABLE
    if _mentions(message, _NO_DATA):
        return None
    return _one_line(message.removeprefix(RAISED), 100)


# A symbol Yahoo lists on a US exchange: letters, at most a one- or two-letter class
# suffix (BRK-B). Indexes, futures (CL=F), FX (EURUSD=X), crypto (BTC-USD) are left out.
_US_LISTING = re.compile(r"[A-Z]{1,5}(-[A-Z]{1,2})?")
# Yahoo's time zone for every US listing: yfinance would ask it per ticker otherwise.
US_TIMEZONE = "America/New_York"
# The longest Retry-After honoured in place; a longer one goes to the chunk's backoff.
RETRY_AFTER_CAP_SECONDS = 60.0


def us_listings(tickers: tuple[str, ...]) -> tuple[str, ...]:
    """The tickers whose Yahoo time zone is New York's without asking (US listings)."""
    return tuple(t for t in tickers if _US_LISTING.fullmatch(t))


def new_session() -> Any:
    """The HTTP session yfinance would make for itself (curl_cffi, as Chrome)."""
    from curl_cffi import requests as curl

    return curl.Session(impersonate="chrome")


def use_workers(workers: int) -> None:
    """Make ``workers`` the number of yfinance's download threads that run at once.

    yf.download's ``threads=N`` sets multitasking's default for pools created later, but
    its pool was created when yfinance was imported, sized by the core count (2 on a
    2-core machine, whatever N says). A pool of our own, made the active one, is what
    its threads then queue on.
    """
    import multitasking  # yfinance's thread pool

    name = f"recap-{workers}"
    if multitasking.config["POOL_NAME"] != name:
        multitasking.createPool(name=name, threads=workers)


def _chunks(items: tuple[str, ...], size: int) -> Iterator[tuple[str, ...]]:
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + max(1, size)]


def _normalize_bars(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One ticker's yfinance columns -> the shared bars layout, rows in [start, end]."""
    bars = frame.reindex(columns=list(BAR_COLUMNS)).astype("float64")
    index = pd.DatetimeIndex(bars.index)
    if index.tz is not None:
        index = index.tz_convert(NEW_YORK).tz_localize(None)
    bars.index = index.normalize().as_unit("us").rename("Date")
    bars.columns.name = None
    # yfinance aligns every ticker on the union of dates: those rows are NaN here.
    bars = bars.loc[bars["Close"].notna() | bars["Adj Close"].notna()]
    bars = bars.loc[~bars.index.duplicated(keep="last")].sort_index()
    inside = (bars.index >= pd.Timestamp(start)) & (bars.index <= pd.Timestamp(end))
    return bars.loc[inside]


def split_download(
    raw: pd.DataFrame | None, tickers: tuple[str, ...], start: dt.date, end: dt.date
) -> dict[str, pd.DataFrame]:
    """A yf.download result (MultiIndex or flat columns) -> bars per requested ticker with data."""
    if raw is None or raw.empty:
        return {}
    columns = raw.columns
    by_name: dict[str, pd.DataFrame] = {}
    if isinstance(columns, pd.MultiIndex):
        levels = range(columns.nlevels)
        field = next((i for i in levels if set(columns.get_level_values(i)) <= _FIELDS), None)
        if field is None or columns.nlevels != 2:
            logger.warning("unexpected yfinance columns: %s", list(columns)[:6])
            return {}
        level = 1 - field
        for key in columns.get_level_values(level).unique():
            part = raw.xs(key, axis=1, level=level)
            if isinstance(part, pd.DataFrame):
                by_name[str(key).upper()] = part
    elif len(tickers) == 1:
        by_name[tickers[0].upper()] = raw
    out: dict[str, pd.DataFrame] = {}
    for ticker in tickers:
        frame = by_name.get(ticker.upper())
        if frame is None:
            continue
        bars = _normalize_bars(frame, start, end)
        if len(bars):
            out[ticker] = bars
    return out


def normalize_earnings(
    ticker: str, frame: pd.DataFrame | None, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """``Ticker.get_earnings_dates()`` output -> EARNINGS_COLUMNS rows dated in [start, end]."""
    if frame is None or frame.empty:
        return empty_earnings()
    if "Event Type" in frame:
        frame = frame.loc[frame["Event Type"].astype(str) == "Earnings"]
    index = pd.DatetimeIndex(frame.index)
    index = index.tz_localize(NEW_YORK) if index.tz is None else index.tz_convert(NEW_YORK)
    times = [t if t != "00:00" else "" for t in index.strftime("%H:%M")]

    def numbers(column: str) -> list[float]:
        if column not in frame:
            return [float("nan")] * len(frame)
        return list(pd.to_numeric(frame[column], errors="coerce").astype("float64"))

    out = pd.DataFrame(
        {
            "ticker": pd.Series([ticker] * len(frame), dtype="object"),
            "date": index.tz_localize(None).normalize().as_unit("us"),
            "time": pd.Series(times, dtype="object"),
            "eps_estimate": numbers("EPS Estimate"),
            "eps_actual": numbers("Reported EPS"),
            "surprise_pct": numbers("Surprise(%)"),
        }
    )
    out = out.loc[(out["date"] >= pd.Timestamp(start)) & (out["date"] <= pd.Timestamp(end))]
    out = out.drop_duplicates(subset=["ticker", "date"], keep="first")
    return out.loc[:, list(EARNINGS_COLUMNS)].sort_values("date").reset_index(drop=True)


class YahooSource:
    """Daily bars and earnings from Yahoo Finance (yfinance); the seams are injectable.

    ``session`` is handed to yfinance (a curl_cffi Session, or a test's replay of one);
    None lets yfinance make its own. ``failures`` records what could not be fetched.
    """

    name = "yahoo"

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        retries: int = 3,
        chunk_size: int = 50,
        backoff_seconds: float = 2.0,
        threads: bool = True,
        workers: int = 8,
        earnings_limit: int = 40,
        cache_dir: Path | None = None,
        download: DownloadFn = yf.download,
        ticker_factory: TickerFactory = yf.Ticker,
        sleep: Callable[[float], None] = time.sleep,
        session: Any = None,
    ) -> None:
        self.timeout = timeout
        self.retries = max(0, retries)
        self.chunk_size = max(1, chunk_size)
        self.backoff_seconds = backoff_seconds
        self.threads = threads
        # Requests in flight at once: the project's choice, not yfinance's (2 x cores).
        self.workers = max(1, workers) if threads else 1
        self.earnings_limit = min(100, max(1, earnings_limit))  # Yahoo caps it at 100
        self._download = download
        self._ticker = ticker_factory
        self._sleep = sleep
        self.retry_after = RetryAfterStats()
        self.answers = ChartAnswers()
        if session is not None:
            session = honour_retry_after(
                session,
                retries=self.retries,
                cap=RETRY_AFTER_CAP_SECONDS,
                sleep=sleep,
                stats=self.retry_after,
                answers=self.answers,
            )
        self._session = session
        self._seed_tz = cache_dir is not None  # only into recap's own cache folder
        self.failures = FetchFailures()
        self._earnings_waits = 0  # shared by every earnings page of this run
        self._earnings_wall: str | None = None  # why Yahoo stopped answering them
        if cache_dir is not None:
            # yfinance keeps timezone, cookie and ISIN caches; keep them in ours.
            folder = Path(cache_dir) / "yfinance"
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise SourceError(
                    f"cannot create the cache folder {folder}: {e.strerror}"
                ) from None
            _, _, raised = call_yfinance(lambda: yf.set_tz_cache_location(str(folder)))
            if raised is not None:
                raise SourceError(f"{folder}: {raised}")

    @classmethod
    def from_config(cls, config: RecapConfig, **seams: Any) -> YahooSource:
        """A YahooSource set up from the [yahoo] table and the cache folder."""
        y = config.yahoo
        if not {"session", "download", "ticker_factory"} & set(seams):
            seams["session"] = new_session()  # so that Retry-After is honoured
        return cls(
            timeout=y.timeout_seconds,
            retries=y.retries,
            chunk_size=y.chunk_size,
            backoff_seconds=y.backoff_seconds,
            threads=y.threads,
            workers=y.workers,
            earnings_limit=y.earnings_limit,
            cache_dir=config.cache_dir,
            **seams,
        )

    def _with_session(self) -> dict[str, Any]:
        return {} if self._session is None else {"session": self._session}

    def _download_chunk(
        self, chunk: tuple[str, ...], start: dt.date, end: dt.date
    ) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[str]]:
        """Bars of one chunk, what yfinance said about each ticker left without, and
        every message and error (for telling an unreachable network from a rate limit)."""
        frames: dict[str, pd.DataFrame] = {}
        said: dict[str, str] = {}
        notes: list[str] = []
        pending = chunk

        def attempt() -> None:
            nonlocal pending
            call = functools.partial(
                self._download,
                list(pending),
                start=start.isoformat(),
                end=(end + dt.timedelta(days=1)).isoformat(),  # yfinance: exclusive
                auto_adjust=False,
                actions=False,
                group_by="column",
                multi_level_index=True,
                threads=self.workers if self.workers > 1 else False,
                progress=False,
                timeout=self.timeout,
                **self._with_session(),
            )
            if self.workers > 1:
                use_workers(self.workers)
            raw, messages, raised = call_yfinance(call)
            frames.update(split_download(raw, pending, start, end))
            notes.extend(messages)
            if raised is not None:
                notes.append(raised)
                messages = [*messages, raised]
            by_ticker = messages_by_ticker(messages)
            pending = tuple(t for t in pending if t not in frames)
            for ticker in pending:
                # A whole call that failed left no line per ticker: its error is theirs.
                said[ticker] = by_ticker.get(ticker.upper(), " | ".join(messages))
            if pending and any(_mentions(m, _RATE_LIMIT) for m in messages):
                raise RateLimited(f"rate limited, {len(pending)} tickers left")

        # Still refused after the retries: the tickers left are reported by the caller.
        with contextlib.suppress(RateLimited):
            retry_call(
                attempt,
                retries=self.retries,
                backoff=self.backoff_seconds,
                retry_on=RateLimited,
                sleep=self._sleep,
                what="Yahoo Finance",
            )
        return frames, {t: m for t, m in said.items() if t not in frames}, notes

    def fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Bars per ticker in [start, end]: one yf.download per chunk of tickers."""
        wanted = tuple(dict.fromkeys(tickers))
        self._seed_timezones(wanted)
        out: dict[str, pd.DataFrame] = {}
        said: dict[str, str] = {}
        notes: list[str] = []
        for chunk in _chunks(wanted, self.chunk_size):
            frames, chunk_said, messages = self._download_chunk(chunk, start, end)
            out.update(frames)
            said.update(chunk_said)
            notes.extend(messages)
        for ticker in wanted:
            reason = failure_reason(said[ticker]) if ticker in said else None
            if reason is None and ticker in said:
                # yfinance says "possibly delisted" of a request that got no real answer.
                reason = self.answers.failure(ticker)
            if reason is None:
                self.failures.bars.pop(ticker, None)
            else:
                self.failures.bars[ticker] = reason
        # Only when every ticker still failed after its retries: a rate limit a retry
        # overcame, on tickers Yahoo then said it does not carry, is no failure.
        if wanted and not out and all(t in self.failures.bars for t in wanted):
            self._raise_if_unreachable(notes)
        missing = [t for t in wanted if t not in out]
        if missing:
            logger.warning("Yahoo Finance returned no bars for %s", ", ".join(missing))
        return out

    def _seed_timezones(self, tickers: tuple[str, ...]) -> None:
        """yfinance's time-zone cache told New York for US listings it does not know yet:
        otherwise it asks Yahoo once per ticker (half the requests of a first build), and
        a rate-limited probe reads as "no timezone found", a ticker Yahoo does not carry."""
        names = us_listings(tickers)
        if not self._seed_tz or not names:
            return

        def seed() -> int:
            cache = yf.cache.get_tz_cache()
            new = [t for t in names if cache.lookup(t) is None]
            for ticker in new:
                cache.store(ticker, US_TIMEZONE)
            return len(new)

        seeded, _, raised = call_yfinance(seed)
        if raised is not None:  # a cache that cannot be written: yfinance asks instead
            logger.info("yfinance time-zone cache not seeded: %s", raised)
        elif seeded:
            logger.info("seeded yfinance's time-zone cache for %d tickers", seeded)

    def _raise_if_unreachable(self, notes: list[str]) -> None:
        """Nothing came back: say why in one line (offline=True when the network is down)."""
        cause = _first_mention(notes, _CONNECTION)
        if cause is not None:
            raise SourceError(
                f"Yahoo Finance could not be reached: {_one_line(cause.removeprefix(RAISED))}",
                offline=True,
            )
        limited = _first_mention(notes, _RATE_LIMIT)
        if limited is not None:
            raise SourceError(
                f"Yahoo Finance kept refusing requests after {self.retries + 1} attempts: "
                f"{_one_line(limited.removeprefix(RAISED))}"
            )
        raised = next((m for m in notes if m.startswith(RAISED)), None)
        if raised is not None:
            raise SourceError(f"Yahoo Finance: {_one_line(raised)}")
        if set(self.failures.bars.values()) == {_UNREACHABLE}:  # seen by the session only
            raise SourceError(f"{_UNREACHABLE} (every request failed)", offline=True)

    def _earnings_page(self, ticker: str) -> pd.DataFrame | None:
        page = self._ticker(ticker, **self._with_session())
        frame: pd.DataFrame | None = page.get_earnings_dates(limit=self.earnings_limit)
        return frame

    def _earnings_with_retries(
        self, ticker: str
    ) -> tuple[pd.DataFrame | None, list[str], str | None, bool, list[str]]:
        """One earnings page, asked again after a rate limit while the run's shared budget
        of waits lasts: the last try's (frame, messages, raised), whether it was still
        rate limited, and the messages of every try."""
        last: tuple[pd.DataFrame | None, list[str], str | None] = (None, [], None)
        every: list[str] = []

        def attempt() -> None:
            nonlocal last
            frame, messages, raised = call_yfinance(functools.partial(self._earnings_page, ticker))
            last = (frame, [*messages, raised] if raised is not None else messages, raised)
            every.extend(last[1])
            if frame is None and any(_mentions(m, _RATE_LIMIT) for m in last[1]):
                raise RateLimited(f"rate limited, earnings of {ticker}")

        def sleep(seconds: float) -> None:
            self._earnings_waits += 1
            self._sleep(seconds)

        limited = False
        try:
            # The waits go on from the run's: backoff x 2 ** (waits so far), and so on.
            retry_call(
                attempt,
                retries=self.retries - self._earnings_waits,
                backoff=backoff_delay(self.backoff_seconds, self._earnings_waits + 1),
                retry_on=RateLimited,
                sleep=sleep,
                what="Yahoo Finance",
            )
        except RateLimited:
            limited = True
        return (*last, limited, every)

    def fetch_earnings(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Earnings rows (EARNINGS_COLUMNS) for report dates in [start, end], New York time.

        One page per ticker (yfinance scrapes them). The backoff after a rate limit is
        shared by every page of the run, at most ``retries`` waits in all; once Yahoo
        keeps refusing, or cannot be reached, the pages left are not asked. Tickers without an
        answer are recorded in ``failures.earnings``; when none answered at all, a
        SourceError says why.
        """
        wanted = tuple(dict.fromkeys(tickers))
        parts: list[pd.DataFrame] = []
        notes: list[str] = []
        answered = False
        for ticker in wanted:
            if self._earnings_wall is not None:
                self.failures.earnings[ticker] = self._earnings_wall
                continue
            frame, messages, raised, limited, every = self._earnings_with_retries(ticker)
            notes.extend(every)
            if frame is not None:
                answered = True
                self.failures.earnings.pop(ticker, None)
                rows = normalize_earnings(ticker, frame, start, end)
                if len(rows):
                    parts.append(rows)
                continue
            said = " | ".join(messages)
            offline = _mentions(said, _CONNECTION)
            if limited or offline:
                reason = failure_reason(said) or said
                self._earnings_wall = reason  # every page left would meet it too
            elif raised is not None:
                reason = "the page could not be read"
            else:
                reason = "the page held no earnings table"
            self.failures.earnings[ticker] = reason
            logger.warning("Yahoo Finance: no earnings dates for %s (%s)", ticker, said or reason)
        if wanted and not answered:
            self._raise_if_unreachable(notes)
        if not parts:
            return empty_earnings()
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values(["date", "ticker"]).reset_index(drop=True)

    def latest_session(self, tickers: tuple[str, ...]) -> dt.date | None:
        """Unknown without asking the network: always None."""
        return None

    def fetch_sector_weights(self, etf: str, today: dt.date) -> Holdings | None:
        """A fund's sector weights from Yahoo's fund data (Morningstar sectors, mapped to
        the GICS names of the sector funds); None when Yahoo has none."""
        session = self._with_session()
        raw, messages, raised = call_yfinance(
            lambda: self._ticker(etf, **session).funds_data.sector_weightings
        )
        if raw is None or not isinstance(raw, dict):
            said = _one_line(" | ".join([*messages, raised or ""]).strip(" |")) or "none"
            logger.warning("no sector weights for %s from Yahoo: %s", etf, said)
            return None
        if messages:
            logger.info("yfinance said: %s", _one_line(" | ".join(messages)))
        return holdings_from_weightings(etf, raw, today)

    def fetch_names(self, tickers: tuple[str, ...]) -> dict[str, str]:
        """Company names from Yahoo's quote data (shortName, legal forms dropped), for at
        most NAMES_LIMIT tickers; a ticker without one is left out (the names file and the
        holdings' names stand in)."""
        session = self._with_session()
        out: dict[str, str] = {}
        for ticker in tuple(dict.fromkeys(tickers))[:NAMES_LIMIT]:
            info, messages, raised = call_yfinance(
                lambda t=ticker: self._ticker(t, **session).info  # type: ignore[misc]
            )
            name = short_name(info.get("shortName") if isinstance(info, dict) else None)
            if name:
                out[ticker] = name
            elif raised or messages:
                said = _one_line(" | ".join([*messages, raised or ""]).strip(" |"))
                logger.info("no name for %s from Yahoo: %s", ticker, said)
                if _mentions(said, _CONNECTION):
                    break  # offline: every ticker left would wait for the same answer
        return out


# Names asked of Yahoo per build: the companies a report shows (movers, earnings).
NAMES_LIMIT = 80
_LEGAL_FORM = re.compile(
    r",?\s+(Inc\.?|Incorporated|Corporation|Corp\.?|Co\.|Company|plc|PLC|Ltd\.?|Limited|"
    r"N\.V\.|S\.A\.|L\.P\.|LLC|Holdings Inc\.?)$"
)


def short_name(raw: object) -> str | None:
    """Yahoo's shortName as a reader knows it: 'IonQ, Inc.' -> 'IonQ'; None for a name
    in capitals only ('BLOOM ENERGY CORP': no better than the holdings file's)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = " ".join(raw.split())
    if text.upper() == text and len(text) > 5:
        return None
    while _LEGAL_FORM.search(text):
        text = _LEGAL_FORM.sub("", text).strip()
    return text or None


# Yahoo's fund data uses Morningstar's sector keys; the sector funds use GICS names.
MORNINGSTAR_TO_GICS = {
    "realestate": "Real Estate",
    "consumer_cyclical": "Consumer Discretionary",
    "basic_materials": "Materials",
    "consumer_defensive": "Consumer Staples",
    "technology": "Information Technology",
    "communication_services": "Communication Services",
    "financial_services": "Financials",
    "utilities": "Utilities",
    "industrials": "Industrials",
    "energy": "Energy",
    "healthcare": "Health Care",
}


def holdings_from_weightings(etf: str, raw: dict[str, Any], today: dt.date) -> Holdings | None:
    """Holdings from ``funds_data.sector_weightings``; unknown keys and junk are dropped."""
    weights: dict[str, float] = {}
    for key, value in raw.items():
        sector = MORNINGSTAR_TO_GICS.get(str(key))
        try:
            w = float(value)
        except (TypeError, ValueError):
            continue
        if sector is None or not math.isfinite(w) or w <= 0:
            continue
        weights[sector] = weights.get(sector, 0.0) + w
    ordered = normalized(weights)
    if not ordered:
        return None
    return Holdings(
        fund=etf,
        as_of=today,
        source=f"Yahoo Finance fund data for {etf} (Morningstar sectors)",
        sector_weights=ordered,
        positions=0,
    )
