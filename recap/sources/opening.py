"""Which data a build reads, decided in one place, and which week it reports.

``open_source(config, now)`` chooses:
  - the snapshot folder when the config names one (``--data-dir``);
  - else Yahoo Finance through the local SQLite store (the store fetches what it lacks),
    whose fallback, when Yahoo cannot be reached, is the store alone if it holds the
    indexes, and generated SAMPLE data if it does not.

``resolve_week`` picks the week when none is asked for: the latest week a snapshot or
the store holds in full; for Yahoo, the latest complete week by the exchange calendar
and the clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recap.config import RecapConfig
from recap.model import Week
from recap.sources.base import PriceSource
from recap.weeks import check_not_future, latest_complete_week, latest_week_in_data, week_containing

if TYPE_CHECKING:
    from recap.sources.holdings import Holdings
    from recap.store import Store


@dataclass(frozen=True)
class OpenSource:
    """A build's data: the source, the live source's fund sector weights, and where to
    turn when the source is offline. (A snapshot's holdings files are read per week, by
    ``pipeline.fetch_market``; live, ``pipeline.gather_market`` downloads the day's.)"""

    source: PriceSource
    # (etf, today) -> weights; asked only once the prices came.
    sector_weights: Callable[[str, dt.date], Holdings | None] | None = None
    # week asked (None: the latest) -> the source to build from when this one is offline.
    offline: Callable[[dt.date | None], OpenSource] | None = None
    # tickers -> company names (Yahoo's shortName), for the companies a report shows.
    names: Callable[[tuple[str, ...]], dict[str, str]] | None = None


def index_tickers(config: RecapConfig) -> tuple[str, ...]:
    """Every index symbol and proxy ETF in config order, without repeats."""
    out = [t for spec in config.indexes for t in (spec.symbol, spec.proxy) if t]
    return tuple(dict.fromkeys(out))


def sample_source(config: RecapConfig, end: dt.date) -> PriceSource:
    """The generated sample dataset ending on ``end`` (made once into the cache folder)."""
    from recap.sample import write_sample
    from recap.sources.snapshot import SnapshotSource

    folder = config.cache_dir / f"sample-{end.isoformat()}"
    if not (folder / "prices").is_dir():
        write_sample(folder, end)
    return SnapshotSource(folder, name="sample")


def _offline(
    config: RecapConfig, store: Store, now: dt.datetime, week_date: dt.date | None
) -> OpenSource:
    from recap.sources.cached import StoreSource

    held = StoreSource(store)
    if latest_full_session(held, config) is not None:
        return OpenSource(held)
    end = week_containing(week_date).end if week_date else latest_complete_week(now).end
    return OpenSource(sample_source(config, end))


def open_source(config: RecapConfig, now: dt.datetime) -> OpenSource:
    """The data a build reads (see the module docstring); nothing is fetched yet."""
    if config.data_dir is not None:
        from recap.sources.snapshot import SnapshotSource

        # Closes through the columnar cache in the cache folder (sources/price_cache.py).
        return OpenSource(SnapshotSource(config.data_dir, cache_dir=config.cache_dir))
    from recap.sources.cached import CachedSource
    from recap.sources.known_names import remembered
    from recap.sources.yahoo import YahooSource
    from recap.store import Store

    store = Store(config.store_path)
    yahoo = YahooSource.from_config(config)
    return OpenSource(
        CachedSource(
            yahoo, store, now=now, absent_max_age=dt.timedelta(days=config.yahoo.absent_days)
        ),
        sector_weights=yahoo.fetch_sector_weights,
        offline=functools.partial(_offline, config, store, now),
        names=remembered(yahoo.fetch_names, store, now),
    )


def latest_full_session(source: PriceSource, config: RecapConfig) -> dt.date | None:
    """The last session for which every index (or its ETF) has a bar, in a source that
    holds a fixed set of data (a snapshot, the store); None for a live source."""
    latest = getattr(source, "latest_session", None)
    if latest is None:
        return None
    ends: list[dt.date] = []
    for spec in config.indexes:
        held = [d for t in (spec.symbol, spec.proxy) if t and (d := latest((t,))) is not None]
        if held:
            ends.append(max(held))
    return min(ends) if ends else None


def resolve_week(
    source: PriceSource, config: RecapConfig, week_date: dt.date | None, now: dt.datetime
) -> Week:
    """The week to report: the one containing ``week_date`` (refused if not over by
    ``now``), else the latest the source holds in full, else the latest complete week."""
    if week_date is not None:
        week = week_containing(week_date)
        check_not_future(week, now)
        return week
    last = latest_full_session(source, config)
    return latest_week_in_data(last) if last is not None else latest_complete_week(now)


__all__ = [
    "OpenSource",
    "index_tickers",
    "latest_full_session",
    "open_source",
    "resolve_week",
    "sample_source",
]
