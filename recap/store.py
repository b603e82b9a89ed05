"""The local SQLite store: cached daily bars and earnings, with what range was fetched.

``coverage`` records the date range fetched from upstream per ticker, so a holiday or
a day without a bar inside it is never fetched again. Every write is one transaction.
The schema grows by appending statements to ``MIGRATIONS``; ``meta.schema_version``
says how many have run.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd

from recap.errors import StoreError
from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS, empty_earnings

# Append only: migration N (1-based) is MIGRATIONS[N - 1]; never edit a shipped entry.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE bars (
            ticker TEXT NOT NULL, date TEXT NOT NULL,
            open REAL, high REAL, low REAL, close REAL, adj_close REAL, volume REAL,
            PRIMARY KEY (ticker, date)
        ) WITHOUT ROWID""",
        """CREATE TABLE coverage (
            ticker TEXT PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL
        )""",
        """CREATE TABLE earnings (
            ticker TEXT NOT NULL, date TEXT NOT NULL, time TEXT NOT NULL DEFAULT '',
            eps_estimate REAL, eps_actual REAL, surprise_pct REAL, fetched_at TEXT NOT NULL,
            PRIMARY KEY (ticker, date)
        )""",
        """CREATE TABLE earnings_coverage (
            ticker TEXT PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        )""",
    ),
]

_BAR_FIELDS = ("open", "high", "low", "close", "adj_close", "volume")


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _num(value: object) -> float | None:
    """A float for SQLite, None for NaN (SQLite has no NaN)."""
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _float(value: float | None) -> float:
    return math.nan if value is None else value


class Store:
    """A SQLite file holding cached bars and earnings; created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a usable recap store ({e})") from None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection, for modules that keep their own tables here."""
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One all-or-nothing transaction: commits on success, rolls back on error."""
        with self._conn:
            yield self._conn

    def schema_version(self) -> int:
        """How many migrations have run."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        with self._conn:
            self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        version = self.schema_version()
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._conn:
                # DDL does not open a transaction implicitly: BEGIN keeps a migration atomic.
                self._conn.execute("BEGIN")
                for sql in statements:
                    self._conn.execute(sql)
                self._conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(number),),
                )

    # -- bars ---------------------------------------------------------------

    def save_bars(
        self,
        ticker_frames: Mapping[str, pd.DataFrame],
        covered_start: dt.date,
        covered_end: dt.date,
        covered: Iterable[str] | None = None,
    ) -> None:
        """Write bars and extend coverage by [covered_start, covered_end], all or nothing.

        ``covered`` names the tickers whose coverage grows (default: those in
        ``ticker_frames``). The new range must touch or overlap existing coverage.
        """
        names = list(dict.fromkeys(ticker_frames if covered is None else covered))
        with self._conn:
            for ticker, frame in ticker_frames.items():
                values = frame.loc[:, list(BAR_COLUMNS)].to_numpy(dtype="float64")
                cells = values.astype(object)
                cells[np.isnan(values)] = None  # SQLite has no NaN
                days = pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d")
                rows = [(ticker, day, *v) for day, v in zip(days, cells.tolist(), strict=True)]
                self._conn.executemany(
                    "INSERT OR REPLACE INTO bars (ticker, date, open, high, low, close, "
                    "adj_close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            for ticker in names:
                self._extend_coverage(ticker, covered_start, covered_end)

    def _extend_coverage(self, ticker: str, start: dt.date, end: dt.date) -> None:
        current = self.coverage(ticker)
        if current is not None:
            first, last = current
            one = dt.timedelta(days=1)
            if start > last + one or end < first - one:
                # A gap would be claimed as fetched: refuse rather than lie.
                raise StoreError(
                    f"{self.path}: coverage of {ticker} is {first}..{last}; "
                    f"{start}..{end} leaves a gap"
                )
            start, end = min(start, first), max(end, last)
        self._conn.execute(
            "INSERT OR REPLACE INTO coverage (ticker, first, last) VALUES (?, ?, ?)",
            (ticker, _iso(start), _iso(end)),
        )

    def forget_bars(self, tickers: Iterable[str]) -> None:
        """Drop the bars and coverage of ``tickers`` (history to be fetched again whole)."""
        names = [(t,) for t in dict.fromkeys(tickers)]
        with self._conn:
            self._conn.executemany("DELETE FROM bars WHERE ticker = ?", names)
            self._conn.executemany("DELETE FROM coverage WHERE ticker = ?", names)

    def coverage(self, ticker: str) -> tuple[dt.date, dt.date] | None:
        """The (first, last) date range fetched for ``ticker``, or None."""
        row = self._conn.execute(
            "SELECT first, last FROM coverage WHERE ticker = ?", (ticker,)
        ).fetchone()
        return (_day(row[0]), _day(row[1])) if row else None

    def load_bars(
        self, tickers: Iterable[str], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Bars per ticker in [start, end], in the shared layout; tickers without rows left out."""
        names = list(dict.fromkeys(tickers))
        if not names:
            return {}
        marks = ",".join("?" * len(names))
        # One query for every ticker: a run asks for dozens, each with years of bars.
        rows = self._conn.execute(
            "SELECT ticker, date, open, high, low, close, adj_close, volume FROM bars "
            f"WHERE ticker IN ({marks}) AND date BETWEEN ? AND ? ORDER BY ticker, date",
            (*names, _iso(start), _iso(end)),
        ).fetchall()
        if not rows:
            return {}
        table = pd.DataFrame.from_records(rows, columns=["ticker", "Date", *BAR_COLUMNS])
        table["Date"] = pd.to_datetime(table["Date"], format="%Y-%m-%d")
        out: dict[str, pd.DataFrame] = {}
        for ticker, part in table.groupby("ticker", sort=False):
            frame = part.set_index("Date").loc[:, list(BAR_COLUMNS)].astype("float64")
            frame.columns.name = None
            out[str(ticker)] = frame
        return {t: out[t] for t in names if t in out}

    def latest_session(self, tickers: Iterable[str]) -> dt.date | None:
        """The latest date any of ``tickers`` has a bar for, or None."""
        names = list(dict.fromkeys(tickers))
        if not names:
            return None
        marks = ",".join("?" * len(names))
        row = self._conn.execute(
            f"SELECT MAX(date) FROM bars WHERE ticker IN ({marks})", names
        ).fetchone()
        return _day(row[0]) if row and row[0] else None

    def tickers(self) -> tuple[str, ...]:
        """Every ticker with bars or coverage, sorted."""
        rows = self._conn.execute(
            "SELECT ticker FROM coverage UNION SELECT DISTINCT ticker FROM bars ORDER BY 1"
        ).fetchall()
        return tuple(r[0] for r in rows)

    # -- earnings -----------------------------------------------------------

    def save_earnings(
        self,
        earnings: pd.DataFrame,
        tickers: Iterable[str],
        start: dt.date,
        end: dt.date,
        fetched_at: dt.datetime,
    ) -> None:
        """Replace the earnings of ``tickers`` in [start, end] with ``earnings``, all or nothing."""
        names = list(dict.fromkeys(tickers))
        stamp = fetched_at.isoformat()
        with self._conn:
            for ticker in names:
                self._conn.execute(
                    "DELETE FROM earnings WHERE ticker = ? AND date BETWEEN ? AND ?",
                    (ticker, _iso(start), _iso(end)),
                )
                cover = self.earnings_coverage(ticker)
                first, last = (start, end) if cover is None else cover[:2]
                self._conn.execute(
                    "INSERT OR REPLACE INTO earnings_coverage (ticker, first, last, fetched_at) "
                    "VALUES (?, ?, ?, ?)",
                    (ticker, _iso(min(first, start)), _iso(max(last, end)), stamp),
                )
            frame = earnings.loc[:, list(EARNINGS_COLUMNS)]
            rows = list(
                zip(
                    frame["ticker"].astype(str),
                    pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d"),
                    frame["time"].fillna("").astype(str),
                    *(map(_num, frame[c]) for c in ("eps_estimate", "eps_actual", "surprise_pct")),
                    [stamp] * len(frame),
                    strict=True,
                )
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO earnings (ticker, date, time, eps_estimate, eps_actual, "
                "surprise_pct, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def earnings_coverage(self, ticker: str) -> tuple[dt.date, dt.date, dt.datetime] | None:
        """(first, last, fetched_at) of the earnings fetched for ``ticker``, or None."""
        row = self._conn.execute(
            "SELECT first, last, fetched_at FROM earnings_coverage WHERE ticker = ?", (ticker,)
        ).fetchone()
        if not row:
            return None
        return _day(row[0]), _day(row[1]), dt.datetime.fromisoformat(row[2])

    def load_earnings(self, tickers: Iterable[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Earnings rows (EARNINGS_COLUMNS) of ``tickers`` with dates in [start, end]."""
        names = list(dict.fromkeys(tickers))
        if not names:
            return empty_earnings()
        marks = ",".join("?" * len(names))
        rows = self._conn.execute(
            "SELECT ticker, date, time, eps_estimate, eps_actual, surprise_pct FROM earnings "
            f"WHERE ticker IN ({marks}) AND date BETWEEN ? AND ? ORDER BY date, ticker",
            (*names, _iso(start), _iso(end)),
        ).fetchall()
        if not rows:
            return empty_earnings()
        out = pd.DataFrame(
            {
                "ticker": pd.Series([r[0] for r in rows], dtype="object"),
                "date": pd.to_datetime([r[1] for r in rows], format="%Y-%m-%d"),
                "time": pd.Series([r[2] for r in rows], dtype="object"),
            }
        )
        for i, col in enumerate(("eps_estimate", "eps_actual", "surprise_pct"), start=3):
            out[col] = [_float(r[i]) for r in rows]
        return out
