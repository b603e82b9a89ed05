"""Real weeks of the snapshot, each built once per test run, one stage at a time.

Every test that needs a real week reads it from here: conftest.py's session fixtures
(``reference_recap``, ``reference_week``...), ``_report.reference`` and
``reference_charts``, ``_delivery.built_files``. A stage runs the first time a test asks
for it: the data (gather), the facts and prose (compute), the charts (drawn once, as SVG
and PNG), the files; the PDF, the slowest part, only when a test reads it. The stages
are the pipeline's own public steps, so the files are those ``pipeline.build_week``
makes (test_cli holds the two to each other). Under pytest-xdist a stage computed by one
worker is read back by the others (``shared``).

Not a conftest: pytest imports conftest.py under another module name than
``tests.conftest``, and a second copy of these caches would build every week twice.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import pickle
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The columnar cache of the snapshot's closes (keyed by file sizes and times, so always
# safe to reuse): shared by every test run, as the CLI shares it between builds.
CACHE_DIR = PROJECT_ROOT / ".cache"
# The clock of every real week built here (a Saturday after the snapshot's last week).
NOW = dt.datetime(2026, 1, 31, 18, tzinfo=dt.UTC)
REFERENCE_WEEK = dt.date(2026, 1, 16)
# Every format but the PDF: what the tests that do not read the PDF get.
WITHOUT_PDF = ("html", "json", "email")
# Under pytest-xdist, conftest.py sets a folder every worker of the run shares: what one
# worker computed there, the others read back instead of computing it again.
SHARED_DIR: Path | None = None


def shared(key: str, make: Callable[[], T]) -> T:
    """``make()``, computed once per test run when SHARED_DIR is set (else per call).

    The first process to ask computes it under a file lock and saves it pickled; a
    process asking meanwhile waits for it rather than computing it a second time.
    """
    if SHARED_DIR is None:
        return make()
    path = SHARED_DIR / f"{key}.pickle"
    with (SHARED_DIR / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if path.is_file():
            value: T = pickle.loads(path.read_bytes())
            return value
        value = make()
        part = path.with_name(path.name + ".part")
        part.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        part.replace(path)
        return value


class RealWeek:
    """One week of the real snapshot, as ``pipeline.build_week`` builds it at NOW."""

    def __init__(self, market_dir: Path, week_date: dt.date) -> None:
        self.market_dir = market_dir
        self.week_date = week_date
        self._files: dict[bool, dict[str, bytes]] = {}

    @cached_property
    def config(self) -> Any:
        """The shipped config, reading the snapshot."""
        from recap.config import read_config

        overrides = {"data_dir": self.market_dir, "cache_dir": CACHE_DIR}
        return read_config(None, overrides, cwd=self.market_dir)

    def _key(self, stage: str) -> str:
        return f"{self.week_date.isoformat()}-{stage}"

    @cached_property
    def gathered(self) -> tuple[Any, Any]:
        """(Week, MarketData): steps 1-2 of the pipeline."""
        from recap import pipeline

        def gather() -> tuple[Any, Any]:
            opened = pipeline.open_source(self.config, NOW)
            return pipeline.gather_market(opened, self.config, self.week_date, NOW)

        return shared(self._key("gathered"), gather)

    @property
    def week(self) -> Any:
        return self.gathered[0]

    @property
    def market(self) -> Any:
        return self.gathered[1]

    @cached_property
    def recap(self) -> Any:
        """The WeeklyRecap: steps 3-4."""
        from recap import pipeline

        return shared(
            self._key("recap"),
            lambda: pipeline.compute_recap(self.market, self.week, self.config, NOW),
        )

    @cached_property
    def drawn(self) -> tuple[tuple[Any, ...], tuple[str, ...]]:
        """(charts, data notes of charts left out): every chart as SVG, PNG and the
        email's phone PNG."""
        from recap.charts import draw_charts

        return shared(
            self._key("drawn"),
            lambda: draw_charts(
                self.recap,
                self.market.closes,
                self.config,
                phone_png=True,
                markets=self.market.markets,
            ),
        )

    @property
    def charts(self) -> tuple[Any, ...]:
        return self.drawn[0]

    def files(self, pdf: bool = True) -> dict[str, bytes]:
        """The week's files (a fresh dict): every format, or all but the PDF."""
        from recap import pipeline

        if pdf not in self._files:
            formats = pipeline.FORMATS if pdf else WITHOUT_PDF
            self._files[pdf] = shared(
                self._key("files" if pdf else "files-without-pdf"),
                lambda: pipeline.render_drawn(self.recap, *self.drawn, self.config, formats),
            )
        return dict(self._files[pdf])


@cache
def real_week(market_dir: Path, week_date: dt.date = REFERENCE_WEEK) -> RealWeek:
    """The one RealWeek of ``week_date`` in this process."""
    return RealWeek(Path(market_dir), week_date)
