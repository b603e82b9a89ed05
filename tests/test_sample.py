"""The generated sample dataset: deterministic, snapshot layout, plausible numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recap.sample import EARNINGS_SCHEDULE, SAMPLE_TICKERS, SampleSpec, write_sample
from recap.sources.base import BAR_COLUMNS, close_series
from recap.sources.snapshot import SnapshotSource
from recap.weeks import nyse_calendar

END = dt.date(2026, 1, 30)
INDEXES = ("SPY", "DIA", "QQQ", "IWM")
SECTORS = ("XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY")
INDUSTRIES = ("SMH", "SOXX", "KRE", "XRT", "XHB", "ITA", "IBB", "IYT")
CHIPS = ("AVGO", "MU", "NVDA", "TSM", "ASML", "AMD", "AMAT", "LRCX", "KLAC")
REGIONAL = ("PNC", "RF", "FITB", "KEY", "HBAN", "CFG", "TFC", "MTB", "USB", "ZION")
LARGE_BANKS = ("JPM", "BAC", "WFC", "C", "GS", "MS")
REQUIRED = INDEXES + SECTORS + INDUSTRIES + CHIPS + REGIONAL + LARGE_BANKS


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("sample") / "market", END)


@pytest.fixture(scope="module")
def sample(sample_dir):
    source = SnapshotSource(sample_dir, name="sample")
    bars = source.fetch_bars(tuple(REQUIRED), dt.date(2000, 1, 1), END)
    return source, bars


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_and_end_give_identical_bytes(sample_dir, tmp_path):
    again = write_sample(tmp_path / "again", END)
    assert _files(again) == _files(sample_dir)


def test_other_seed_differs(sample_dir, tmp_path):
    other = write_sample(tmp_path / "other", END, seed=7)
    assert _files(other)["prices/SPY.csv"] != _files(sample_dir)["prices/SPY.csv"]


def test_layout_and_tickers(sample_dir, sample):
    source, bars = sample
    assert source.name == "sample"
    assert set(bars) == set(REQUIRED) <= set(SAMPLE_TICKERS)
    assert (sample_dir / "earnings.csv").is_file() and (sample_dir / "MANIFEST.csv").is_file()
    sectors = pd.read_csv(sample_dir / "sectors.csv")
    assert list(sectors.columns) == ["ticker", "name", "gics_sector", "gics_sub_industry"]
    manifest = pd.read_csv(sample_dir / "MANIFEST.csv")
    assert set(manifest["source"]) == {"sample"}


def test_bars_on_xnys_sessions_for_two_years(sample):
    _, bars = sample
    spy = bars["SPY"]
    sessions = nyse_calendar().sessions_in_range("2024-01-29", END.isoformat())
    assert [d.date() for d in spy.index] == [d.date() for d in sessions]
    assert spy.index[-1].date() == END
    assert pd.Timestamp("2026-01-19") not in spy.index  # MLK day
    for frame in bars.values():
        assert frame.index.equals(spy.index)


def test_ohlc_consistent_and_volumes_plausible(sample):
    _, bars = sample
    for ticker, frame in bars.items():
        assert list(frame.columns) == list(BAR_COLUMNS)
        assert frame.notna().all().all(), ticker
        low, high = frame["Low"], frame["High"]
        for col in ("Open", "Close"):
            assert (low <= frame[col]).all() and (frame[col] <= high).all(), (ticker, col)
        assert (low > 0).all()
        assert (frame["Volume"] > 0).all() and (frame["Volume"] % 100 == 0).all()
        median = frame["Volume"].median()
        assert 0.5 < median / SAMPLE_TICKERS[ticker].volume < 2.0, ticker


def test_calibrated_volatility_and_last_close(sample):
    _, bars = sample
    for ticker in ("SPY", "XLP", "NVDA", "KRE", "JPM"):
        spec = SAMPLE_TICKERS[ticker]
        returns = np.log(close_series(bars[ticker])).diff().dropna()
        vol = returns.std() * np.sqrt(252)
        assert 0.7 * spec.vol < vol < 1.3 * spec.vol, (ticker, vol)
        assert bars[ticker]["Close"].iloc[-1] == pytest.approx(spec.last_close, abs=0.01)


def test_market_factor_correlates(sample):
    _, bars = sample
    r = pd.DataFrame(
        {t: np.log(bars[t]["Close"]).diff() for t in ("SPY", "QQQ", "XLP", "PNC", "RF")}
    )
    corr = r.corr()
    assert corr.loc["SPY", "QQQ"] > 0.7
    assert corr.loc["SPY", "XLP"] < corr.loc["SPY", "QQQ"]
    assert corr.loc["PNC", "RF"] > 0.4  # the banks' shared factor


def test_bank_earnings(sample):
    source, _ = sample
    rows = source.fetch_earnings(tuple(REQUIRED), dt.date(2000, 1, 1), END)
    assert set(rows["ticker"]) == set(EARNINGS_SCHEDULE) == set(REGIONAL + LARGE_BANKS)
    assert set(rows["date"].dt.month) == {1, 4, 7, 10}
    sessions = {d.date() for d in nyse_calendar().sessions_in_range("2024-01-01", END.isoformat())}
    assert all(d.date() in sessions for d in rows["date"])
    assert rows["eps_actual"].notna().all() and (rows["eps_estimate"] > 0).all()
    implied = (rows["eps_actual"] - rows["eps_estimate"]) / rows["eps_estimate"] * 100
    assert np.allclose(implied, rows["surprise_pct"], atol=0.01)
    jan = rows.loc[rows["date"].dt.strftime("%Y-%m") == "2026-01"].set_index("ticker")["date"]
    assert jan["JPM"].date() == dt.date(2026, 1, 13)
    assert jan["HBAN"].date() == dt.date(2026, 1, 22)


def test_end_on_weekend_and_custom_tickers(tmp_path):
    specs = {"AAA": SampleSpec(0.2, 0.05, 1.0, 10.0, 1000), "JPM": SAMPLE_TICKERS["JPM"]}
    out = write_sample(tmp_path / "s", dt.date(2026, 1, 18), specs, years=1)
    source = SnapshotSource(out, name="sample")
    bars = source.fetch_bars(("AAA", "JPM"), dt.date(2000, 1, 1), dt.date(2026, 12, 31))
    assert set(bars) == {"AAA", "JPM"}
    assert bars["AAA"].index[-1].date() == dt.date(2026, 1, 16)
    assert 240 < len(bars["AAA"]) < 260
    assert set(source.fetch_earnings(("JPM",), dt.date(2000, 1, 1), END)["ticker"]) == {"JPM"}
