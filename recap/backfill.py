"""Backfill: build every trading week in a date range, loading the data once.

The steps, in order:
  1. list the trading weeks whose last session falls in [first, last] and has closed
  2. open the data source once per process (a snapshot folder is parsed once and cached)
  3. build the weeks, ``[backfill] workers`` at a time in worker processes; each worker
     opens the source once (initializer) and writes each finished week with output.py
  4. publish the weeks that built, in one atomic publish, when a site is given
A week that fails is reported with its error and the others go on.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import sys
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recap.config import RecapConfig
from recap.errors import RecapError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeekResult:
    """One week of a backfill: its headline when it built, its error when it did not."""

    week_end: dt.date
    headline: str = ""
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the week built and was written."""
        return not self.error


@dataclass
class BackfillReport:
    """Every week's result, oldest first, and what was published."""

    results: list[WeekResult] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    publish_error: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> list[WeekResult]:
        """The weeks that did not build."""
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        """True when every week built (and the publish, if asked, succeeded)."""
        return not self.failed and not self.publish_error


# Per-process state, set once by _init_worker: the config, the clock, the formats and
# the data open_source chose.
_STATE: dict[str, Any] = {}


def _init_worker(
    config: RecapConfig, now: dt.datetime, formats: tuple[str, ...], chart_pngs: bool
) -> None:
    import dataclasses

    import matplotlib

    from recap.sources.opening import open_source

    matplotlib.use("Agg")
    # No offline fallback here: a week the source cannot give fails and is reported,
    # rather than each week falling back to the store or, worse, to sample data.
    opened = dataclasses.replace(open_source(config, now), offline=None)
    _STATE.update(config=config, now=now, formats=formats, chart_pngs=chart_pngs, opened=opened)


def _warm(
    config: RecapConfig, now: dt.datetime, formats: tuple[str, ...], chart_pngs: bool
) -> None:
    """Open the source and load its price caches (bars and closes) once, before any
    worker forks: they inherit them, and a cache that needs (re)building is built once,
    not once per worker."""
    from recap import pipeline, sections
    from recap.sources.opening import index_tickers

    _init_worker(config, now, formats, chart_pngs)
    source = _STATE["opened"].source
    if config.data_dir is None or not hasattr(source, "fetch_closes"):
        return
    read = index_tickers(config) + sections.content_tickers(config)
    source.fetch_bars(tuple(dict.fromkeys(read)), now.date(), now.date())
    holdings = pipeline.holdings_for(config)
    if holdings is None or not holdings.files:
        return
    tickers = tuple(dict.fromkeys(t for held in holdings.files for t in held.tickers()))
    last = holdings.files[-1].as_of
    source.fetch_closes(tickers, last, last)


def _build_week(week_end: dt.date) -> WeekResult:
    """Build and write one week in this process; a RecapError becomes the week's error."""
    from recap import output, pipeline

    started = time.perf_counter()
    config: RecapConfig = _STATE["config"]
    try:
        built = pipeline.build_week(
            _STATE["opened"],
            config,
            week_date=week_end,
            now=_STATE["now"],
            formats=_STATE["formats"],
            chart_pngs=_STATE["chart_pngs"],
        )
        output.write_built(config.out_dir, built)
    except RecapError as e:
        return WeekResult(week_end, error=str(e), seconds=time.perf_counter() - started)
    except Exception as e:
        # A bug met by one week (say a ZeroDivisionError on odd data) must not cost the
        # other weeks their build and their publish: it is that week's error, with its type.
        logger.debug("week ending %s failed", week_end, exc_info=True)
        error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return WeekResult(week_end, error=error, seconds=time.perf_counter() - started)
    return WeekResult(
        week_end, headline=built.recap.headline, seconds=time.perf_counter() - started
    )


def backfill_weeks(
    config: RecapConfig, first: dt.date, last: dt.date, now: dt.datetime
) -> tuple[dt.date, ...]:
    """The last sessions of the trading weeks in [first, last] that have closed by ``now``."""
    from recap.weeks import session_close, weeks_between

    weeks = weeks_between(first, last)
    done = tuple(w.end for w in weeks if session_close(w.end) <= now)
    if len(done) < len(weeks):
        logger.warning("skipping %d week(s) not over yet", len(weeks) - len(done))
    return done


def _results(
    config: RecapConfig,
    weeks: tuple[dt.date, ...],
    now: dt.datetime,
    formats: tuple[str, ...],
    chart_pngs: bool,
) -> Iterator[WeekResult]:
    workers = config.backfill.workers
    # Through the store and the network, one process: SQLite writes and rate limits
    # do not gain from parallel workers.
    if workers == 1 or len(weeks) == 1 or config.data_dir is None:
        _warm(config, now, formats, chart_pngs)
        for week_end in weeks:
            yield _build_week(week_end)
        return
    _warm(config, now, formats, chart_pngs)
    # A worker that dies (kill -9, out of memory) breaks the whole pool, and every week
    # still queued in it would fail with it. Those weeks go to a new pool; the ones lost
    # again are built one per pool, so only a week that kills its own worker fails.
    _, lost = yield from _pool_pass(config, list(weeks), now, formats, chart_pngs, workers)
    if lost:
        logger.warning("a backfill worker died; building %d week(s) again", len(lost))
        _, lost = yield from _pool_pass(config, lost, now, formats, chart_pngs, workers)
    for week_end in lost:
        _, dead = yield from _pool_pass(config, [week_end], now, formats, chart_pngs, 1)
        if dead:
            yield WeekResult(week_end, error=WORKER_DIED)


WORKER_DIED = "its worker process died each time it was built (killed, or out of memory)"


def _pool_pass(
    config: RecapConfig,
    weeks: list[dt.date],
    now: dt.datetime,
    formats: tuple[str, ...],
    chart_pngs: bool,
    workers: int,
) -> Generator[WeekResult, None, tuple[list[dt.date], list[dt.date]]]:
    """Build ``weeks`` in one pool, yielding each result in order; returns (the weeks
    that built or failed on their own, the weeks lost to a dead worker)."""
    # fork: workers start with the parent's imports and its loaded closes cache
    context = multiprocessing.get_context("fork")
    done: list[dt.date] = []
    lost: list[dt.date] = []
    with ProcessPoolExecutor(
        max_workers=min(workers, len(weeks)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(config, now, formats, chart_pngs),
    ) as pool:
        futures = [pool.submit(_build_week, week_end) for week_end in weeks]
        for week_end, future in zip(weeks, futures, strict=True):
            try:
                result = future.result()
            except BrokenProcessPool:
                lost.append(week_end)
                continue
            except Exception as e:  # a result that cannot come back (unpicklable)
                result = WeekResult(week_end, error=f"the worker building it failed ({e!r})")
            done.append(week_end)
            yield result
    return done, lost


def backfill(
    config: RecapConfig,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    *,
    site: Path | None = None,
    formats: tuple[str, ...] | None = None,
    progress: bool | None = None,
) -> BackfillReport:
    """Build (and optionally publish) every trading week in [first, last]; see the docstring.

    ``progress``: True shows a bar on stderr, False hides it, None shows it on a terminal.
    """
    from tqdm import tqdm

    from recap import output, pipeline
    from recap.delivery.edition import load_edition
    from recap.delivery.jobs import publish_editions

    started = time.perf_counter()
    formats = formats or pipeline.parse_formats(config.backfill.formats)
    if site is not None:
        # A published week's post and archive entry link to its page, read its facts.
        formats = (*formats, *(f for f in ("html", "json") if f not in formats))
    weeks = backfill_weeks(config, first, last, now)
    report = BackfillReport()
    disable = None if progress is None else not progress
    bar = tqdm(total=len(weeks), unit="week", file=sys.stderr, disable=disable, desc="backfill")
    try:
        # A published week's post shows the charts' PNGs, whatever the formats.
        for result in _results(config, weeks, now, formats, site is not None):
            report.results.append(result)
            if not result.ok:
                logger.warning("week ending %s failed: %s", result.week_end, result.error)
            bar.set_postfix_str(result.week_end.isoformat())
            bar.update()
    finally:
        bar.close()
    report.results.sort(key=lambda r: r.week_end)  # a week built again comes back late
    built = [r.week_end for r in report.results if r.ok]
    if site is not None and built:
        editions = []
        for week_end in built:
            files = output.read_week(config.out_dir, week_end)
            try:
                if files is not None:
                    editions.append(load_edition(files))
            except RecapError as e:
                at = report.results.index(next(r for r in report.results if r.week_end == week_end))
                report.results[at] = WeekResult(week_end, error=f"cannot be published: {e}")
        try:
            sent = publish_editions(config, editions, site)
            report.published = sent.weeks
        except RecapError as e:
            report.publish_error = str(e)
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["BackfillReport", "WeekResult", "backfill", "backfill_weeks"]
