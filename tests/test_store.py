"""The SQLite store and the cached sources, on a real SQLite file in tmp_path."""

from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pandas as pd
import pytest

from recap.errors import StoreError
from recap.sources.base import BAR_COLUMNS, empty_earnings
from recap.sources.cached import CachedSource, StoreSource, last_closed_session
from recap.store import MIGRATIONS, Store

D = dt.date
UTC = dt.UTC


def _bars(days, base=100.0, nan_close=False):
    index = pd.DatetimeIndex(pd.to_datetime(days), name="Date")
    n = len(index)
    close = base + np.arange(n, dtype="float64")
    frame = pd.DataFrame(
        {
            "Open": close - 0.5,
            "High": close + 1,
            "Low": close - 1,
            "Close": np.full(n, np.nan) if nan_close else close,
            "Adj Close": close - 0.25,
            "Volume": np.full(n, 1000.0),
        },
        index=index,
    )
    return frame.loc[:, list(BAR_COLUMNS)]


class CountingUpstream:
    """A fake upstream serving fixed frames, counting and recording every call."""

    name = "fake"

    def __init__(self, frames, earnings=None, fail=False):
        self.frames = frames
        self.earnings = empty_earnings() if earnings is None else earnings
        self.fail = fail
        self.calls = []
        self.earnings_calls = []

    def fetch_bars(self, tickers, start, end):
        self.calls.append((tickers, start, end))
        if self.fail:
            raise ConnectionError("upstream went away")
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        out = {}
        for t in tickers:
            if t in self.frames:
                f = self.frames[t]
                window = f.loc[(f.index >= lo) & (f.index <= hi)]
                if len(window):
                    out[t] = window
        return out

    def fetch_earnings(self, tickers, start, end):
        self.earnings_calls.append((tickers, start, end))
        e = self.earnings
        mask = e["ticker"].isin(tickers) & (e["date"] >= pd.Timestamp(start))
        return e.loc[mask & (e["date"] <= pd.Timestamp(end))].reset_index(drop=True)


JAN = [D(2026, 1, d) for d in (2, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 20, 21, 22, 23)]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "deep" / "cache" / "recap.sqlite") as s:
        yield s


def test_creates_file_and_schema(tmp_path):
    path = tmp_path / "a" / "b" / "recap.sqlite"
    with Store(path) as s:
        assert s.schema_version() == len(MIGRATIONS)
    assert path.is_file()
    with Store(path) as s:  # reopening runs no migration twice
        assert s.schema_version() == len(MIGRATIONS)
        assert s.tickers() == ()


def test_bars_round_trip_with_nan(store):
    frame = _bars(JAN[:5])
    frame.iloc[1, frame.columns.get_loc("Volume")] = np.nan
    zion = _bars(JAN[:3], nan_close=True)
    store.save_bars({"SPY": frame, "ZION": zion}, D(2026, 1, 1), D(2026, 1, 8))
    got = store.load_bars(("SPY", "ZION", "NOPE"), D(2026, 1, 1), D(2026, 1, 31))
    assert set(got) == {"SPY", "ZION"}
    pd.testing.assert_frame_equal(got["SPY"], frame, check_index_type=False)
    assert got["ZION"]["Close"].isna().all()
    assert got["SPY"].index.name == "Date"
    assert store.coverage("SPY") == (D(2026, 1, 1), D(2026, 1, 8))
    assert store.latest_session(("SPY", "ZION")) == D(2026, 1, 8)
    assert store.latest_session(("NOPE",)) is None
    assert store.tickers() == ("SPY", "ZION")


def test_coverage_grows_and_refuses_gaps(store):
    store.save_bars({"SPY": _bars(JAN[:3])}, D(2026, 1, 1), D(2026, 1, 6))
    store.save_bars({"SPY": _bars(JAN[3:6])}, D(2026, 1, 7), D(2026, 1, 9))
    assert store.coverage("SPY") == (D(2026, 1, 1), D(2026, 1, 9))
    with pytest.raises(StoreError, match="gap"):
        store.save_bars({"SPY": _bars(JAN[-2:])}, D(2026, 1, 22), D(2026, 1, 23))
    assert store.load_bars(("SPY",), D(2026, 1, 20), D(2026, 1, 31)) == {}


def test_failure_mid_save_leaves_store_unchanged(store):
    store.save_bars({"SPY": _bars(JAN[:3])}, D(2026, 1, 1), D(2026, 1, 6))
    bad = _bars(JAN[3:6]).astype("object")
    bad.iloc[1, 0] = "not a number"  # the second ticker fails after the first was written
    with pytest.raises(ValueError):
        store.save_bars({"QQQ": _bars(JAN[3:6]), "IWM": bad}, D(2026, 1, 7), D(2026, 1, 9))
    assert store.load_bars(("QQQ", "IWM"), D(2026, 1, 1), D(2026, 1, 31)) == {}
    assert store.coverage("QQQ") is None
    assert store.tickers() == ("SPY",)


def test_other_modules_can_add_tables(store):
    with store.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS send_log (week TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO send_log VALUES ('2026-01-16')")
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        conn.execute("INSERT INTO send_log VALUES ('2026-01-23')")
        conn.execute("INSERT INTO send_log VALUES ('2026-01-16')")
    rows = store.connection.execute("SELECT week FROM send_log").fetchall()
    assert rows == [("2026-01-16",)]


def test_earnings_round_trip(store):
    rows = pd.DataFrame(
        {
            "ticker": ["JPM", "PNC"],
            "date": pd.to_datetime(["2026-01-13", "2026-01-16"]),
            "time": ["06:45", ""],
            "eps_estimate": [4.85, 4.2],
            "eps_actual": [4.66, np.nan],
            "surprise_pct": [-3.9, np.nan],
        }
    )
    now = dt.datetime(2026, 1, 17, tzinfo=UTC)
    store.save_earnings(rows, ("JPM", "PNC", "RF"), D(2026, 1, 1), D(2026, 1, 31), now)
    got = store.load_earnings(("JPM", "PNC", "RF"), D(2026, 1, 1), D(2026, 1, 31))
    pd.testing.assert_frame_equal(got, rows, check_dtype=False)
    assert store.earnings_coverage("RF") == (D(2026, 1, 1), D(2026, 1, 31), now)
    assert store.load_earnings(("JPM",), D(2026, 2, 1), D(2026, 2, 28)).empty


def test_cached_second_identical_call_makes_no_upstream_call(store):
    upstream = CountingUpstream({"SPY": _bars(JAN), "QQQ": _bars(JAN, 50)})
    source = CachedSource(upstream, store)
    first = source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 2), D(2026, 1, 16))
    assert len(upstream.calls) == 1  # one batched call for both tickers
    second = source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 2), D(2026, 1, 16))
    assert len(upstream.calls) == 1
    assert source.name == "fake"
    for t in ("SPY", "QQQ"):
        pd.testing.assert_frame_equal(first[t], second[t])
        assert len(first[t]) == 11


def test_cached_later_end_fetches_only_missing_days(store):
    upstream = CountingUpstream({"SPY": _bars(JAN), "QQQ": _bars(JAN, 50)})
    source = CachedSource(upstream, store)
    source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 2), D(2026, 1, 16))
    got = source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 2), D(2026, 1, 23))
    # The gap starts after the Martin Luther King Jr. Day holiday, trimmed to sessions, and
    # the last stored session (Friday) is asked again, to check it against the stored bar.
    assert upstream.calls[1] == (("SPY", "QQQ"), D(2026, 1, 16), D(2026, 1, 23))
    assert len(got["SPY"]) == 15
    assert store.coverage("SPY") == (D(2026, 1, 2), D(2026, 1, 23))


def test_cached_holiday_only_gap_needs_no_call(store):
    upstream = CountingUpstream({"SPY": _bars(JAN)})
    source = CachedSource(upstream, store)
    source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 19))  # weekend + MLK day
    assert len(upstream.calls) == 1
    assert store.coverage("SPY") == (D(2026, 1, 12), D(2026, 1, 19))


def test_cached_groups_tickers_by_missing_range(store):
    upstream = CountingUpstream({"SPY": _bars(JAN), "QQQ": _bars(JAN), "IWM": _bars(JAN)})
    source = CachedSource(upstream, store)
    source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 2), D(2026, 1, 9))
    upstream.calls.clear()
    source.fetch_bars(("SPY", "QQQ", "IWM"), D(2026, 1, 2), D(2026, 1, 16))
    assert sorted(upstream.calls) == [
        (("IWM",), D(2026, 1, 2), D(2026, 1, 16)),
        (("SPY", "QQQ"), D(2026, 1, 9), D(2026, 1, 16)),  # from the last stored session
    ]


def test_cached_upstream_failure_leaves_store_unchanged(store):
    good = CountingUpstream({"SPY": _bars(JAN)})
    CachedSource(good, store).fetch_bars(("SPY",), D(2026, 1, 2), D(2026, 1, 9))
    before = store.load_bars(("SPY",), D(2026, 1, 1), D(2026, 1, 31))
    failing = CountingUpstream({"SPY": _bars(JAN)}, fail=True)
    with pytest.raises(ConnectionError):
        CachedSource(failing, store).fetch_bars(("SPY",), D(2026, 1, 2), D(2026, 1, 16))
    after = store.load_bars(("SPY",), D(2026, 1, 1), D(2026, 1, 31))
    pd.testing.assert_frame_equal(after["SPY"], before["SPY"])
    assert store.coverage("SPY") == (D(2026, 1, 2), D(2026, 1, 9))


def test_cached_missing_ticker_is_refetched_not_marked_covered(store):
    upstream = CountingUpstream({"SPY": _bars(JAN)})
    source = CachedSource(upstream, store)
    got = source.fetch_bars(("SPY", "GONE"), D(2026, 1, 2), D(2026, 1, 16))
    assert set(got) == {"SPY"}
    assert store.coverage("GONE") is None
    source.fetch_bars(("SPY", "GONE"), D(2026, 1, 2), D(2026, 1, 16))
    assert upstream.calls[-1][0] == ("GONE",)


def test_cached_before_first_bar_is_covered(store):
    # History that starts later than asked: the earlier range is not fetched again.
    upstream = CountingUpstream({"NEW": _bars(JAN[6:]), "SPY": _bars(JAN)})
    source = CachedSource(upstream, store)
    source.fetch_bars(("NEW", "SPY"), D(2026, 1, 12), D(2026, 1, 16))
    source.fetch_bars(("NEW", "SPY"), D(2026, 1, 2), D(2026, 1, 16))
    source.fetch_bars(("NEW", "SPY"), D(2026, 1, 2), D(2026, 1, 16))
    assert len(upstream.calls) == 2
    assert store.coverage("NEW") == (D(2026, 1, 2), D(2026, 1, 16))


def test_cached_never_covers_an_unclosed_session(store):
    upstream = CountingUpstream({"SPY": _bars(JAN)})
    # Friday 2026-01-16 at noon in New York: that session has not closed.
    now = dt.datetime(2026, 1, 16, 17, 0, tzinfo=UTC)
    source = CachedSource(upstream, store, now=now)
    got = source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    assert got["SPY"].index[-1].date() == D(2026, 1, 16)
    assert store.coverage("SPY") == (D(2026, 1, 12), D(2026, 1, 15))
    source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    assert upstream.calls[-1][1:] == (D(2026, 1, 15), D(2026, 1, 16))  # with the last stored


def test_last_closed_session():
    assert last_closed_session(dt.datetime(2026, 1, 16, 22, 0, tzinfo=UTC)) == D(2026, 1, 16)
    assert last_closed_session(dt.datetime(2026, 1, 16, 20, 0, tzinfo=UTC)) == D(2026, 1, 15)
    assert last_closed_session(dt.datetime(2026, 1, 19, 23, 0, tzinfo=UTC)) == D(2026, 1, 16)


def _earnings_rows():
    return pd.DataFrame(
        {
            "ticker": ["JPM", "PNC"],
            "date": pd.to_datetime(["2026-01-13", "2026-01-16"]),
            "time": ["06:45", "06:30"],
            "eps_estimate": [4.85, 4.2],
            "eps_actual": [4.66, 4.85],
            "surprise_pct": [-3.9, 15.4],
        }
    )


def test_cached_earnings_refetch_only_when_stale(store):
    upstream = CountingUpstream({}, earnings=_earnings_rows())
    now = dt.datetime(2026, 1, 17, 12, 0, tzinfo=UTC)
    span = (("JPM", "PNC"), D(2026, 1, 12), D(2026, 1, 16))
    got = CachedSource(upstream, store, now=now).fetch_earnings(*span)
    assert list(got["ticker"]) == ["JPM", "PNC"]
    CachedSource(upstream, store, now=now + dt.timedelta(hours=6)).fetch_earnings(*span)
    assert len(upstream.earnings_calls) == 1
    # A day later the same week is refreshed: it ended just before the last fetch.
    CachedSource(upstream, store, now=now + dt.timedelta(days=2)).fetch_earnings(*span)
    assert len(upstream.earnings_calls) == 2
    # An old week fetched long after it ended is final: no refresh.
    old = (("JPM",), D(2025, 10, 13), D(2025, 10, 17))
    CachedSource(upstream, store, now=now).fetch_earnings(*old)
    CachedSource(upstream, store, now=now + dt.timedelta(days=30)).fetch_earnings(*old)
    assert len(upstream.earnings_calls) == 3


def test_cached_failed_earnings_are_not_stored_and_asked_again(store):
    from recap.errors import SourceError

    class Refusing(CountingUpstream):
        def fetch_earnings(self, tickers, start, end):
            self.earnings_calls.append((tickers, start, end))
            raise SourceError("Yahoo Finance kept refusing requests after 4 attempts")

    now = dt.datetime(2026, 1, 17, 12, 0, tzinfo=UTC)
    span = (("JPM", "PNC"), D(2026, 1, 12), D(2026, 1, 16))
    down = CachedSource(Refusing({}), store, now=now)
    assert down.fetch_earnings(*span).empty  # prices may still carry the build
    assert set(down.failures.earnings) == {"JPM", "PNC"}
    assert store.earnings_coverage("JPM") is None  # never stored as "no earnings"
    up = CountingUpstream({}, earnings=_earnings_rows())
    source = CachedSource(up, store, now=now + dt.timedelta(hours=1))
    assert list(source.fetch_earnings(*span)["ticker"]) == ["JPM", "PNC"]
    assert len(up.earnings_calls) == 1 and not source.failures.earnings


def test_store_source_answers_offline(store):
    store.save_bars({"SPY": _bars(JAN)}, D(2026, 1, 2), D(2026, 1, 23))
    source = StoreSource(store)
    assert source.name == "store"
    assert set(source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 12), D(2026, 1, 16))) == {"SPY"}
    assert source.fetch_earnings(("SPY",), D(2026, 1, 12), D(2026, 1, 16)).empty
    assert source.latest_session(("SPY",)) == D(2026, 1, 23)


def test_cached_over_real_snapshot(snapshot_source, store):
    source = CachedSource(snapshot_source, store)
    span = (("SPY", "ZION", "KRE"), D(2025, 12, 1), D(2026, 1, 16))
    got = source.fetch_bars(*span)
    want = snapshot_source.fetch_bars(*span)
    for t in span[0]:
        pd.testing.assert_frame_equal(got[t], want[t], check_index_type=False)
    assert got["SPY"].loc["2026-01-16", "Close"] == pytest.approx(691.66)
