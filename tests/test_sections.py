"""Sectors, themes, contribution, bank earnings and risks, from the real snapshot
(figures checked against ../shared/data/market/README.md) and from small frames."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from recap.analytics import banks
from recap.analytics.sectors import compute_moves
from recap.weeks import week_containing
from tests.conftest import CACHE_DIR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _move(recap, ticker):
    s = recap.sectors
    pool = list(s.sectors) + list(s.industries) + [m for w in s.watchlists for m in w.members]
    return next(m for m in pool if m.ticker == ticker)


@pytest.mark.parametrize(
    ("ticker", "expected"),
    [
        ("XLRE", 4.22),
        ("XLP", 3.61),
        ("XLI", 3.07),
        ("SMH", 2.87),
        ("SOXX", 4.16),
        ("KRE", 0.55),
        ("XLF", -2.31),
        ("XLC", -2.32),
        ("TSM", 5.80),
        ("ASML", 6.65),
        ("MU", 5.12),
        ("AVGO", 1.95),
        ("NVDA", 0.74),
        ("PNC", 2.59),
        ("RF", -2.63),
        ("MTB", 0.28),
    ],
)
def test_week_returns_match_the_snapshot_readme(reference_recap, ticker, expected):
    assert round(_move(reference_recap, ticker).week_return * 100, 2) == expected


def test_leaders_and_laggards(reference_recap):
    s = reference_recap.sectors
    assert [m.ticker for m in s.leaders] == ["XLRE", "XLP", "XLI"]
    assert [m.ticker for m in s.laggards][:2] == ["XLC", "XLF"]
    assert [m.week_rank for m in s.sectors] == list(range(1, 12))
    ai = next(w for w in s.watchlists if w.name == "AI hardware")
    assert ai.leaders[0] == max(ai.members, key=lambda m: m.week_return).ticker
    assert ai.laggards[0] == min(ai.members, key=lambda m: m.week_return).ticker
    mean = sum(m.week_return for m in ai.members) / len(ai.members)
    assert ai.week_return == pytest.approx(mean)


def test_breadth_counts_each_name_once(reference_recap):
    b = reference_recap.sectors.breadth
    assert b.advancers + b.decliners + b.unchanged == b.names
    assert 0 < b.with_50d <= b.names and b.above_50d <= b.with_50d


def test_banks_that_reported(reference_recap):
    k = reference_recap.banks
    assert [r.ticker for r in k.reported] == ["MTB", "PNC", "RF"]
    by = {r.ticker: r for r in k.reported + k.large}
    assert round(by["PNC"].surprise * 100, 1) == 15.4
    assert round(by["RF"].surprise * 100, 1) == -6.8
    assert round(by["JPM"].surprise * 100, 1) == -3.9
    assert by["JPM"].report_date == dt.date(2026, 1, 13)
    assert round(by["JPM"].week_return * 100, 2) == -5.08
    assert (by["PNC"].outcome, by["RF"].outcome) == ("beat", "miss")
    assert (k.beats, k.misses) == (2, 1)
    assert by["PNC"].release_time == banks.BEFORE_OPEN
    # Before the open: the report day's close against the previous session's.
    assert (by["PNC"].reaction_from, by["PNC"].reaction_to) == (
        dt.date(2026, 1, 15),
        dt.date(2026, 1, 16),
    )
    assert k.classification == "mixed"
    assert k.best == "PNC" and k.worst == "RF"
    assert k.reaction_spread == pytest.approx(by["PNC"].reaction - by["RF"].reaction)


def test_week_ahead_lists_next_weeks_reports_once(reference_recap):
    ahead = reference_recap.week_ahead
    assert ahead.week.start == dt.date(2026, 1, 20)
    got = [(u.ticker, u.report_date.isoformat()) for u in ahead.earnings]
    for item in [
        ("FITB", "2026-01-20"),
        ("KEY", "2026-01-20"),
        ("USB", "2026-01-20"),
        ("ZION", "2026-01-20"),
        ("CFG", "2026-01-21"),
        ("TFC", "2026-01-21"),
        ("HBAN", "2026-01-22"),
    ]:
        assert item in got
    # Citigroup reported on Jan 14; the dateless row of Jan 21 is not a new report.
    assert "C" not in [u.ticker for u in ahead.earnings]


def test_risks(reference_recap):
    r = reference_recap.risks
    assert r.basket == "AI hardware"
    assert -1 <= r.correlation_3m <= 1
    assert r.semis_volatility > r.market_volatility > 0
    large = reference_recap.indexes[0]
    assert r.basket_vs_large_week == pytest.approx(r.basket_week - large.week_return)
    assert all(n.source and n.as_of for n in r.notes)
    assert r.concentration_flagged == (
        r.concentration_share > r.share_threshold or r.hhi > r.hhi_threshold
    )
    # From the index's own stocks: Industrials and Information Technology, 56% of the gains.
    assert r.concentration_sectors == ("Industrials", "Information Technology")
    assert round(r.concentration_share, 2) == 0.56


def _closes(data: dict[str, list[float]], days: list[str]) -> pd.DataFrame:
    return pd.DataFrame(data, index=pd.DatetimeIndex(pd.to_datetime(days), name="Date"))


DAYS = ["2026-01-09", "2026-01-12", "2026-01-13", "2026-01-14", "2026-01-15", "2026-01-16"]


def test_missing_ticker_is_named_not_zero():
    week = week_containing(dt.date(2026, 1, 16))
    closes = _closes({"A": [10, 10, 10, 10, 10, 11], "B": [10, 10, 10, 10, 10, None]}, DAYS)
    moves, missing = compute_moves(closes, week, [("A", "A"), ("B", "B"), ("C", "C")], "sector")
    # B lacks only Friday: its row is kept, to Thursday's close (issue 21), and says so.
    assert [m.ticker for m in moves] == ["A", "B"]
    assert missing == ("C",)
    assert moves[1].through == dt.date(2026, 1, 15) and moves[1].week_return == 0.0
    assert moves[0].through is None
    assert moves[0].week_return == pytest.approx(0.1)
    assert moves[0].ytd_return is None  # no close at the end of 2025
    assert moves[0].above_50d is None  # six sessions of history


def test_missing_ticker_goes_to_data_notes(market_dir, snapshot_source, tmp_path):
    from recap import pipeline
    from recap.config import read_config

    toml = tmp_path / "recap.toml"
    toml.write_text('[watchlists]\n"Mine" = ["NVDA", "NOPE"]\n')
    cfg = read_config(toml, {"data_dir": market_dir}, cwd=tmp_path)
    now = dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC)
    week = week_containing(dt.date(2026, 1, 16))
    market = pipeline.fetch_market(snapshot_source, cfg, week)
    recap = pipeline.compute_recap(market, week, cfg, now)
    assert any("NOPE" in n and "Mine" in n for n in recap.data.notes)
    mine = next(w for w in recap.sectors.watchlists if w.name == "Mine")
    assert [m.ticker for m in mine.members] == ["NVDA"] and mine.missing == ("NOPE",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06:00", banks.BEFORE_OPEN),
        ("16:00", banks.AFTER_CLOSE),
        ("17:30", banks.AFTER_CLOSE),
        ("11:00", banks.DURING_SESSION),
        ("", banks.UNKNOWN_TIME),
        (None, banks.UNKNOWN_TIME),
        ("soon", banks.UNKNOWN_TIME),
    ],
)
def test_release_time(text, expected):
    assert banks.release_time(text) == expected


def test_reaction_after_the_close_uses_the_next_session():
    closes = _closes({"X": [100, 100, 100, 100, 100, 110]}, DAYS)["X"]
    move, frm, to, pending = banks.reaction(
        closes, dt.date(2026, 1, 15), banks.AFTER_CLOSE, dt.date(2026, 1, 16)
    )
    assert (frm, to, pending) == (dt.date(2026, 1, 15), dt.date(2026, 1, 16), False)
    assert move == pytest.approx(0.10)
    # Released after Friday's close: the reaction falls next week, after the last bar.
    move, _, to, pending = banks.reaction(
        closes, dt.date(2026, 1, 16), banks.AFTER_CLOSE, dt.date(2026, 1, 16)
    )
    assert move is None and to is None and pending


def test_classify():
    assert banks.classify([0.02, -0.01]) == "mixed"
    assert banks.classify([0.02, 0.01]) == "broadly higher"
    assert banks.classify([-0.02, -0.03, 0.001]) == "broadly lower"
    # One move is no direction for a group; nor is one real move among small ones
    # ("broadly higher" on one bank's +0.06% was wrong).
    assert banks.classify([-0.02]) is None
    assert banks.classify([0.0006, -0.002]) is None
    assert banks.classify([0.03, 0.002, -0.001]) is None
    assert banks.classify([]) is None
    assert banks.reaction_counts([0.03, 0.002, -0.001, -0.007]) == (1, 1, 2)


def test_bad_contribution_weights_are_a_config_error(tmp_path):
    from recap.config import read_config
    from recap.errors import ConfigError

    toml = tmp_path / "recap.toml"
    toml.write_text('[contribution]\nweights = [{ sector = "Energy", weight = 0.1 }]\n')
    # Refused when the config loads, before any data is fetched.
    with pytest.raises(ConfigError, match="weights_source"):
        read_config(toml, {}, cwd=tmp_path)


def test_without_weights_contribution_is_left_out_and_noted(market_dir, snapshot_source):
    from recap import pipeline
    from recap.config import read_config

    # No data folder: no holdings file.
    cfg = read_config(None, {"cache_dir": CACHE_DIR}, cwd=market_dir)
    week = week_containing(dt.date(2026, 1, 16))
    market = pipeline.fetch_market(snapshot_source, cfg, week, None)
    recap = pipeline.compute_recap(market, week, cfg, dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC))
    assert recap.attribution is None and recap.market_breadth is None
    assert any("No holdings or sector weights for IWM" in n for n in recap.data.notes)
    assert recap.risks.concentration_share is None
    assert all(c.small_week is None for c in recap.sectors.small_caps)
