"""The interface every price source implements, and the frame layout they share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

BAR_COLUMNS = ("Open", "High", "Low", "Close", "Adj Close", "Volume")
EARNINGS_COLUMNS = ("ticker", "date", "time", "eps_estimate", "eps_actual", "surprise_pct")


class PriceSource(Protocol):
    """Where daily bars and earnings come from.

    ``fetch_bars`` returns one frame per ticker that has data: a DatetimeIndex of
    session dates (tz-naive, midnight, named "Date"), the columns in BAR_COLUMNS as
    floats (NaN where the source has no value), sorted, no duplicate dates. A ticker
    with no data at all is left out of the dict; callers name it as missing.
    ``end`` is inclusive.
    """

    name: str  # "yahoo", "snapshot", "store" or "sample": goes into recap.json

    def fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Daily bars per ticker for sessions in [start, end]."""
        ...

    def fetch_earnings(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Earnings rows (EARNINGS_COLUMNS) for report dates in [start, end]."""
        ...


@dataclass
class FetchFailures:
    """What a live source could not fetch in this run, and why: ticker -> a short reason
    ("rate limited", "Yahoo Finance could not be reached"...).

    A ticker the source answered without data (unknown, delisted) is not a failure: the
    source does not carry it. A failure may clear on the next run, so nothing built on it
    is stored as fact.
    """

    bars: dict[str, str] = field(default_factory=dict)
    earnings: dict[str, str] = field(default_factory=dict)


def failures_of(source: object) -> FetchFailures:
    """The failures a source recorded; none for sources that read files."""
    found = getattr(source, "failures", None)
    return found if isinstance(found, FetchFailures) else FetchFailures()


def empty_bars() -> pd.DataFrame:
    """A bars frame with no rows, in the shared layout."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS})
    frame.index = pd.DatetimeIndex([], name="Date")
    return frame


def empty_earnings() -> pd.DataFrame:
    """An earnings frame with no rows, in the shared layout."""
    return pd.DataFrame(
        {
            "ticker": pd.Series(dtype="object"),
            "date": pd.Series(dtype="datetime64[ns]"),
            "time": pd.Series(dtype="object"),
            "eps_estimate": pd.Series(dtype="float64"),
            "eps_actual": pd.Series(dtype="float64"),
            "surprise_pct": pd.Series(dtype="float64"),
        }
    )


def close_series(bars: pd.DataFrame) -> pd.Series:
    """The closing price: ``Close``, falling back to ``Adj Close`` where Close is empty.

    Some sources carry only an adjusted close (ZION in the snapshot); the weekly move
    is the same either way outside ex-dividend weeks.
    """
    close = bars["Close"].to_numpy(dtype="float64")
    if "Adj Close" in bars:
        adjusted = bars["Adj Close"].to_numpy(dtype="float64")
        close = np.where(np.isnan(close), adjusted, close)  # fillna, without its overhead
    return pd.Series(close, index=bars.index, name="Close", copy=True)


def closes_frame(bars: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Wide frame of closes: one column per ticker, union of session dates."""
    if not bars:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="Date"))
    return aligned({t: close_series(b) for t, b in bars.items()})


def aligned(series: Mapping[str, pd.Series]) -> pd.DataFrame:
    """One column of floats per series on the union of their dates (sorted, named
    "Date"), in one block: pd.concat keeps a block per column, and every later row read
    visits each one (five times slower on ~1,800 constituents)."""
    stamps = [s.index.to_numpy() for s in series.values()]
    days = np.sort(pd.unique(np.concatenate(stamps)))  # np.unique is 5x slower here
    # Each series placed by position (the sources' floats): a reindex per series cost
    # more than the rest of a build's price reads.
    matrix = np.full((len(days), len(series)), np.nan)
    for column, (s, stamp) in enumerate(zip(series.values(), stamps, strict=True)):
        if not s.index.is_unique:  # refused as reindex refused it
            raise ValueError("cannot reindex on an axis with duplicate labels")
        matrix[np.searchsorted(days, stamp), column] = s.to_numpy(dtype="float64")
    index = pd.DatetimeIndex(days, name="Date")
    return pd.DataFrame(matrix, index=index, columns=list(series), copy=False)
