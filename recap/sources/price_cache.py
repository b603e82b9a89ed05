"""Columnar caches of a snapshot's price files: one .npz file each in the cache folder.

Parsing ~1,900 constituent price files costs a second at best; a build needs only
their closes. So each file is parsed once (with every check of ``read_price_csv``; the
files a build lacks, in one batch: price_batch.py), its columns kept as arrays (session
day numbers, then the values) beside the file's size and modification time, and the
whole set saved as one uncompressed .npz. Later builds, and every backfill worker, load
that one file in milliseconds; a file whose size, modification time or inode change time
changed is parsed again, and the cache is rewritten (atomically, so a crash leaves the
old one). Two caches use it: the constituents' closes (one column) and the full bars of
the indexes and funds a build reads (six columns).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

# 3: the key holds st_ctime_ns. A file edited in place to the same size, its mtime set
# back (touch -d, os.utime), kept its old prices; restoring the mtime moves the ctime,
# which no user can set, so the key follows the content for the cost of a stat.
CACHE_VERSION = 3
PIVOTS_KEPT = 4
EPOCH = np.datetime64("1970-01-01", "D")

# A file's session days (int32 days since 1970-01-01, ascending) and values (float64, a
# row a day, a column per cached column).
Columns = tuple[np.ndarray, np.ndarray]
ReadFiles = Callable[[list[Path]], Iterable[Columns]]  # each file's Columns, in order


@dataclass(frozen=True)
class _Entry:
    size: int
    mtime_ns: int
    ctime_ns: int
    days: np.ndarray  # int32 days since 1970-01-01, ascending
    values: np.ndarray  # float64, one row per day, one column per cached column


def day_numbers(dates: np.ndarray) -> np.ndarray:
    """Dates (datetime64 of any unit) as int32 days since 1970-01-01."""
    return (dates.astype("datetime64[D]") - EPOCH).astype(np.int32)


def columns_of(frame: pd.DataFrame, columns: Sequence[str]) -> Columns:
    """A frame indexed by date as the cache keeps it."""
    days = day_numbers(pd.DatetimeIndex(frame.index).values)
    return days, frame[list(columns)].to_numpy(dtype=np.float64)


def cache_path(cache_dir: Path, prices_dir: Path, kind: str = "closes") -> Path:
    """The ``kind`` cache file of one snapshot folder (named after its absolute path)."""
    key = hashlib.sha1(str(prices_dir.resolve()).encode()).hexdigest()[:12]
    return cache_dir / f"{kind}-{key}.npz"


class PriceCache:
    """Columns of a snapshot's price files, parsed once and kept in one .npz file:
    ``columns`` ("Close" alone, or every bar column) as ``read`` returns them."""

    def __init__(
        self,
        prices_dir: Path,
        path: Path | None,
        read: ReadFiles,
        columns: tuple[str, ...] = ("Close",),
    ) -> None:
        self.prices_dir = prices_dir
        self.path = path
        self._read = read
        self.columns = columns
        self._entries: dict[str, _Entry] = {}
        self._loaded = False
        # A build asks for the same ~1,900 closes week after week: the last pivots are
        # kept (one per set of tickers: the Russell 2000's and the S&P 500's stocks), and
        # each call takes its rows (see closes).
        self._pivots: dict[tuple[str, ...], _Pivot] = {}
        self.parsed = 0  # files parsed by this process (a test reads it)

    def _load(self) -> None:
        self._loaded = True
        if self.path is None or not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if int(data["version"]) != CACHE_VERSION:
                    return
                if tuple(data["columns"].tolist()) != self.columns:
                    return
                tickers = data["tickers"]
                sizes, mtimes, offsets = data["sizes"], data["mtimes"], data["offsets"]
                ctimes = data["ctimes"]
                days, values = data["days"], data["values"]
        except (OSError, ValueError, KeyError) as e:
            logger.warning("price cache %s unreadable (%s); rebuilding it", self.path, e)
            return
        for i, ticker in enumerate(tickers.tolist()):
            lo, hi = int(offsets[i]), int(offsets[i + 1])
            self._entries[ticker] = _Entry(
                int(sizes[i]), int(mtimes[i]), int(ctimes[i]), days[lo:hi], values[lo:hi]
            )

    def _save(self) -> None:
        if self.path is None:
            return
        tickers = sorted(self._entries)
        entries = [self._entries[t] for t in tickers]
        offsets = np.zeros(len(entries) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(e.days) for e in entries])
        empty_days = np.zeros(0, np.int32)
        empty_values = np.zeros((0, len(self.columns)), np.float64)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".cache-", suffix=".npz", dir=self.path.parent)
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    version=np.int64(CACHE_VERSION),
                    root=np.array(str(self.prices_dir.resolve())),
                    columns=np.array(self.columns, dtype=str),
                    tickers=np.array(tickers, dtype=str),
                    sizes=np.array([e.size for e in entries], dtype=np.int64),
                    mtimes=np.array([e.mtime_ns for e in entries], dtype=np.int64),
                    ctimes=np.array([e.ctime_ns for e in entries], dtype=np.int64),
                    offsets=offsets,
                    days=np.concatenate([e.days for e in entries] or [empty_days]),
                    values=np.concatenate([e.values for e in entries] or [empty_values]),
                )
            os.replace(tmp, self.path)
        except OSError as e:
            # A cache that cannot be written costs time, never a build.
            logger.warning("price cache %s not saved: %s", self.path, e.strerror or e)
            return
        _prune(self.path.parent, self.path.name.split("-")[0])

    def _fresh(self, tickers: Sequence[str]) -> dict[str, _Entry]:
        """The entries of the tickers that have a file, in order; the files the cache
        lacks or that changed are parsed in one batch, and the cache saved."""
        if not self._loaded:
            self._load()
        stale: dict[str, tuple[Path, os.stat_result]] = {}
        found: list[str] = []
        for ticker in dict.fromkeys(tickers):
            # os.stat on a string: a Path per ticker cost more than the stat itself.
            try:
                st = os.stat(f"{self.prices_dir}/{ticker}.csv")
            except OSError:
                self._entries.pop(ticker, None)
                continue
            found.append(ticker)
            entry = self._entries.get(ticker)
            key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            if entry is None or (entry.size, entry.mtime_ns, entry.ctime_ns) != key:
                stale[ticker] = (self.prices_dir / f"{ticker}.csv", st)
        if stale:
            read = self._read([path for path, _ in stale.values()])
            # Kept as they come, as before: a bad file raises with those before it kept.
            for (ticker, (_, st)), (days, values) in zip(stale.items(), read, strict=True):
                self._entries[ticker] = _Entry(
                    st.st_size, st.st_mtime_ns, st.st_ctime_ns, days, values
                )
                self.parsed += 1
            self._save()
        return {ticker: self._entries[ticker] for ticker in found}

    def columns_for(self, path: Path) -> Columns | None:
        """The cached columns of ``path`` when the cache holds them for the file as it
        is now (same size and time); None otherwise. Another cache of the same folder
        reads them instead of parsing the file a second time."""
        if not self._loaded:
            self._load()
        entry = self._entries.get(path.stem)
        if entry is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if (entry.size, entry.mtime_ns) != (st.st_size, st.st_mtime_ns):
            return None
        return entry.days, entry.values

    def closes(
        self, tickers: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Wide frame of closes in [start, end]: one column per ticker that has a file."""
        found = self._fresh(tickers)
        key = tuple(found)
        pivot = self._pivots.get(key)
        if pivot is None or not pivot.built_from(found):
            pivot = _Pivot.of(found)
            self._pivots.pop(key, None)
            while len(self._pivots) >= PIVOTS_KEPT:
                self._pivots.pop(next(iter(self._pivots)))  # the oldest
            self._pivots[key] = pivot
        return pivot.window(start, end)

    def frames(
        self,
        tickers: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Every cached column of each ticker that has a file, indexed by "Date"; with
        ``start`` and ``end``, only the rows in [start, end], and the tickers with none
        left out (the rows cut before any frame is built: a build reads a year of
        indexes that hold decades)."""
        out: dict[str, pd.DataFrame] = {}
        for ticker, entry in self._fresh(tickers).items():
            first, last = 0, len(entry.days)
            if start is not None and end is not None:
                first = int(np.searchsorted(entry.days, _day_number(start), side="left"))
                last = int(np.searchsorted(entry.days, _day_number(end), side="right"))
                if first >= last:
                    continue
            days = (EPOCH + entry.days[first:last].astype("timedelta64[D]")).astype(
                "datetime64[us]"
            )
            index = pd.DatetimeIndex(days, name="Date")
            rows = entry.values[first:last]
            out[ticker] = pd.DataFrame(rows, index=index, columns=list(self.columns), copy=True)
        return out


def _day_number(day: pd.Timestamp) -> int:
    """Days since 1970-01-01 of ``day``'s date, as the entries count them."""
    return int((np.datetime64(day.date(), "D") - EPOCH).astype(np.int64))


def _prune(folder: Path, kind: str) -> None:
    """Remove the caches of snapshot folders that no longer exist (a test's temporary
    snapshot, a folder moved): each cache names the folder it was built from."""
    for other in folder.glob(f"{kind}-*.npz"):
        try:
            with np.load(other, allow_pickle=False) as data:
                root = str(data["root"]) if "root" in data.files else ""
        except (OSError, ValueError):
            continue
        if root and not Path(root).is_dir():
            other.unlink(missing_ok=True)


@dataclass(frozen=True)
class _Pivot:
    """The entries' closes on the union of their days, every day they hold. A window of
    it is what pivoting only the window's cells gives: each of its days has a close in
    some entry, so the window's days are the union of the entries' days in the window."""

    tickers: tuple[str, ...]
    entries: tuple[_Entry, ...]  # what it was built from, to tell when it is stale
    calendar: np.ndarray  # int32 days since 1970-01-01, ascending
    matrix: np.ndarray  # float64, one row per day, one column per ticker

    @staticmethod
    def of(found: dict[str, _Entry]) -> _Pivot:
        """One vectorized pivot of the entries' (day, close) columns."""
        entries = tuple(found.values())
        days = np.concatenate([e.days for e in entries] or [np.zeros(0, np.int32)])
        closes = np.concatenate([e.values[:, 0] for e in entries] or [np.zeros(0, np.float64)])
        cols = np.repeat(np.arange(len(entries)), [len(e.days) for e in entries])
        calendar = np.unique(days)
        matrix = np.full((len(calendar), len(entries)), np.nan)
        matrix[np.searchsorted(calendar, days), cols] = closes
        return _Pivot(tuple(found), entries, calendar, matrix)

    def built_from(self, found: dict[str, _Entry]) -> bool:
        """True when ``found`` is what this pivot was built from (the same entries, so
        no file changed since)."""
        return self.tickers == tuple(found) and all(
            a is b for a, b in zip(self.entries, found.values(), strict=True)
        )

    def window(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Wide frame of the closes in [start, end] (a copy: callers own it)."""
        first = int(np.searchsorted(self.calendar, _day_number(start), side="left"))
        last = int(np.searchsorted(self.calendar, _day_number(end), side="right"))
        days = self.calendar[first:last]
        index = pd.DatetimeIndex((EPOCH + days.astype("timedelta64[D]")).astype("datetime64[us]"))
        rows = self.matrix[first:last]
        return pd.DataFrame(rows, index=index.rename("Date"), columns=list(self.tickers), copy=True)
