"""Shared fixtures: the real market snapshot beside the project, and recaps built from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MARKET_DIR = (PROJECT_ROOT / ".." / "shared" / "data" / "market").resolve()
REFERENCE_WEEK = dt.date(2026, 1, 16)
# The columnar cache of the snapshot's closes (keyed by file sizes and times, so always
# safe to reuse): shared by every test run, as the CLI shares it between builds.
CACHE_DIR = PROJECT_ROOT / ".cache"


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
def reference_recap(market_dir, snapshot_source):
    """The WeeklyRecap of the week of 2026-01-12..16, computed from the real snapshot."""
    from recap import pipeline
    from recap.config import read_config
    from recap.sources.opening import resolve_week

    cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
    now = dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC)
    week = resolve_week(snapshot_source, cfg, REFERENCE_WEEK, now)
    market = pipeline.fetch_market(snapshot_source, cfg, week)
    return pipeline.compute_recap(market, week, cfg, now)


@pytest.fixture(scope="session")
def reference_config(market_dir):
    """The shipped config, reading the real snapshot."""
    from recap.config import read_config

    return read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
