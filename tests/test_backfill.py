"""Backfill: every trading week in a range from data loaded once; failures reported, not fatal."""

from __future__ import annotations

import datetime as dt

import feedparser
import msgspec
import pytest
from click.testing import CliRunner

from recap.backfill import backfill, backfill_weeks
from recap.cli import cli
from recap.errors import RenderError
from tests._delivery import NOW, config

JANUARY = (dt.date(2026, 1, 5), dt.date(2026, 1, 23))
JANUARY_WEEKS = [dt.date(2026, 1, 9), dt.date(2026, 1, 16), dt.date(2026, 1, 23)]


@pytest.mark.parametrize(
    "first, last, ends",
    [
        # 2026-01-19 is a holiday: that week ends on Friday the 23rd all the same.
        (dt.date(2026, 1, 5), dt.date(2026, 1, 23), JANUARY_WEEKS),
        # A week counts when its last session is in the range.
        (dt.date(2026, 1, 10), dt.date(2026, 1, 22), [dt.date(2026, 1, 16)]),
        # Christmas and New Year weeks end on Friday; a range in the future stops at NOW.
        (
            dt.date(2025, 12, 22),
            dt.date(2026, 2, 20),
            [
                dt.date(2025, 12, 26),
                dt.date(2026, 1, 2),
                dt.date(2026, 1, 9),
                dt.date(2026, 1, 16),
                dt.date(2026, 1, 23),
                dt.date(2026, 1, 30),
            ],
        ),
    ],
)
def test_weeks_in_range(tmp_path, first, last, ends):
    assert list(backfill_weeks(config(tmp_path), first, last, NOW)) == ends


def test_backfill_builds_and_publishes_every_week_in_parallel(tmp_path, market_dir):
    cfg = config(tmp_path, market_dir)
    site = tmp_path / "site"
    site.mkdir()
    report = backfill(cfg, *JANUARY, NOW, site=site, formats=("html", "json"), progress=False)
    assert report.ok, report.failed
    assert [r.week_end for r in report.results] == JANUARY_WEEKS
    for end in JANUARY_WEEKS:
        assert (cfg.out_dir / end.isoformat() / "recap.html").is_file()
    assert report.published == [d.isoformat() for d in JANUARY_WEEKS]
    feed = feedparser.parse((site / "static/archive/feed.xml").read_bytes())
    assert [e.link.split("/")[-2] for e in feed.entries] == [
        "2026-01-23",
        "2026-01-16",
        "2026-01-09",
    ]
    assert [e.title for e in feed.entries] == [r.headline for r in reversed(report.results)]
    # No format shows the charts as PNG, but the posts do: published weeks have them.
    for end in JANUARY_WEEKS:
        images = {p.name for p in (site / "static/recap" / end.isoformat()).iterdir()}
        assert {"indexes.png", "sectors.png"} <= images


def test_a_failing_week_is_reported_and_the_rest_go_on(tmp_path, market_dir, monkeypatch):
    from recap import pipeline

    real = pipeline.compute_recap

    def fails_on_the_16th(market, week, config, now):
        if week.end == dt.date(2026, 1, 16):
            raise RenderError("the prose contradicts the numbers: injected")
        return real(market, week, config, now)

    # Workers are forked, so they inherit the patched function.
    monkeypatch.setattr(pipeline, "compute_recap", fails_on_the_16th)
    cfg = config(tmp_path, market_dir)
    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-23",
            "--format",
            "json",
            "--no-progress",
            "--data-dir",
            str(market_dir),
            "--out",
            str(cfg.out_dir),
            "--store",
            str(cfg.store_path),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "failed: week ending 2026-01-16: the prose contradicts the numbers" in result.output
    assert "built 2 of 3 weeks" in result.output
    assert sorted(p.name for p in cfg.out_dir.iterdir()) == ["2026-01-09", "2026-01-23"]


def test_the_snapshot_is_read_once_then_cached(tmp_path, market_dir, monkeypatch):
    from recap.sources import snapshot
    from recap.sources.price_cache import cache_path

    # Every file parsed goes through read_price_files (most in its one batch, any other
    # alone by read_price_csv): count both.
    reads: list[str] = []
    alone: list[str] = []
    batch, single = snapshot.read_price_files, snapshot.read_price_csv

    def counting(paths):
        reads.extend(path.name for path in paths)
        return batch(paths)

    def counting_alone(path):
        alone.append(path.name)
        return single(path)

    monkeypatch.setattr(snapshot, "read_price_files", counting)
    monkeypatch.setattr(snapshot, "read_price_csv", counting_alone)
    monkeypatch.setattr(snapshot, "_CACHES", {})  # a fresh process, and a fresh cache
    cache = tmp_path / "cache"
    toml = "[backfill]\nworkers = 1\n"
    cfg = msgspec.structs.replace(config(tmp_path, market_dir, toml=toml), cache_dir=cache)
    report = backfill(cfg, *JANUARY, NOW, formats=("json",), progress=False)
    assert report.ok
    assert len(reads) > 1800, "the constituents' files were not read"
    assert len(reads) == len(set(reads)), "a price file was parsed twice"
    assert alone == [], "a clean file of the snapshot was parsed alone, not in the batch"
    saved = cache_path(cache, market_dir / "prices")
    stamp = saved.stat().st_mtime_ns
    # A later run, in two forked workers: the closes come from the cache file, which
    # the parent loads once; nothing is parsed into it again or rewritten.
    monkeypatch.setattr(snapshot, "_CACHES", {})
    reads.clear()
    two = config(tmp_path, market_dir, toml="[backfill]\nworkers = 2\n")
    two = msgspec.structs.replace(two, cache_dir=cache)
    report = backfill(two, *JANUARY, NOW, formats=("json",), progress=False)
    assert report.ok and len(report.results) == 3
    assert saved.stat().st_mtime_ns == stamp
    assert reads == [] and alone == []


def test_a_week_failing_for_any_reason_is_reported_and_the_others_are_published(
    tmp_path, market_dir, monkeypatch
):
    """Today's main: a ZeroDivisionError in one week ended the run and published nothing."""
    from recap import pipeline

    real = pipeline.compute_recap

    def divides_by_zero_on_the_16th(market, week, config, now):
        if week.end == dt.date(2026, 1, 16):
            return 1.0 / 0.0
        return real(market, week, config, now)

    monkeypatch.setattr(pipeline, "compute_recap", divides_by_zero_on_the_16th)
    cfg = config(tmp_path, market_dir)
    site = tmp_path / "site"
    site.mkdir()
    result = CliRunner().invoke(
        cli,
        [
            "backfill",
            "--from",
            "2026-01-05",
            "--to",
            "2026-01-23",
            "--format",
            "json",  # publishing adds the page its post links to
            "--no-progress",
            "--publish",
            str(site),
            "--data-dir",
            str(market_dir),
            "--out",
            str(cfg.out_dir),
            "--store",
            str(cfg.store_path),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "failed: week ending 2026-01-16: ZeroDivisionError: float division by zero" in (
        result.output
    )
    assert "built 2 of 3 weeks" in result.output
    assert "published 2 weeks" in result.output
    feed = feedparser.parse((site / "static/archive/feed.xml").read_bytes())
    assert [e.link.split("/")[-2] for e in feed.entries] == ["2026-01-23", "2026-01-09"]
    # Before, --format json published posts whose "Full recap" link led nowhere.
    for week in ("2026-01-09", "2026-01-23"):
        post = (site / f"content/posts/{week}-weekly-recap.md").read_text()
        assert f"[Full recap](/archive/{week}/recap.html)" in post
        assert (site / f"static/archive/{week}/recap.html").is_file()
