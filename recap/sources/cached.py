"""Price sources backed by the local store: CachedSource (store in front of an upstream
source, fetching only what the store does not cover) and StoreSource (store only).

A ticker's coverage is one contiguous date range, so a request is split into at most
two gaps per ticker (before and after what is covered); tickers sharing a gap are
fetched in one upstream call. Each gap's result is saved in one transaction: an
upstream failure leaves the store as it was before that gap.

Only what arrived is stored. A ticker the upstream could not fetch this run (its
``failures``: rate limited, a failed page) gets no coverage, so the next run asks again;
in particular a failed earnings fetch is never stored as "no earnings".
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from recap.errors import SourceError
from recap.sources.base import FetchFailures, PriceSource, failures_of
from recap.store import Store
from recap.weeks import NEW_YORK, nyse_calendar, session_close

logger = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)
# Recorded as fetched_at when no clock was given: any later run with a clock refreshes.
UNKNOWN_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _gaps(
    covered: tuple[dt.date, dt.date] | None, start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """Date ranges to fetch so that coverage spans [start, end] and stays contiguous."""
    if covered is None:
        return [(start, end)]
    first, last = covered
    gaps = []
    if start < first:
        gaps.append((start, first - ONE_DAY))
    if end > last:
        gaps.append((last + ONE_DAY, end))
    return gaps


def _session_span(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
    """[start, end] trimmed to XNYS sessions; None when it holds none (weekend, holiday)."""
    cal = nyse_calendar()
    if start < cal.first_session.date() or end > cal.last_session.date():
        return start, end
    sessions = cal.sessions_in_range(start.isoformat(), end.isoformat())
    if len(sessions) == 0:
        return None
    return sessions[0].date(), sessions[-1].date()


def last_closed_session(now: dt.datetime) -> dt.date:
    """The latest XNYS session whose close is at or before ``now`` (aware)."""
    cal = nyse_calendar()
    day = pd.Timestamp(now.astimezone(NEW_YORK).date())
    session = cal.date_to_session(day, direction="previous")
    if session_close(session.date()) > now:
        session = cal.previous_session(session)
    return session.date()  # type: ignore[no-any-return]


class CachedSource:
    """The store in front of ``upstream``: fetches only dates the store does not cover.

    A live source: it has no ``latest_session``, because the week to report comes from
    the exchange calendar and the clock, and the store then fetches what it lacks.
    """

    def __init__(
        self,
        upstream: PriceSource,
        store: Store,
        *,
        now: dt.datetime | None = None,
        earnings_max_age: dt.timedelta = dt.timedelta(days=1),
    ) -> None:
        self.upstream = upstream
        self.store = store
        self.name = upstream.name
        self.now = now
        self.earnings_max_age = earnings_max_age
        # The upstream's record of what failed (shared, so both see every failure).
        self.failures = failures_of(upstream)
        # Bars after the last closed session may still change: never mark them covered.
        self._settled = last_closed_session(now) if now is not None else None

    def fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Bars per ticker in [start, end]: missing ranges from upstream, then from the store."""
        wanted = tuple(dict.fromkeys(tickers))
        plan: dict[tuple[dt.date, dt.date], list[str]] = {}
        for ticker in wanted:
            for gap in _gaps(self.store.coverage(ticker), start, end):
                plan.setdefault(gap, []).append(ticker)
        for gap, names in sorted(plan.items()):
            self._fill(gap, tuple(names))
        return self.store.load_bars(wanted, start, end)

    def _fill(self, gap: tuple[dt.date, dt.date], names: tuple[str, ...]) -> None:
        gap_start, gap_end = gap
        if self._settled is not None:
            gap_end = min(gap_end, self._settled)
        span = _session_span(gap[0], gap[1])
        if span is None:
            if gap_start <= gap_end:
                self.store.save_bars({}, gap_start, gap_end, covered=names)
            return
        logger.info("fetching %d tickers from %s for %s..%s", len(names), self.upstream.name, *span)
        frames = self.upstream.fetch_bars(names, span[0], span[1])
        covered = [t for t in names if t in frames]
        if frames:
            # Upstream answered: a ticker with no rows just before its coverage has no
            # earlier history (not a failure), so that range need not be fetched again.
            for ticker in names:
                if ticker in frames or ticker in self.failures.bars:
                    continue
                current = self.store.coverage(ticker)
                if current and current[0] == gap[1] + ONE_DAY:
                    covered.append(ticker)
        if gap_start > gap_end:
            covered = []
        self.store.save_bars(frames, gap_start, max(gap_start, gap_end), covered=covered)

    def _earnings_stale(self, ticker: str, start: dt.date, end: dt.date) -> bool:
        cover = self.store.earnings_coverage(ticker)
        if cover is None:
            return True
        first, last, fetched_at = cover
        if start < first or end > last:
            return True
        if self.now is None:
            return False
        # Reports dated well before the fetch were final when fetched.
        old = self.now - fetched_at > self.earnings_max_age
        return old and end >= fetched_at.date() - ONE_DAY

    def fetch_earnings(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Earnings in [start, end]: refreshed from upstream when missing or stale.

        A ticker whose refresh failed is left out (its stored rows were stale, e.g. a
        release listed before it happened); ``failures.earnings`` says so.
        """
        wanted = tuple(dict.fromkeys(tickers))
        plan: dict[tuple[dt.date, dt.date], list[str]] = {}
        for ticker in wanted:
            if self._earnings_stale(ticker, start, end):
                cover = self.store.earnings_coverage(ticker)
                lo, hi = (
                    (start, end) if cover is None else (min(start, cover[0]), max(end, cover[1]))
                )
                plan.setdefault((lo, hi), []).append(ticker)
        for (lo, hi), names in sorted(plan.items()):
            for name in names:
                self.failures.earnings.pop(name, None)  # asked again: judged again
            try:
                rows = self.upstream.fetch_earnings(tuple(names), lo, hi)
            except SourceError as e:
                # Prices may have arrived: no earnings is not a reason to stop the build.
                for name in names:
                    self.failures.earnings.setdefault(name, str(e))
                continue
            arrived = [n for n in names if n not in self.failures.earnings]
            rows = rows.loc[rows["ticker"].isin(arrived)]
            self.store.save_earnings(rows, arrived, lo, hi, self.now or UNKNOWN_TIME)
        answered = [t for t in wanted if t not in self.failures.earnings]
        return self.store.load_earnings(answered, start, end)


class StoreSource:
    """Bars and earnings from the store only: for offline runs."""

    def __init__(self, store: Store, name: str = "store") -> None:
        self.store = store
        self.name = name
        self.failures = FetchFailures()

    def fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Stored bars per ticker in [start, end]; tickers without rows left out."""
        return self.store.load_bars(tickers, start, end)

    def fetch_earnings(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        """Stored earnings rows of ``tickers`` in [start, end]; a ticker whose earnings
        were never fetched for all of that range is recorded in ``failures``."""
        for ticker in dict.fromkeys(tickers):
            cover = self.store.earnings_coverage(ticker)
            if cover is None or cover[0] > start or cover[1] < end:
                self.failures.earnings[ticker] = "not in the local store for these dates"
        return self.store.load_earnings(tickers, start, end)

    def latest_session(self, tickers: tuple[str, ...]) -> dt.date | None:
        """The latest date any of ``tickers`` has a stored bar for, or None."""
        return self.store.latest_session(tickers)
