"""A saved snapshot folder: prices/<TICKER>.csv, earnings.csv, sectors.csv, holdings/.

The layout of ``../shared/data/market`` (yfinance's ``to_csv`` layout per ticker). Every
file is checked as it is read: a malformed or truncated line is a SourceError naming the
file and the line.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from recap.errors import SourceError
from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS, empty_earnings
from recap.sources.price_batch import parse_prices
from recap.sources.price_cache import Columns, PriceCache, cache_path, columns_of

PRICE_HEADER = ("Date", *BAR_COLUMNS)


# The largest real price file (^DJI, daily since 1985) is 0.5 MB: 32 MB is centuries of
# bars. A bigger file is refused by its size, before it is read (a 200 MB file took
# 2.3 GB of memory on its way to being refused).
MAX_PRICE_FILE_BYTES = 32 * 2**20


def check_price_file_size(path: Path) -> None:
    """SourceError when ``path`` is too large to be a price file (see MAX_PRICE_FILE_BYTES)."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # the read says why
    if size > MAX_PRICE_FILE_BYTES:
        raise SourceError(
            f"{path}: {size / 2**20:.0f} MB, too large for a price file (at most "
            f"{MAX_PRICE_FILE_BYTES // 2**20} MB); not read"
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path}: is not a UTF-8 text file") from None


def _bad_line(path: Path, lines: list[str], expected: int) -> None:
    for number, line in enumerate(lines, start=1):
        if line.strip() and line.count(",") != expected - 1:
            raise SourceError(
                f"{path}, line {number}: expected {expected} fields, found "
                f"{line.count(',') + 1} (malformed or truncated line: {line[:60]!r})"
            )


def _first_bad(path: Path, column: str, raw: pd.Series, parsed: pd.Series) -> None:
    if not parsed.isna().any():
        return  # the common case, and the cheap test
    bad = raw.notna() & (raw.astype(str).str.strip() != "") & parsed.isna()
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise SourceError(
            f"{path}, line {pos + 2}: {column} value {raw.iloc[pos]!r} is not a valid "
            + ("date (YYYY-MM-DD)" if column == "Date" else "number")
        )


def _read_clean(text: str) -> pd.DataFrame | None:
    """The fast path: a file whose every value parses. None sends it down the slow,
    checking path, which names the first bad line."""
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            index_col="Date",
            dtype={c: "float64" for c in BAR_COLUMNS},
            keep_default_na=False,
            na_values=[""],
        )
        index = pd.to_datetime(frame.index, format="%Y-%m-%d")
    except (ValueError, TypeError):
        return None
    if index.has_duplicates or index.isna().any():
        return None
    frame.index = pd.DatetimeIndex(index, name="Date")
    frame.columns = [str(c).strip() for c in frame.columns]  # "Date, Open,..." is allowed
    return frame[list(BAR_COLUMNS)].sort_index()


def read_price_csv(path: Path) -> pd.DataFrame:
    """Read and check one prices/<TICKER>.csv into the shared bars layout."""
    check_price_file_size(path)
    text = _read_text(path)
    lines = text.splitlines()
    if not lines or tuple(h.strip() for h in lines[0].split(",")) != PRICE_HEADER:
        raise SourceError(f"{path}, line 1: header must be {','.join(PRICE_HEADER)}")
    _bad_line(path, lines, len(PRICE_HEADER))
    fast = _read_clean(text)
    if fast is not None:
        return fast
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    raw.columns = [str(c).strip() for c in raw.columns]  # "Date, Open,..." passed the check
    dates = pd.to_datetime(raw["Date"], format="%Y-%m-%d", errors="coerce")
    _first_bad(path, "Date", raw["Date"], dates)
    if dates.isna().any():  # a row without a date would be kept as 1970-01-01
        line = int(dates.isna().to_numpy().nonzero()[0][0]) + 2
        raise SourceError(f"{path}, line {line}: the Date is missing")
    frame = pd.DataFrame(index=pd.DatetimeIndex(dates, name="Date"))
    for col in BAR_COLUMNS:
        values = pd.to_numeric(raw[col], errors="coerce")
        _first_bad(path, col, raw[col], values)
        frame[col] = values.to_numpy(dtype="float64")
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise SourceError(f"{path}: date {dup.date().isoformat()} appears more than once")
    return frame.sort_index()


def read_earnings_csv(path: Path) -> pd.DataFrame:
    """Read and check earnings.csv (EARNINGS_COLUMNS)."""
    text = _read_text(path)
    lines = text.splitlines()
    if not lines or tuple(h.strip() for h in lines[0].split(",")) != EARNINGS_COLUMNS:
        raise SourceError(f"{path}, line 1: header must be {','.join(EARNINGS_COLUMNS)}")
    _bad_line(path, lines, len(EARNINGS_COLUMNS))
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    out = pd.DataFrame({"ticker": raw["ticker"].astype(str).str.strip()})
    out["date"] = pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce")
    _first_bad(path, "Date", raw["date"], out["date"])
    out["time"] = raw["time"].fillna("").astype(str)
    for col in ("eps_estimate", "eps_actual", "surprise_pct"):
        out[col] = pd.to_numeric(raw[col], errors="coerce")
        _first_bad(path, col, raw[col], out[col])
    return out


def _read_bytes(path: Path) -> bytes | None:
    check_price_file_size(path)
    try:
        return path.read_bytes()
    except OSError:
        return None  # read_price_csv says why


def read_price_files(paths: list[Path]) -> Iterator[Columns]:
    """Each file's (days, BAR_COLUMNS values) as read_price_csv reads it, in order: the
    clean files parsed in one batch (price_batch.py), any other by read_price_csv, whose
    error names the file and the line."""
    parsed = parse_prices([_read_bytes(path) for path in paths])
    for path, columns in zip(paths, parsed, strict=True):
        yield columns if columns is not None else columns_of(read_price_csv(path), BAR_COLUMNS)


_CLOSE, _ADJ_CLOSE = BAR_COLUMNS.index("Close"), BAR_COLUMNS.index("Adj Close")


def _read_closes(paths: list[Path], bars: PriceCache | None = None) -> Iterator[Columns]:
    # close_series (Close, else Adj Close) on arrays: a frame per file would cost ~0.2 s.
    # A file the bars cache already holds (an S&P 500 stock the report also shows, such
    # as NVDA) is taken from it rather than parsed again.
    held = [bars.columns_for(p) if bars is not None else None for p in paths]
    rest = [p for p, h in zip(paths, held, strict=True) if h is None]
    parsed = read_price_files(rest) if rest else iter(())
    for h in held:
        days, values = h if h is not None else next(parsed)
        close = values[:, _CLOSE]
        yield days, np.where(np.isnan(close), values[:, _ADJ_CLOSE], close)[:, None]


# One cache of each kind per (prices folder, cache file) and process: every source opened
# on the same snapshot shares what was loaded. The readers are looked up when called, so
# a test can count the files parsed.
_CACHES: dict[tuple[Path, Path | None, str], PriceCache] = {}


def price_cache(prices_dir: Path, cache_dir: Path | None, kind: str = "closes") -> PriceCache:
    """The process's ``kind`` cache of ``prices_dir`` (saved in ``cache_dir`` when given):
    "closes" (the constituents' closes) or "bars" (every column, for fetch_bars)."""
    path = cache_path(cache_dir, prices_dir, kind) if cache_dir is not None else None
    key = (prices_dir.resolve(), path, kind)
    if key not in _CACHES:
        if kind == "bars":
            cache = PriceCache(prices_dir, path, lambda ps: read_price_files(ps), BAR_COLUMNS)
        else:
            bars = price_cache(prices_dir, cache_dir, "bars")
            cache = PriceCache(prices_dir, path, lambda ps: _read_closes(ps, bars))
        _CACHES[key] = cache
    return _CACHES[key]


class SnapshotSource:
    """Prices and earnings from a snapshot folder; no network.

    ``cache_dir``: where the columnar caches of closes and bars live (price_cache.py);
    without one, each file is parsed once per process and kept in memory only.
    """

    def __init__(self, root: Path, name: str = "snapshot", cache_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.name = name
        if not (self.root / "prices").is_dir():
            raise SourceError(
                f"{self.root} is not a snapshot folder: it has no prices/ subfolder "
                "(expected prices/<TICKER>.csv, earnings.csv, sectors.csv)"
            )
        self._earnings: pd.DataFrame | None = None
        self._closes = price_cache(self.root / "prices", cache_dir)
        self._bars = price_cache(self.root / "prices", cache_dir, "bars")

    def _price_path(self, ticker: str) -> Path:
        return self.root / "prices" / f"{ticker}.csv"

    def has(self, ticker: str) -> bool:
        """True when the snapshot has a prices file for ``ticker``."""
        return self._price_path(ticker).is_file()

    def fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Bars per ticker in [start, end]; tickers without a file are left out."""
        return self._bars.frames(tickers, pd.Timestamp(start), pd.Timestamp(end))

    def fetch_closes(self, tickers: tuple[str, ...], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Wide frame of closes in [start, end] from the columnar cache (many tickers)."""
        return self._closes.closes(tickers, pd.Timestamp(start), pd.Timestamp(end))

    def fetch_earnings(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Earnings rows of ``tickers`` with report dates in [start, end]."""
        if self._earnings is None:
            path = self.root / "earnings.csv"
            self._earnings = read_earnings_csv(path) if path.is_file() else empty_earnings()
        e = self._earnings
        mask = (
            e["ticker"].isin(tickers)
            & (e["date"] >= pd.Timestamp(start))
            & (e["date"] <= pd.Timestamp(end))
        )
        return e.loc[mask].reset_index(drop=True)

    def latest_session(self, tickers: tuple[str, ...]) -> dt.date | None:
        """The latest date any of ``tickers`` has a bar for, or None."""
        last = [b.index.max() for b in self._bars.frames(tickers).values() if len(b)]
        return max(last).date() if last else None
