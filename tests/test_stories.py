"""Story selection and headlines: candidates from the facts, shapes, no repeats; and the
facts behind them (record streaks, milestones, the biggest move since)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recap.analytics.indexes import (
    compute_index_move,
    compute_small_vs_large,
    milestone,
    record_streak,
    weekly_closes,
)
from recap.headlines import MAX_LENGTH, dated, headline_options, pick_headline
from recap.stories import Story, select_stories
from recap.weeks import week_containing
from tests.conftest import CACHE_DIR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _series(values, end="2026-01-16"):
    days = pd.bdate_range(end=end, periods=len(values))
    return pd.Series(np.asarray(values, dtype="float64"), index=days)


# ---------------------------------------------------------------- facts


def test_record_streak_counts_records_back_from_the_last_session():
    s = _series([10, 11, 12, 11.5, 12.5, 13, 14])
    assert record_streak(s, s.index[-1].date()) == 3
    assert record_streak(s, s.index[-4].date()) == 0
    assert record_streak(_series([5, 4, 3]), dt.date(2026, 1, 16)) == 0


def test_milestone_is_a_round_level_first_closed_above_in_the_week():
    week = week_containing(dt.date(2026, 1, 16))
    before = [49000 + 10 * i for i in range(80)]  # a record run up to 49,790
    s = _series([*before, 49800, 50120, 49900, 50010, 49950])
    assert milestone(s.loc[: pd.Timestamp(week.end)], week) == (50000.0, dt.date(2026, 1, 13))
    # Closing above an old high is no milestone.
    s = _series([51000, *before, 49800, 50120, 49900, 50010, 49950])
    assert milestone(s, week) == (None, None)


def test_the_biggest_move_since_and_the_widest_gap_since():
    # Weekly closes: a 5% drop long ago, then small moves, then a 3% drop this week.
    weeks = pd.date_range(end="2026-01-16", periods=60, freq="W-FRI")
    values = [100.0] * 60
    values[10] = 95.0  # a 5% drop in the week of weeks[10]
    for i in range(11, 59):
        values[i] = 95.0 + 0.1 * (i - 10)
    values[59] = values[58] * 0.97
    s = pd.Series(values, index=weeks)
    week = week_containing(dt.date(2026, 1, 16))
    move = compute_index_move(s, week, name="X", symbol="X", index_symbol="X")
    assert move.larger_move_on == weeks[10].date()
    assert move.weeks_since_larger == 49
    small = s * 1.0
    large = pd.Series(100.0, index=weeks)
    svl = compute_small_vs_large(small, large, week, small_symbol="X", large_symbol="Y")
    assert svl.spread == pytest.approx(-0.03)
    assert svl.wider_on == weeks[10].date()


def test_weekly_closes_take_each_weeks_last_session():
    days = pd.to_datetime(["2026-01-05", "2026-01-07", "2026-01-09", "2026-01-12", "2026-01-16"])
    s = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], index=days)
    got = weekly_closes(s)
    assert list(got.index.date) == [dt.date(2026, 1, 9), dt.date(2026, 1, 16)]
    assert list(got) == [3.0, 5.0]
    # The same as pandas' own weekly grouping on a long real-looking series.
    long = _series(np.linspace(1, 2, 2000))
    expected = long.groupby(long.index.to_period("W-SUN")).tail(1)
    pd.testing.assert_series_equal(weekly_closes(long), expected, check_freq=False)


# ---------------------------------------------------------------- stories


def test_the_reference_weeks_stories(reference_recap):
    stories = select_stories(reference_recap)
    kinds = [s.kind for s in stories]
    assert kinds[0] == "record" and stories[0].subject == "^RUT" and stories[0].strong
    theme = next(s for s in stories if s.kind == "theme" and s.subject == "AI hardware")
    assert theme.risk == "Tech"  # it surged ahead of the market in a high-volatility trade
    assert {"spread", "banks", "earnings"} <= set(kinds)
    scores = [s.score for s in stories]
    assert scores == sorted(scores, reverse=True)
    assert select_stories(reference_recap) == stories


def test_what_drove_small_caps_comes_from_their_own_stocks(reference_recap):
    drivers = next(s for s in select_stories(reference_recap) if s.kind == "drivers")
    assert (drivers.subject, drivers.index, drivers.direction) == ("Industrials", "^RUT", 1)
    assert drivers.phrases[0] == "Industrial Stocks Lead Small Caps Higher"
    # An estimate never drives the story.
    estimate = dataclasses.replace(reference_recap.attribution, method="estimate")
    r = dataclasses.replace(reference_recap, attribution=estimate)
    assert not any(s.kind == "drivers" for s in select_stories(r))


def test_concentration_is_news_only_on_a_real_gain(reference_recap):
    flagged = dataclasses.replace(reference_recap.risks, concentration_flagged=True)
    r = dataclasses.replace(reference_recap, risks=flagged)
    story = next(s for s in select_stories(r) if s.kind == "concentration")
    assert story.phrases == ("Two Sectors Supply 56% of Small-Cap Gains This Year",)
    small = tuple(
        dataclasses.replace(m, ytd_return=0.004) if m.symbol == "^RUT" else m for m in r.indexes
    )
    assert not any(
        s.kind == "concentration" for s in select_stories(dataclasses.replace(r, indexes=small))
    )


def test_a_midweek_record_that_slipped_reads_as_such(reference_recap):
    r = reference_recap
    indexes = tuple(
        dataclasses.replace(m, record_close=False, record_streak=0, week_return=-0.003)
        if m.symbol == "^RUT"
        else dataclasses.replace(m, record_close=False, record_sessions=(), record_streak=0)
        for m in r.indexes
    )
    stories = select_stories(dataclasses.replace(r, indexes=indexes))
    record = next(s for s in stories if s.kind == "record")
    assert record.direction == -1
    assert all("Midweek" in p or "Retreats" in p for p in record.phrases)


# ---------------------------------------------------------------- headlines


DAY = dt.date(2026, 1, 16)


def _story(kind, score, phrases, direction=1, subject="x", risk="", strong=False):
    return Story(kind, score, subject, direction, tuple(phrases), risk, strong)


def test_options_join_the_top_two_stories_and_fit_in_70_characters():
    stories = [
        _story("move", 6.0, ["Stocks Slide", "Wall Street Sinks"], -1),
        _story("rotation", 4.0, ["Energy Stocks Tumble"], -1, "XLE"),
        _story("earnings", 3.0, ["Intel Tumbles 17% After Results"], -1, "INTC"),
    ]
    options = headline_options(stories, DAY)
    assert all(len(h) <= MAX_LENGTH for h in options)
    assert any(
        h in ("Stocks Slide as Energy Stocks Tumble", "Wall Street Sinks as Energy Stocks Tumble")
        for h in options
    )
    assert options[-1] == dated("Stocks Slide", DAY)  # the last resort, unique to its week
    # The same verb twice never: "Stocks Tumble as Energy Stocks Tumble".
    clash = [_story("move", 6.0, ["Stocks Tumble"], -1), stories[1]]
    assert "Stocks Tumble as Energy Stocks Tumble" not in headline_options(clash, DAY)


def test_small_cap_drivers_join_only_a_small_cap_story():
    drivers = Story(
        "drivers",
        3.0,
        "Industrials",
        1,
        ("Industrial Stocks Lead Small Caps Higher",),
        index="^RUT",
    )
    market = _story("move", 6.0, ["Stocks Climb"], 1, "^GSPC")
    small = _story("record", 7.0, ["Russell 2000 Closes at a Record"], 1, "^RUT")
    assert not any(" as Industrial" in h for h in headline_options([market, drivers], DAY))
    assert "Russell 2000 Closes at a Record as Industrial Stocks Lead" in (
        headline_options(
            [small, dataclasses.replace(drivers, phrases=("Industrial Stocks Lead",))], DAY
        )
    )


def test_a_risk_is_spotlighted_only_from_the_top_two():
    risk = _story("concentration", 2.5, [], 1, "^RUT", risk="Concentration")
    top = _story("record", 7.0, ["Russell 2000 Closes at a Record"])
    second = _story("banks", 3.0, ["Regional Bank Results Diverge"], 0)
    assert any("Concentration Risks Spotlighted" in h for h in headline_options([top, risk], DAY))
    assert not any("Risks Spotlighted" in h for h in headline_options([top, second, risk], DAY))


def test_a_strong_phrase_is_never_rotated_away():
    strong = _story(
        "move",
        20.0,
        ["Stocks Have Their Worst Week Since March 2020", "Stocks Tumble"],
        -1,
        strong=True,
    )
    for weeks in range(5):
        options = headline_options([strong], DAY + dt.timedelta(weeks=weeks))
        assert options[0] == "Stocks Have Their Worst Week Since March 2020"


def test_pick_skips_every_option_of_the_weeks_before():
    options = ("A", "B", "C", "Week to Jan. 16: A")
    assert pick_headline(options, [("A", "X"), ("Y",)]) == "B"
    assert pick_headline(options, [("A", "B", "C")]) == "Week to Jan. 16: A"


def test_the_pipeline_computes_the_same_earlier_options(year_weeks, market_dir, snapshot_source):
    """What a build computes for its four earlier weeks (from its own fetch) is what those
    weeks' own builds allowed: the no-repeat rule holds across separate builds."""
    from recap import pipeline
    from recap.config import read_config

    cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
    now = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    by_end = {w.end: options for w, _, options in year_weeks}
    for i in (4, 26, 48, 51):  # spring, summer, the turn of the year, the last week
        week = year_weeks[i][0]
        market = pipeline.fetch_market(snapshot_source, cfg, week)
        got = pipeline.earlier_headlines(market, week, cfg, now)
        want = tuple(by_end[w.end] for w, _, _ in reversed(year_weeks[i - 4 : i]))
        assert got == want, week.end
