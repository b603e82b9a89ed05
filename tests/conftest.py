"""Shared fixtures: the real market snapshot beside the project, and recaps built from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests._reference import CACHE_DIR as CACHE_DIR  # the tests import it from here too

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MARKET_DIR = (PROJECT_ROOT / ".." / "shared" / "data" / "market").resolve()
REFERENCE_WEEK = dt.date(2026, 1, 16)


def _require_market() -> Path:
    if not (MARKET_DIR / "prices").is_dir():
        pytest.skip(f"real market snapshot not found at {MARKET_DIR} (../shared/data/market)")
    return MARKET_DIR


@pytest.fixture(scope="session")
def market_dir() -> Path:
    """The real snapshot folder; skips the test when it is absent."""
    return _require_market()


@pytest.fixture(scope="session")
def snapshot_source(market_dir):
    """A SnapshotSource over the real snapshot (files cached across the session)."""
    from recap.sources.snapshot import SnapshotSource

    return SnapshotSource(market_dir, cache_dir=CACHE_DIR)


@pytest.fixture(scope="session")
def reference_week(market_dir):
    """The week of 2026-01-12..16 from the real snapshot, built once per test process
    (tests/_reference.py): .config, .week, .market, .recap, .charts, .files(pdf=...)."""
    from tests._reference import real_week

    return real_week(market_dir, REFERENCE_WEEK)


@pytest.fixture(scope="session")
def reference_recap(reference_week):
    """The WeeklyRecap of the week of 2026-01-12..16, computed from the real snapshot."""
    return reference_week.recap


@pytest.fixture(scope="session")
def reference_config(reference_week):
    """The shipped config, reading the real snapshot."""
    return reference_week.config


YEAR = (dt.date(2025, 2, 1), dt.date(2026, 1, 30))


@pytest.fixture(scope="session")
def year_weeks(market_dir, snapshot_source):
    """Every week from February 2025 to January 2026, built once for the whole run.

    Each week's facts come from its own fetch, as a build makes them; its headline may not
    be any option of the four weeks before, taken from those weeks' own facts (what
    pipeline.earlier_headlines computes inside a build; test_stories checks the two agree).
    Returns [(week, recap, options)], oldest first.
    """
    import dataclasses

    from recap import pipeline
    from recap.config import read_config
    from recap.narrative import options_for, write_story
    from recap.weeks import weeks_between
    from tests._reference import shared

    def year():
        cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
        now = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
        holdings = pipeline.holdings_for(cfg)  # read once, picked by date per week
        out = []
        for week in weeks_between(*YEAR):
            market = pipeline.fetch_market(snapshot_source, cfg, week, holdings)
            facts = pipeline.compute_facts(market, week, cfg, now)
            earlier = [options for _, _, options in out[-pipeline.HEADLINE_MEMORY :]]
            headline, dek, paragraphs = write_story(facts, cfg, earlier)
            recap = dataclasses.replace(facts, headline=headline, dek=dek, narrative=paragraphs)
            out.append((week, recap, options_for(facts)))
        return out

    return shared("year-weeks", year)  # once per run, also under pytest-xdist


# -- running in parallel (make test: pytest-xdist, two workers, --dist loadfile) -----------


# Seconds each file takes alone (serial run, 2026-11-23), for the order below; a rough
# order is all it needs, and a file missing here counts as quick.
FILE_SECONDS = {
    "test_backfill.py": 28,
    "test_narrative.py": 26,
    "test_delivery_hardening.py": 25,
    "test_email.py": 24,
    "test_a11y.py": 19,
    "test_live.py": 13,
    "test_weekly.py": 11,
    "test_price_guards.py": 11,
    "test_charts.py": 9,
    "test_blog.py": 8,
    "test_cli.py": 7,
    "test_interrupted.py": 7,
    "test_pdf.py": 6,
    "test_attribution.py": 5,
    "test_screenshots.py": 4,
    "test_price_cache.py": 3,
    "test_stories.py": 3,
    "test_render.py": 3,
    "test_weeks.py": 3,
    "test_fallback.py": 2,
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """The slowest files first: under --dist loadfile (with --no-loadscope-reorder, set in
    the Makefile) each file runs in one worker and files are handed out in this order, so
    the long ones start at once and the quick ones fill the gaps at the end. xdist's own
    order, by number of tests, started the year's weeks a third of the way in."""

    def seconds(item: pytest.Item) -> int:
        return FILE_SECONDS.get(Path(item.nodeid.split("::")[0]).name, 0)

    items.sort(key=seconds, reverse=True)  # stable: a file's tests keep their order


@pytest.fixture(scope="session", autouse=True)
def _shared_between_workers(tmp_path_factory):
    """Under pytest-xdist, the real weeks (tests/_reference.py) are built once per run:
    in a folder every worker of the run shares."""
    import os

    from tests import _reference

    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.getbasetemp().parent / "real-weeks"
        folder.mkdir(exist_ok=True)
        _reference.SHARED_DIR = folder
    yield
    _reference.SHARED_DIR = None


@pytest.fixture(autouse=True)
def _delivery_state(tmp_path_factory, monkeypatch):
    """Each test's delivery state (send log, suppression list) in a folder of its own, never
    the user's ~/.local/state: $XDG_STATE_HOME is where recap keeps it by default."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
