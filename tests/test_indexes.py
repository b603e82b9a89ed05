"""The index section on real data, and edge cases on tiny frames."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recap.analytics.indexes import compute_index_move, compute_small_vs_large
from recap.config import read_config
from recap.errors import StaleDataError
from recap.pipeline import compute_indexes
from recap.sources.base import closes_frame
from recap.weeks import week_containing

WEEK = week_containing(dt.date(2026, 1, 16))


@pytest.fixture(scope="module")
def closes(snapshot_source):
    bars = snapshot_source.fetch_bars(("SPY", "DIA", "QQQ", "IWM"), dt.date(1990, 1, 1), WEEK.end)
    return closes_frame(bars)


def test_reference_week_matches_known_facts(closes, tmp_path):
    moves, notes = compute_indexes(closes, WEEK, read_config(cwd=tmp_path))
    by = {m.symbol: m for m in moves}
    assert round(by["IWM"].week_return * 100, 2) == 2.13
    assert round(by["SPY"].week_return * 100, 2) == -0.35
    assert round(by["DIA"].week_return * 100, 2) == -0.32
    assert round(by["QQQ"].week_return * 100, 2) == -0.86
    assert by["IWM"].record_close is True and by["IWM"].close == pytest.approx(265.76)
    assert by["IWM"].pct_below_52w_high == 0.0
    for symbol in ("SPY", "DIA", "QQQ"):
        assert by[symbol].record_close is False
        assert by[symbol].pct_below_52w_high > 0
    assert by["QQQ"].label == "Nasdaq-100 (QQQ)"
    assert by["IWM"].label == "Russell 2000 (IWM)"
    assert any("IWM ETF stands in for ^RUT" in n for n in notes)


def test_ytd_uses_the_last_close_of_the_prior_year(closes):
    move = compute_index_move(closes["IWM"], WEEK, name="R", symbol="IWM", index_symbol="IWM")
    assert move.ytd_base_date == dt.date(2025, 12, 31)
    base = closes["IWM"].loc["2025-12-31"]
    assert move.ytd_return == pytest.approx(move.close / base - 1)


def test_small_vs_large_spread(closes):
    svl = compute_small_vs_large(
        closes["IWM"], closes["SPY"], WEEK, small_symbol="IWM", large_symbol="SPY"
    )
    iwm = closes["IWM"].loc["2026-01-16"] / closes["IWM"].loc["2026-01-09"] - 1
    spy = closes["SPY"].loc["2026-01-16"] / closes["SPY"].loc["2026-01-09"] - 1
    assert svl.spread == pytest.approx(iwm - spy)
    assert svl.positive_streak_weeks >= 1


def _frame(days: int, start: str = "2025-12-01") -> pd.Series:
    index = pd.bdate_range(start, periods=days)
    return pd.Series(np.linspace(100, 120, days), index=index, name="X")


def test_short_history_claims_no_record():
    series = _frame(40)
    week = week_containing(series.index[-1].date())
    move = compute_index_move(series, week, name="X", symbol="X", index_symbol="X")
    assert move.record_close is None


def test_nan_close_on_last_session_is_stale():
    series = _frame(40)
    week = week_containing(series.index[-1].date())
    series.iloc[-1] = np.nan
    with pytest.raises(StaleDataError, match=f"no close for X on {week.end.isoformat()}"):
        compute_index_move(series, week, name="X", symbol="X", index_symbol="X")
