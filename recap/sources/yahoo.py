"""Yahoo Finance through yfinance: the only module that imports yfinance.

yfinance does not raise when a download fails: it logs the failure and returns empty or
all-NaN columns. So every requested ticker is checked, yfinance's log is read during the
call to tell a rate limit (retried with exponential backoff) or an unreachable network
(SourceError with ``offline=True``) from a ticker that simply has no data.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yfinance as yf
from yfinance.exceptions import YFException, YFRateLimitError

from recap.config import RecapConfig
from recap.errors import SourceError
from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS, empty_earnings
from recap.sources.holdings import Holdings, normalized
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
    """Daily bars and earnings from Yahoo Finance (yfinance); the seams are injectable."""

    name = "yahoo"

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        retries: int = 3,
        chunk_size: int = 50,
        backoff_seconds: float = 2.0,
        threads: bool = True,
        earnings_limit: int = 40,
        cache_dir: Path | None = None,
        download: DownloadFn = yf.download,
        ticker_factory: TickerFactory = yf.Ticker,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.retries = max(0, retries)
        self.chunk_size = max(1, chunk_size)
        self.backoff_seconds = backoff_seconds
        self.threads = threads
        self.earnings_limit = min(100, max(1, earnings_limit))  # Yahoo caps it at 100
        self._download = download
        self._ticker = ticker_factory
        self._sleep = sleep
        if cache_dir is not None:
            # yfinance keeps timezone, cookie and ISIN caches; keep them in ours.
            folder = Path(cache_dir) / "yfinance"
            folder.mkdir(parents=True, exist_ok=True)
            yf.set_tz_cache_location(str(folder))

    @classmethod
    def from_config(cls, config: RecapConfig, **seams: Any) -> YahooSource:
        """A YahooSource set up from the [yahoo] table and the cache folder."""
        y = config.section("yahoo")
        return cls(
            timeout=float(y.get("timeout_seconds", 20)),
            retries=int(y.get("retries", 3)),
            chunk_size=int(y.get("chunk_size", 50)),
            backoff_seconds=float(y.get("backoff_seconds", 2.0)),
            threads=bool(y.get("threads", True)),
            earnings_limit=int(y.get("earnings_limit", 40)),
            cache_dir=config.cache_dir,
            **seams,
        )

    def _backoff(self, attempt: int, what: str) -> None:
        delay = self.backoff_seconds * 2**attempt
        logger.warning("Yahoo Finance rate-limited %s; retrying in %.1fs", what, delay)
        self._sleep(delay)

    def _download_chunk(
        self, chunk: tuple[str, ...], start: dt.date, end: dt.date
    ) -> tuple[dict[str, pd.DataFrame], list[str]]:
        frames: dict[str, pd.DataFrame] = {}
        notes: list[str] = []
        pending = chunk
        for attempt in range(self.retries + 1):
            with _yfinance_log() as messages:
                try:
                    raw = self._download(
                        list(pending),
                        start=start.isoformat(),
                        end=(end + dt.timedelta(days=1)).isoformat(),  # yfinance: exclusive
                        auto_adjust=False,
                        actions=False,
                        group_by="column",
                        multi_level_index=True,
                        threads=self.threads,
                        progress=False,
                        timeout=self.timeout,
                    )
                except YFRateLimitError as e:
                    raw, messages = None, [*messages, f"YFRateLimitError: {e}"]
                except OSError as e:  # curl_cffi's request errors are OSErrors
                    raw, messages = None, [*messages, f"{type(e).__name__}: {e}"]
            frames.update(split_download(raw, pending, start, end))
            notes.extend(messages)
            pending = tuple(t for t in pending if t not in frames)
            limited = any(_mentions(m, _RATE_LIMIT) for m in messages)
            if not pending or not limited or attempt == self.retries:
                break
            self._backoff(attempt, f"{len(pending)} tickers")
        return frames, notes

    def fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Bars per ticker in [start, end]: one yf.download per chunk of tickers."""
        wanted = tuple(dict.fromkeys(tickers))
        out: dict[str, pd.DataFrame] = {}
        notes: list[str] = []
        for chunk in _chunks(wanted, self.chunk_size):
            frames, messages = self._download_chunk(chunk, start, end)
            out.update(frames)
            notes.extend(messages)
        missing = [t for t in wanted if t not in out]
        if missing:
            logger.warning("Yahoo Finance returned no bars for %s", ", ".join(missing))
        if wanted and not out:
            self._raise_if_unreachable(notes)
        return out

    def _raise_if_unreachable(self, notes: list[str]) -> None:
        cause = _first_mention(notes, _CONNECTION)
        if cause is not None:
            raise SourceError(
                f"Yahoo Finance could not be reached: {_one_line(cause)}", offline=True
            )
        limited = _first_mention(notes, _RATE_LIMIT)
        if limited is not None:
            raise SourceError(
                f"Yahoo Finance kept refusing requests after {self.retries + 1} attempts: "
                f"{_one_line(limited)}"
            )

    def _earnings_one(self, ticker: str) -> tuple[pd.DataFrame | None, list[str]]:
        notes: list[str] = []
        for attempt in range(self.retries + 1):
            with _yfinance_log() as messages:
                try:
                    frame = self._ticker(ticker).get_earnings_dates(limit=self.earnings_limit)
                    return frame, [*notes, *messages]
                except YFRateLimitError as e:
                    notes.extend([*messages, f"YFRateLimitError: {e}"])
                except (YFException, OSError, KeyError, ValueError) as e:
                    # yfinance scrapes a web page for these; a layout change raises oddly.
                    return None, [*notes, *messages, f"{type(e).__name__}: {e}"]
            if attempt < self.retries:
                self._backoff(attempt, f"earnings of {ticker}")
        return None, notes

    def fetch_earnings(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Earnings rows (EARNINGS_COLUMNS) for report dates in [start, end], New York time."""
        wanted = tuple(dict.fromkeys(tickers))
        parts: list[pd.DataFrame] = []
        notes: list[str] = []
        answered = False
        for ticker in wanted:
            frame, messages = self._earnings_one(ticker)
            notes.extend(messages)
            if frame is None:
                logger.warning("Yahoo Finance returned no earnings dates for %s", ticker)
                continue
            answered = True
            rows = normalize_earnings(ticker, frame, start, end)
            if len(rows):
                parts.append(rows)
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
        with _yfinance_log() as messages:
            try:
                raw = self._ticker(etf).funds_data.sector_weightings
            except (YFException, OSError, KeyError, ValueError, TypeError) as e:
                logger.warning("no sector weights for %s from Yahoo: %s", etf, _one_line(str(e)))
                return None
        if messages:
            logger.info("yfinance said: %s", _one_line(" | ".join(messages)))
        return holdings_from_weightings(etf, raw or {}, today)


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
