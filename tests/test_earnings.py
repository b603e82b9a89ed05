"""Earnings: the reaction measured from the release time (a missing time inferred from the
company's earlier releases), "n/m" for a surprise on a tiny estimate, bank results told
apart from reactions, and the Week Ahead led by the S&P 500's largest members. On the
real snapshot's year of weeks, and on tiny frames."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from recap import render
from recap.analytics import banks
from recap.model import recap_to_dict
from recap.sources.snapshot import read_earnings_csv
from recap.weeks import week_containing

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _week(year_weeks, day):
    return next(r for w, r, _ in year_weeks if w.end == dt.date.fromisoformat(day))


def _earnings(rows):
    frame = pd.DataFrame(
        rows, columns=["ticker", "date", "time", "eps_estimate", "eps_actual", "surprise_pct"]
    )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


# -- release times ------------------------------------------------------------------


def test_a_missing_time_is_inferred_from_earlier_releases():
    """Micron's earlier releases are at 16:00: a release without a time is taken as after
    the close, said to be inferred, and its reaction runs to the next session."""
    rows = [
        ("MU", "2025-06-25", "16:00", 1.59, 1.91, 20.1),
        ("MU", "2025-09-23", "16:00", 2.69, 2.83, 5.2),
        ("MU", "2025-12-17", "", 3.96, 4.78, 20.7),
    ]
    earnings = _earnings(rows)
    days = pd.to_datetime(["2025-12-15", "2025-12-16", "2025-12-17", "2025-12-18", "2025-12-19"])
    closes = pd.DataFrame({"MU": [240.0, 232.0, 225.0, 248.0, 265.0]}, index=days)
    week = week_containing(dt.date(2025, 12, 19))
    (r,) = banks.bank_results(earnings, closes, week, ["MU"], "AI hardware", {"MU": "Micron"})
    assert (r.release_time, r.time_inferred) == (banks.AFTER_CLOSE, True)
    assert (r.reaction_from, r.reaction_to) == (dt.date(2025, 12, 17), dt.date(2025, 12, 18))
    assert r.reaction == pytest.approx(248.0 / 225.0 - 1)  # not the release day's fall


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        (["16:00", "16:00", "16:00", "16:00"], banks.AFTER_CLOSE),
        (["07:00", "16:00", "16:00", "16:00"], banks.AFTER_CLOSE),  # three of the last four
        (["06:00", "06:00"], banks.BEFORE_OPEN),
        (["06:00", "16:00"], None),  # they disagree
        (["16:00", "16:00", "07:00", "07:00"], None),
        (["16:00"], None),  # one earlier release is too little
        (["", ""], None),
        ([], None),
    ],
)
def test_inference_needs_earlier_releases_that_agree(times, expected):
    rows = [("X", f"2024-{i + 1:02d}-15", t, 1.0, 1.1, 10.0) for i, t in enumerate(times)]
    rows.append(("X", "2025-06-15", "", 1.0, 1.1, 10.0))
    earnings = _earnings(rows)
    assert banks.infer_release_time(earnings, "X", dt.date(2025, 6, 15)) == expected
    when, inferred = banks.timed(earnings, "X", dt.date(2025, 6, 15), "")
    assert (when, inferred) == ((expected, True) if expected else (banks.UNKNOWN_TIME, False))
    # A time in the row itself is never overridden.
    assert banks.timed(earnings, "X", dt.date(2025, 6, 15), "06:00") == (banks.BEFORE_OPEN, False)


def test_inference_on_the_snapshot_file(market_dir):
    earnings = read_earnings_csv(market_dir / "earnings.csv")
    assert banks.infer_release_time(earnings, "MU", dt.date(2026, 3, 20)) == banks.AFTER_CLOSE
    assert banks.infer_release_time(earnings, "JPM", dt.date(2026, 4, 14)) == banks.BEFORE_OPEN
    assert banks.infer_release_time(earnings, "ZION", dt.date(2026, 4, 20)) is None  # no times


def test_every_after_close_release_is_measured_to_the_next_session(year_weeks):
    seen = 0
    for week, recap, _ in year_weeks:
        for r in recap.earnings:
            if r.release_time != banks.AFTER_CLOSE or r.reaction is None:
                continue
            seen += 1
            assert r.reaction_from == r.report_date, (week.end, r.ticker)
            assert r.reaction_to > r.report_date, (week.end, r.ticker)
            assert (r.reaction_to - r.report_date).days <= 4  # the next session
    assert seen >= 8  # the chip names have prices from 2025-10-31 only


# -- surprises on tiny estimates -----------------------------------------------------


def test_surprise_on_a_cent_estimate_prints_nm(year_weeks, reference_config):
    recap = _week(year_weeks, "2025-07-25")
    intc = next(r for r in recap.earnings if r.ticker == "INTC")
    assert intc.eps_estimate == 0.01 and intc.surprise_nm and intc.surprise < -10
    assert all(r.surprise_nm == (abs(r.eps_estimate or 1) < 0.05) for r in recap.earnings)
    html = render.render_html(recap, (), reference_config)
    row = html[html.index('<span class="tick">INTC</span>') :].split("</tr>")[0]
    assert ">n/m<" in row and "1280" not in row and "1,280" not in row
    text = render.render_text(recap, reference_config)
    assert "1280" not in text and "1,280" not in text
    doc = json.loads(json.dumps(recap_to_dict(recap), allow_nan=False))
    kept = next(e for e in doc["earnings"] if e["ticker"] == "INTC")
    assert kept["surprise"] == intc.surprise and kept["surprise_nm"] is True


# -- banks: results and reactions told apart -----------------------------------------


def test_bank_results_and_reactions_are_counted_apart(year_weeks):
    for week, recap, _ in year_weeks:
        k = recap.banks
        if k is None:
            continue
        moves = [
            r.reaction for r in k.reported if r.reaction is not None and r.outcome != "not reported"
        ]
        assert k.reactions_up + k.reactions_down + k.reactions_flat == len(moves), week.end
        assert k.reactions_up == sum(1 for m in moves if m >= 0.005)
        if k.classification == "broadly higher":
            assert k.reactions_up >= 2 and k.reactions_down == 0, week.end
        if k.classification == "broadly lower":
            assert k.reactions_down >= 2 and k.reactions_up == 0, week.end
        if k.classification == "mixed":
            assert k.reactions_up and k.reactions_down, week.end
        if len(moves) < 2:
            assert k.classification is None, week.end
    k = _week(year_weeks, "2026-01-23").banks
    assert (k.beats, k.misses) == (5, 1)
    assert (k.reactions_up, k.reactions_down, k.reactions_flat) == (3, 1, 2)
    assert k.classification == "mixed"


# -- the Week Ahead -------------------------------------------------------------------


def test_week_ahead_leads_with_the_largest_companies(year_weeks):
    ahead = _week(year_weeks, "2026-01-23").week_ahead.earnings
    tickers = [u.ticker for u in ahead]
    heavy = [u for u in ahead if u.index_weight is not None]
    assert {"AAPL", "MSFT", "META", "TSLA"} <= {u.ticker for u in heavy}
    assert tickers[: len(heavy)] == [u.ticker for u in heavy]  # heavyweights first
    weights = [u.index_weight for u in heavy]
    assert weights == sorted(weights, reverse=True)
    assert all(u.group == "S&P 500" for u in heavy)
    assert {"TXN", "LRCX", "KLAC"} <= set(tickers[len(heavy) :])  # then the watchlists
    names = {u.ticker: u.name for u in ahead}
    assert names["MSFT"] == "Microsoft" and names["AAPL"] == "Apple"
    # Every week: a ticker once, heavyweights before the rest.
    for week, recap, _ in year_weeks:
        got = recap.week_ahead.earnings
        assert len({u.ticker for u in got}) == len(got), week.end
        flags = [u.index_weight is None for u in got]
        assert flags == sorted(flags), week.end
