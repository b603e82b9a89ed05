"""Sector weights: the iShares holdings file of the snapshot, and Yahoo's fund data
through a fake yfinance Ticker."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from recap.errors import DataError
from recap.sources.holdings import read_holdings
from recap.sources.yahoo import YahooSource, holdings_from_weightings


def test_reads_the_ishares_file(market_dir):
    h = read_holdings(market_dir / "holdings" / "IWM-2025-11-05.csv")
    assert h.as_of == dt.date(2025, 11, 5)
    assert h.fund == "iShares Russell 2000 ETF"
    assert 1900 < h.positions < 2000
    weights = dict(h.sector_weights)
    assert h.sector_weights[0][0] == "Industrials"
    assert "Communication Services" in weights  # iShares says "Communication"
    assert sum(weights.values()) == pytest.approx(1.0)


def test_bad_weight_names_the_line(tmp_path):
    path = tmp_path / "IWM.csv"
    path.write_text(
        'Fund\nFund Holdings as of,"Nov 05, 2025"\n\n'
        "Ticker,Name,Sector,Asset Class,Weight (%)\n"
        "A,Alpha,Energy,Equity,1.5\n"
        "B,Beta,Energy,Equity,lots\n"
    )
    with pytest.raises(DataError, match=r"IWM\.csv, line 6: weight 'lots' is not a number"):
        read_holdings(path)


def test_not_a_holdings_file(tmp_path):
    path = tmp_path / "IWM.csv"
    path.write_text("Date,Close\n2026-01-02,1\n")
    with pytest.raises(DataError, match="no 'Ticker,Name,Sector"):
        read_holdings(path)


def test_yahoo_fund_weights_map_to_gics():
    raw = {"technology": 0.3, "industrials": 0.1, "realestate": 0.1, "mystery": 0.5, "energy": "x"}
    h = holdings_from_weightings("IWM", raw, dt.date(2026, 1, 30))
    assert dict(h.sector_weights) == pytest.approx(
        {"Information Technology": 0.6, "Industrials": 0.2, "Real Estate": 0.2}
    )
    assert "Yahoo Finance" in h.source and h.as_of == dt.date(2026, 1, 30)
    assert holdings_from_weightings("IWM", {}, dt.date(2026, 1, 30)) is None


def test_yahoo_source_asks_the_fund_data():
    asked = []

    def factory(symbol):
        asked.append(symbol)
        return SimpleNamespace(funds_data=SimpleNamespace(sector_weightings={"energy": 0.5}))

    source = YahooSource(ticker_factory=factory, sleep=lambda s: None)
    h = source.fetch_sector_weights("IWM", dt.date(2026, 1, 30))
    assert asked == ["IWM"] and h.sector_weights == (("Energy", 1.0),)


def test_yahoo_source_without_fund_data_gives_none():
    def factory(symbol):
        raise ValueError("no fund data for a stock")

    source = YahooSource(ticker_factory=factory, sleep=lambda s: None)
    assert source.fetch_sector_weights("IWM", dt.date(2026, 1, 30)) is None


def test_holdings_file_is_the_latest_known_on_the_date(market_dir, tmp_path):
    from recap.sources.holdings import holdings_file

    folder = market_dir / "holdings"
    # A week before the 2026-01-21 file uses the 2025-11-05 one; after it, the new one.
    assert holdings_file(folder, "IWM", dt.date(2026, 1, 9)).name == "IWM-2025-11-05.csv"
    assert holdings_file(folder, "IWM", dt.date(2026, 1, 23)).name == "IWM-2026-01-21.csv"
    # Older than every file: the earliest there is.
    assert holdings_file(folder, "IWM", dt.date(2025, 3, 7)).name == "IWM-2025-11-05.csv"
    # No dated file: the plain one; nothing at all: None.
    (tmp_path / "IWM.csv").write_text("x")
    assert holdings_file(tmp_path, "IWM", dt.date(2026, 1, 9)) == tmp_path / "IWM.csv"
    assert holdings_file(tmp_path, "SPY", dt.date(2026, 1, 9)) is None
