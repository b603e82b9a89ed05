"""A columnar cache of a snapshot's closing prices: one .npz file in the cache folder.

Reading ~1,900 constituent price files costs seconds; a build needs only their closes.
So each file is parsed once (with every check of ``read_price_csv``), its closes kept as
two columns (session day numbers, closes) beside the file's size and modification
time, and the whole set saved as one uncompressed .npz. Later builds, and every
backfill worker, load that one file in milliseconds; a file whose size or time changed
is parsed again, and the cache is rewritten (atomically, so a crash leaves the old one).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
EPOCH = np.datetime64("1970-01-01", "D")

ReadCloses = Callable[[Path], pd.Series]


@dataclass(frozen=True)
class _Entry:
    size: int
    mtime_ns: int
    days: np.ndarray  # int32 days since 1970-01-01, ascending
    closes: np.ndarray  # float64, NaN where the file has no close


def cache_path(cache_dir: Path, prices_dir: Path) -> Path:
    """The cache file of one snapshot folder (named after its absolute path)."""
    key = hashlib.sha1(str(prices_dir.resolve()).encode()).hexdigest()[:12]
    return cache_dir / f"closes-{key}.npz"


class ClosesCache:
    """Closes of a snapshot's price files, parsed once and kept in one .npz file."""

    def __init__(self, prices_dir: Path, path: Path | None, read: ReadCloses) -> None:
        self.prices_dir = prices_dir
        self.path = path
        self._read = read
        self._entries: dict[str, _Entry] = {}
        self._loaded = False
        self.parsed = 0  # files parsed by this process (a test reads it)

    def _load(self) -> None:
        self._loaded = True
        if self.path is None or not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if int(data["version"]) != CACHE_VERSION:
                    return
                tickers = data["tickers"]
                sizes, mtimes, offsets = data["sizes"], data["mtimes"], data["offsets"]
                days, closes = data["days"], data["closes"]
        except (OSError, ValueError, KeyError) as e:
            logger.warning("closes cache %s unreadable (%s); rebuilding it", self.path, e)
            return
        for i, ticker in enumerate(tickers.tolist()):
            lo, hi = int(offsets[i]), int(offsets[i + 1])
            self._entries[ticker] = _Entry(
                int(sizes[i]), int(mtimes[i]), days[lo:hi], closes[lo:hi]
            )

    def _save(self) -> None:
        if self.path is None:
            return
        tickers = sorted(self._entries)
        entries = [self._entries[t] for t in tickers]
        offsets = np.zeros(len(entries) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(e.days) for e in entries])
        empty_days, empty_closes = np.zeros(0, np.int32), np.zeros(0, np.float64)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".closes-", suffix=".npz", dir=self.path.parent)
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    version=np.int64(CACHE_VERSION),
                    root=np.array(str(self.prices_dir.resolve())),
                    tickers=np.array(tickers, dtype=str),
                    sizes=np.array([e.size for e in entries], dtype=np.int64),
                    mtimes=np.array([e.mtime_ns for e in entries], dtype=np.int64),
                    offsets=offsets,
                    days=np.concatenate([e.days for e in entries] or [empty_days]),
                    closes=np.concatenate([e.closes for e in entries] or [empty_closes]),
                )
            os.replace(tmp, self.path)
        except OSError as e:
            # A cache that cannot be written costs time, never a build.
            logger.warning("closes cache %s not saved: %s", self.path, e.strerror or e)
            return
        _prune(self.path.parent)

    def _fresh(self, ticker: str) -> _Entry | None:
        """The ticker's entry, parsing its file when the cache lacks it or it changed."""
        path = self.prices_dir / f"{ticker}.csv"
        try:
            st = path.stat()
        except OSError:
            self._entries.pop(ticker, None)
            return None
        entry = self._entries.get(ticker)
        if entry is not None and (entry.size, entry.mtime_ns) == (st.st_size, st.st_mtime_ns):
            return entry
        series = self._read(path)
        index = pd.DatetimeIndex(series.index).values.astype("datetime64[D]")
        entry = _Entry(
            st.st_size,
            st.st_mtime_ns,
            (index - EPOCH).astype(np.int32),
            series.to_numpy(dtype=np.float64),
        )
        self._entries[ticker] = entry
        self.parsed += 1
        return entry

    def closes(
        self, tickers: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Wide frame of closes in [start, end]: one column per ticker that has a file."""
        if not self._loaded:
            self._load()
        before = self.parsed
        found: dict[str, _Entry] = {}
        for ticker in dict.fromkeys(tickers):
            entry = self._fresh(ticker)
            if entry is not None:
                found[ticker] = entry
        if self.parsed != before:
            self._save()
        return _wide(found, start, end)


def _prune(folder: Path) -> None:
    """Remove the caches of snapshot folders that no longer exist (a test's temporary
    snapshot, a folder moved): each cache names the folder it was built from."""
    for other in folder.glob("closes-*.npz"):
        try:
            with np.load(other, allow_pickle=False) as data:
                root = str(data["root"]) if "root" in data.files else ""
        except (OSError, ValueError):
            continue
        if root and not Path(root).is_dir():
            other.unlink(missing_ok=True)


def _wide(found: dict[str, _Entry], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One vectorized pivot of the entries' (day, close) columns onto their union of days."""
    lo = int((np.datetime64(start.date(), "D") - EPOCH).astype(np.int64))
    hi = int((np.datetime64(end.date(), "D") - EPOCH).astype(np.int64))
    tickers = list(found)
    entries = list(found.values())
    days = np.concatenate([e.days for e in entries] or [np.zeros(0, np.int32)])
    closes = np.concatenate([e.closes for e in entries] or [np.zeros(0, np.float64)])
    cols = np.repeat(np.arange(len(entries)), [len(e.days) for e in entries])
    keep = (days >= lo) & (days <= hi)
    days, closes, cols = days[keep], closes[keep], cols[keep]
    calendar = np.unique(days)
    matrix = np.full((len(calendar), len(entries)), np.nan)
    matrix[np.searchsorted(calendar, days), cols] = closes
    index = pd.DatetimeIndex((EPOCH + calendar.astype("timedelta64[D]")).astype("datetime64[us]"))
    return pd.DataFrame(matrix, index=index.rename("Date"), columns=tickers)
