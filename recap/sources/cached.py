"""Price sources backed by the local store: CachedSource (store in front of an upstream
source, fetching only what the store does not cover) and StoreSource (store only).

A ticker's coverage is one contiguous date range, so a request is split into at most
two gaps per ticker (before and after what is covered); tickers sharing a gap are
fetched in one upstream call. Each gap's result is saved in one transaction: an
upstream failure leaves the store as it was before that gap.

Asking for the days after a ticker's coverage, the store asks for its last covered
session too and compares that bar with the stored one: a different close means Yahoo
has adjusted the history since (a split, a dividend), so the ticker's whole history is
fetched again rather than joining new adjusted prices to old unadjusted ones. A ticker
the upstream answered it does not carry goes into the negative cache (sources/absent.py)
and is not asked again until that entry expires.

Only what arrived is stored. A ticker the upstream could not fetch this run (its
``failures``: rate limited, a failed page) gets no coverage, so the next run asks again;
in particular a failed earnings fetch is never stored as "no earnings".
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from recap.errors import SourceError, StoreError
from recap.sources.absent import AbsentList
from recap.sources.base import FetchFailures, PriceSource, failures_of
from recap.store import Store
from recap.weeks import NEW_YORK, nyse_calendar, session_close

logger = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)
# A stored close this far (relative) from the upstream's for the same day is restated
# history: well under a dividend's effect on an adjusted close, above float noise.
RESTATED = 1e-4
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


def _previous_session(day: dt.date) -> dt.date | None:
    """The XNYS session before ``day``; None outside the calendar."""
    cal = nyse_calendar()
    stamp = pd.Timestamp(day)
    if stamp <= cal.first_session or stamp > cal.last_session:
        return None
    return cal.previous_session(cal.date_to_session(stamp, direction="next")).date()  # type: ignore[no-any-return]


def _differs(old: float, new: float) -> bool:
    if math.isnan(old) or math.isnan(new):
        return False
    return abs(old - new) > RESTATED * max(abs(old), abs(new))


@contextmanager
def store_errors(store: Store) -> Iterator[None]:
    """SQLite's errors on a live build as one line naming the store and what to do: a
    store another run holds locked, or one damaged on disk (a traceback before)."""
    try:
        yield
    except sqlite3.OperationalError as e:
        if "locked" not in str(e).lower() and "busy" not in str(e).lower():
            raise StoreError(f"{store.path}: the store cannot be used ({e})") from None
        raise StoreError(
            f"{store.path}: the store is locked by another process ({e}); run again once "
            "the other recap run has finished"
        ) from None
    except sqlite3.DatabaseError as e:
        raise StoreError(
            f"{store.path}: the store is damaged ({e}); move the file aside and run again "
            "(recap fetches what the store lacks)"
        ) from None


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
        absent_max_age: dt.timedelta = dt.timedelta(days=28),
    ) -> None:
        self.upstream = upstream
        self.store = store
        self.name = upstream.name
        self.now = now
        self.earnings_max_age = earnings_max_age
        # Without a clock nothing can expire: no negative cache then.
        with store_errors(store):
            self.absent = AbsentList(store, absent_max_age) if now is not None else None
        # Tickers whose whole history was fetched again this run (restated upstream).
        self.refetched: list[str] = []
        # The upstream's record of what failed (shared, so both see every failure).
        self.failures = failures_of(upstream)
        # Bars after the last closed session may still change: never mark them covered.
        self._settled = last_closed_session(now) if now is not None else None

    def fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        """Bars per ticker in [start, end]: missing ranges from upstream, then from the store."""
        with store_errors(self.store):
            return self._fetch_bars(tickers, start, end)

    def _fetch_bars(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> dict[str, pd.DataFrame]:
        wanted = tuple(dict.fromkeys(tickers))
        skip = set()
        if self.absent is not None and self.now is not None:
            skip = self.absent.fresh(wanted, self.now)
        plan: dict[tuple[dt.date, dt.date], list[str]] = {}
        for ticker in wanted:
            if ticker in skip:
                continue  # the upstream said lately it does not carry it
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
        # Tickers whose coverage ends just before the gap: their last session is asked too.
        forward = [t for t in names if (c := self.store.coverage(t)) and c[1] + ONE_DAY == gap[0]]
        check = _previous_session(span[0]) if forward else None
        first = span[0] if check is None else check
        logger.info(
            "fetching %d tickers from %s for %s..%s", len(names), self.upstream.name, first, span[1]
        )
        frames = self.upstream.fetch_bars(names, first, span[1])
        if check is not None:
            restated = self._restated(forward, frames, check)
            if restated:
                self._refetch(restated, span[1], gap_end)
                frames = {t: f for t, f in frames.items() if t not in restated}
                names = tuple(t for t in names if t not in restated)
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
        if self.absent is not None and self.now is not None:
            # Answered without data, not a failure, nothing stored: Yahoo does not carry it.
            gone = [
                t
                for t in names
                if t not in frames
                and t not in self.failures.bars
                and self.store.coverage(t) is None
            ]
            if gone:
                self.absent.mark(gone, self.now)

    def _restated(
        self, tickers: list[str], frames: dict[str, pd.DataFrame], day: dt.date
    ) -> list[str]:
        """Those of ``tickers`` whose bar for ``day`` from upstream differs from the stored one."""
        stored = self.store.load_bars(tickers, day, day)
        stamp = pd.Timestamp(day)
        out = []
        for ticker in tickers:
            old, new = stored.get(ticker), frames.get(ticker)
            if old is None or new is None or stamp not in new.index or stamp not in old.index:
                continue
            columns = ["Close", "Adj Close"]
            before = old.loc[stamp, columns].to_numpy(dtype="float64")
            after = new.loc[stamp, columns].to_numpy(dtype="float64")
            if any(_differs(a, b) for a, b in zip(before, after, strict=True)):
                out.append(ticker)
        return out

    def _refetch(self, tickers: list[str], span_end: dt.date, covered_end: dt.date) -> None:
        """The whole history of ``tickers`` again, replacing the stored one; a ticker the
        upstream could not fetch now keeps no history (asked again next run, and named in
        the data notes as not fetched), never old prices beside new ones."""
        by_first: dict[dt.date, list[str]] = {}
        for ticker in tickers:
            cover = self.store.coverage(ticker)
            if cover is not None:
                by_first.setdefault(cover[0], []).append(ticker)
        for first, group in sorted(by_first.items()):
            logger.warning(
                "%s: %s restated prices stored earlier (a split or dividend since); "
                "fetching the whole history again from %s",
                ", ".join(group),
                self.upstream.name,
                first,
            )
            span = _session_span(first, span_end) or (first, span_end)
            frames = self.upstream.fetch_bars(tuple(group), span[0], span[1])
            self.store.forget_bars(group)
            got = [t for t in group if t in frames]
            if got:
                self.store.save_bars(
                    {t: frames[t] for t in got}, first, max(first, covered_end), covered=got
                )
            self.refetched.extend(got)

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
        with store_errors(self.store):
            return self._fetch_earnings(tickers, start, end)

    def _fetch_earnings(
        self, tickers: tuple[str, ...], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
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
