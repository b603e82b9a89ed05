"""YahooSource through its seams: fakes return what yfinance 1.x returns, never the network."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pytest
from yfinance.exceptions import YFRateLimitError

from recap.config import read_config
from recap.errors import SourceError
from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS
from recap.sources.yahoo import YahooSource, normalize_earnings, split_download

D = dt.date
WEEK = [f"2026-01-{d}" for d in (12, 13, 14, 15, 16)]
YF_LOG = logging.getLogger("yfinance")
OFFLINE_LOG = (
    "Failed to get ticker 'SPY' reason: Failed to perform, curl: (6) Could not resolve host: "
    "query2.finance.yahoo.com. See https://curl.se/libcurl/c/libcurl-errors.html first"
)
RATE_LOG = "$SPY: YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')"


def _history(days=WEEK, base=100.0, tz=None):
    """One ticker as Ticker.history(auto_adjust=False) returns it."""
    index = pd.DatetimeIndex(pd.to_datetime(days), name="Date").as_unit("s")
    if tz:
        index = index.tz_localize(tz)
    close = base + np.arange(len(index), dtype="float64")
    return pd.DataFrame(
        {
            "Open": close - 0.5,
            "High": close + 1,
            "Low": close - 1,
            "Close": close,
            "Adj Close": close - 0.2,
            "Volume": np.full(len(index), 1_000_000, dtype="int64"),
        },
        index=index,
    )


def _failed():
    """What yfinance stores for a ticker whose download failed (utils.empty_df())."""
    frame = pd.DataFrame(
        index=[], data={c: np.nan for c in ("Open", "High", "Low", "Close", "Adj Close", "Volume")}
    )
    frame.index.name = "Date"
    return frame


def _download_result(dfs, group_by="column"):
    """Assemble per-ticker frames the way yfinance.multi.download does."""
    idx = None
    for df in dfs.values():
        if not df.empty:
            idx = df.index if idx is None else idx.union(df.index)
    idx = pd.DatetimeIndex([]) if idx is None else idx
    dfs = {k: v.reindex(idx) for k, v in dfs.items()}
    data = pd.concat(dfs.values(), axis=1, sort=True, keys=dfs.keys(), names=["Ticker", "Price"])
    if group_by == "column":
        data.columns = data.columns.swaplevel(0, 1)
        data = data.sort_index(level=0, axis=1)
    return data


class FakeDownload:
    """Plays back one scripted answer per call: a frame, an exception, or (log, frame)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, tickers, **kwargs):
        self.calls.append((list(tickers), kwargs))
        answer = self.answers.pop(0)
        if callable(answer) and not isinstance(answer, pd.DataFrame):
            answer = answer(tickers)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, tuple):
            message, answer = answer
            YF_LOG.error(message)
        return answer


def _source(download, **kw):
    sleeps = []
    kw.setdefault("backoff_seconds", 2.0)
    source = YahooSource(download=download, sleep=sleeps.append, **kw)
    return source, sleeps


def test_several_tickers_multiindex(caplog):
    fake = FakeDownload(_download_result({"SPY": _history(), "QQQ": _history(base=600)}))
    source, _ = _source(fake, timeout=7, threads=False)
    bars = source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 12), D(2026, 1, 16))
    assert set(bars) == {"SPY", "QQQ"}
    spy = bars["SPY"]
    assert list(spy.columns) == list(BAR_COLUMNS)
    assert spy.index.name == "Date" and spy.index.tz is None
    assert (spy.dtypes == "float64").all()
    assert spy["Close"].tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert bars["QQQ"]["Close"].iloc[0] == 600.0
    tickers, kwargs = fake.calls[0]
    assert sorted(tickers) == ["QQQ", "SPY"]
    assert kwargs["start"] == "2026-01-12"
    assert kwargs["end"] == "2026-01-17"  # yfinance's end is exclusive
    assert kwargs["auto_adjust"] is False and kwargs["actions"] is False
    assert kwargs["progress"] is False and kwargs["timeout"] == 7 and kwargs["threads"] is False


def test_single_ticker_multiindex_shape():
    fake = FakeDownload(_download_result({"SPY": _history()}))
    source, _ = _source(fake)
    bars = source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    assert len(bars["SPY"]) == 5


def test_flat_columns_and_group_by_ticker():
    flat = split_download(_history(), ("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    assert len(flat["SPY"]) == 5
    by_ticker = _download_result({"SPY": _history(), "IWM": _history(base=260)}, "ticker")
    got = split_download(by_ticker, ("spy", "IWM"), D(2026, 1, 12), D(2026, 1, 16))
    assert set(got) == {"spy", "IWM"}  # yfinance upper-cases; the caller's names are kept
    assert got["IWM"]["Close"].iloc[-1] == 264.0


def test_empty_frame_returns_nothing():
    fake = FakeDownload(_download_result({"SPY": _failed()}))
    source, sleeps = _source(fake)
    assert source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16)) == {}
    assert sleeps == []


def test_all_nan_ticker_left_out():
    dfs = {"SPY": _history(), "XXXX": _failed()}
    fake = FakeDownload(("['XXXX']: possibly delisted; no timezone found", _download_result(dfs)))
    source, sleeps = _source(fake)
    bars = source.fetch_bars(("SPY", "XXXX"), D(2026, 1, 12), D(2026, 1, 16))
    assert set(bars) == {"SPY"}
    assert sleeps == []


def test_partial_nan_rows_dropped():
    short = _history(WEEK[:3], base=50)
    bars = split_download(
        _download_result({"SPY": _history(), "NEW": short}),
        ("SPY", "NEW"),
        D(2026, 1, 12),
        D(2026, 1, 16),
    )
    assert len(bars["NEW"]) == 3 and len(bars["SPY"]) == 5


def test_tz_aware_index_becomes_session_dates():
    frame = _history(tz="America/New_York")
    bars = split_download(frame, ("SPY",), D(2026, 1, 12), D(2026, 1, 16))["SPY"]
    assert bars.index.tz is None
    assert [d.date() for d in bars.index] == [D.fromisoformat(d) for d in WEEK]


def test_rate_limit_logged_then_success_retries_with_backoff():
    fake = FakeDownload(
        (RATE_LOG, _download_result({"SPY": _failed()})),
        _download_result({"SPY": _history()}),
    )
    source, sleeps = _source(fake)
    bars = source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    assert len(bars["SPY"]) == 5
    assert sleeps == [2.0]
    assert len(fake.calls) == 2


def test_rate_limit_raised_retries_only_pending_tickers():
    fake = FakeDownload(
        (RATE_LOG, _download_result({"SPY": _failed(), "QQQ": _history()})),
        YFRateLimitError(),
        _download_result({"SPY": _history()}),
    )
    source, sleeps = _source(fake)
    bars = source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 12), D(2026, 1, 16))
    assert set(bars) == {"SPY", "QQQ"}
    assert sleeps == [2.0, 4.0]  # exponential backoff
    assert fake.calls[1][0] == ["SPY"] and fake.calls[2][0] == ["SPY"]


def test_rate_limited_every_time_gives_up():
    fake = FakeDownload(*[YFRateLimitError() for _ in range(3)])
    source, sleeps = _source(fake, retries=2)
    with pytest.raises(SourceError, match="kept refusing requests after 3 attempts") as err:
        source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    assert not err.value.offline
    assert sleeps == [2.0, 4.0]


def test_all_fail_with_connection_error_is_offline():
    fake = FakeDownload((OFFLINE_LOG, _download_result({"SPY": _failed(), "QQQ": _failed()})))
    source, sleeps = _source(fake)
    with pytest.raises(SourceError) as err:
        source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 12), D(2026, 1, 16))
    assert err.value.offline
    message = str(err.value)
    assert message.startswith("Yahoo Finance could not be reached: ")
    assert "Could not resolve host" in message and "\n" not in message
    assert sleeps == []


def test_raised_connection_error_is_offline():
    fake = FakeDownload(ConnectionError("Network is unreachable"))
    source, _ = _source(fake)
    with pytest.raises(SourceError, match="could not be reached") as err:
        source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    assert err.value.offline


def test_some_succeed_despite_connection_noise():
    dfs = {"SPY": _history(), "QQQ": _failed()}
    fake = FakeDownload((OFFLINE_LOG, _download_result(dfs)))
    source, _ = _source(fake)
    assert set(source.fetch_bars(("SPY", "QQQ"), D(2026, 1, 12), D(2026, 1, 16))) == {"SPY"}


def test_large_requests_are_chunked():
    def answer(tickers):
        return _download_result({t: _history() for t in tickers})

    fake = FakeDownload(answer, answer, answer)
    source, _ = _source(fake, chunk_size=2)
    tickers = ("A", "B", "C", "D", "E")
    assert set(source.fetch_bars(tickers, D(2026, 1, 12), D(2026, 1, 16))) == set(tickers)
    assert [c[0] for c in fake.calls] == [["A", "B"], ["C", "D"], ["E"]]


def _earnings_dates():
    """Ticker.get_earnings_dates() as yfinance returns it (newest first, tz-aware)."""
    index = pd.DatetimeIndex(
        [
            pd.Timestamp("2026-04-14 06:00", tz="America/New_York"),
            pd.Timestamp("2026-01-13 07:00", tz="America/New_York"),
            pd.Timestamp("2025-10-14 06:00", tz="America/New_York"),
        ],
        name="Earnings Date",
    )
    return pd.DataFrame(
        {
            "EPS Estimate": [5.1, 4.85, 4.84],
            "Reported EPS": [np.nan, 4.66, 5.07],
            "Surprise(%)": [np.nan, -3.92, 4.75],
        },
        index=index,
    )


class FakeTicker:
    def __init__(self, answers):
        self.answers = answers

    def __call__(self, symbol):
        fake = self

        class _T:
            def get_earnings_dates(self, limit=12):
                answer = fake.answers[symbol].pop(0)
                if isinstance(answer, BaseException):
                    raise answer
                return answer

        return _T()


def test_earnings_normalized_to_new_york_time():
    tickers = FakeTicker({"JPM": [_earnings_dates()], "XXXX": [None]})
    source = YahooSource(download=FakeDownload(), ticker_factory=tickers, sleep=lambda s: None)
    rows = source.fetch_earnings(("JPM", "XXXX"), D(2026, 1, 1), D(2026, 6, 30))
    assert list(rows.columns) == list(EARNINGS_COLUMNS)
    assert rows["date"].dt.date.tolist() == [D(2026, 1, 13), D(2026, 4, 14)]
    assert rows["time"].tolist() == ["07:00", "06:00"]
    assert rows["eps_actual"].iloc[0] == 4.66 and np.isnan(rows["eps_actual"].iloc[1])
    assert rows["surprise_pct"].iloc[0] == -3.92


def test_earnings_utc_index_and_unknown_time():
    frame = _earnings_dates()
    frame.index = frame.index.tz_convert("UTC")
    rows = normalize_earnings("JPM", frame, D(2025, 1, 1), D(2026, 12, 31))
    assert rows["time"].tolist() == ["06:00", "07:00", "06:00"]
    midnight = frame.iloc[:1].copy()
    midnight.index = pd.DatetimeIndex([pd.Timestamp("2026-04-14", tz="America/New_York")])
    assert normalize_earnings("JPM", midnight, D(2026, 1, 1), D(2026, 12, 31))["time"][0] == ""


def test_earnings_rate_limit_retried_and_offline_raised():
    tickers = FakeTicker({"JPM": [YFRateLimitError(), _earnings_dates()]})
    sleeps = []
    source = YahooSource(download=FakeDownload(), ticker_factory=tickers, sleep=sleeps.append)
    assert len(source.fetch_earnings(("JPM",), D(2026, 1, 1), D(2026, 1, 31))) == 1
    assert sleeps == [2.0]
    offline = FakeTicker({"JPM": [ConnectionError("Could not resolve host: finance.yahoo.com")]})
    source = YahooSource(download=FakeDownload(), ticker_factory=offline, sleep=sleeps.append)
    with pytest.raises(SourceError) as err:
        source.fetch_earnings(("JPM",), D(2026, 1, 1), D(2026, 1, 31))
    assert err.value.offline


def test_earnings_waits_are_one_budget_for_the_whole_run():
    # retries=3: three waits in all, doubling across pages; then Yahoo is a wall for the
    # pages left, which are not asked.
    tickers = FakeTicker(
        {
            "JPM": [YFRateLimitError(), YFRateLimitError(), _earnings_dates()],
            "PNC": [YFRateLimitError(), YFRateLimitError()],
            "RF": [_earnings_dates()],
        }
    )
    sleeps = []
    source = YahooSource(download=FakeDownload(), ticker_factory=tickers, sleep=sleeps.append)
    rows = source.fetch_earnings(("JPM", "PNC", "RF"), D(2026, 1, 1), D(2026, 1, 31))
    assert sleeps == [2.0, 4.0, 8.0]
    assert set(rows["ticker"]) == {"JPM"}
    assert set(source.failures.earnings) == {"PNC", "RF"}
    assert tickers.answers["RF"], "never asked once the budget was spent"


def test_latest_session_unknown():
    assert YahooSource(download=FakeDownload()).latest_session(("SPY",)) is None


def test_from_config_and_cache_folder(tmp_path):
    from yfinance import cache

    before = cache._TzDBManager.get_location()
    try:
        config = read_config(overrides={"cache_dir": str(tmp_path / "cache")}, cwd=tmp_path)
        source = YahooSource.from_config(config, download=FakeDownload())
        assert source.timeout == 20 and source.retries == 3 and source.chunk_size == 50
        assert cache._TzDBManager.get_location() == str(tmp_path / "cache" / "yfinance")
        assert (tmp_path / "cache" / "yfinance").is_dir()
    finally:
        cache.set_cache_location(before)


@pytest.mark.network
def test_live_spy_week(tmp_path):
    source = YahooSource(cache_dir=tmp_path)
    try:
        bars = source.fetch_bars(("SPY",), D(2026, 1, 12), D(2026, 1, 16))
    except SourceError as e:
        if not e.offline:
            raise
        pytest.skip(f"no network: {e}")
    assert [d.date() for d in bars["SPY"].index] == [D.fromisoformat(d) for d in WEEK]
    assert bars["SPY"].loc["2026-01-16", "Close"] == pytest.approx(691.66, abs=0.02)
