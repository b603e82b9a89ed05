"""Price checks (recap/analytics/quality.py): each kind of bad price on a tiny frame, and
what the checks find (and do not find) in the real snapshot."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from recap.analytics.quality import check_prices, screen
from recap.model import PriceFlag
from recap.weeks import sessions_between, week_containing

SESSIONS = sessions_between(dt.date(2025, 6, 2), dt.date(2026, 1, 16))
WEEK = week_containing(dt.date(2026, 1, 16))
WEEK_DAYS = (WEEK.base_date, *WEEK.session_dates)


def _walk(seed: int, daily: float, start: float = 100.0) -> np.ndarray:
    """A seeded random walk of closes, rounded to the cent like a real quote."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, daily, len(SESSIONS))
    return np.round(start * np.exp(np.cumsum(steps)), 2)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"FUND": _walk(1, 0.01), "STOCK": _walk(2, 0.03, 40.0), "OTHER": _walk(3, 0.02)},
        index=SESSIONS,
    )


def _volumes(closes: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        rng.integers(900_000, 1_100_000, closes.shape).astype(float),
        index=closes.index,
        columns=closes.columns,
    )


def _check(closes, volumes=None, funds=("FUND",)):
    sessions = sessions_between(closes.index.min().date(), closes.index.max().date())
    return check_prices(closes, volumes, sessions, WEEK_DAYS, funds=funds)


def _kinds(flags):
    return {(f.ticker, f.date.isoformat(), f.kind) for f in flags}


def test_a_clean_frame_has_no_flags():
    closes = _frame()
    assert _check(closes, _volumes(closes)) == ()


@pytest.mark.parametrize("value", [0.0, -202.19, float("inf")])
def test_a_close_that_is_not_a_positive_price(value):
    closes = _frame()
    closes.loc["2026-01-09", "STOCK"] = value
    flags = _check(closes)
    assert ("STOCK", "2026-01-09", "not-positive") in _kinds(flags)
    flag = next(f for f in flags if f.kind == "not-positive")
    assert "is not a positive price" in flag.reason


def test_a_bar_on_a_day_the_exchange_was_shut():
    closes = _frame()
    saturday = pd.Timestamp("2026-01-10")
    row = pd.DataFrame({"OTHER": [101.0]}, index=[saturday])
    closes = pd.concat([closes, row]).sort_index()
    flags = _check(closes)
    assert _kinds(flags) == {("OTHER", "2026-01-10", "non-session")}
    assert "Saturday 2026-01-10, when the exchange was shut" in flags[0].reason


def test_a_gap_inside_the_week_but_not_at_the_series_end():
    closes = _frame()
    closes.loc["2026-01-14", "FUND"] = np.nan
    closes.loc["2026-01-15":, "OTHER"] = np.nan  # its data ends: that is missing, not a gap
    assert _kinds(_check(closes)) == {("FUND", "2026-01-14", "gap")}


def test_a_stale_close_in_a_series_that_moves():
    closes = _frame()
    closes.loc["2026-01-13":"2026-01-15", "FUND"] = closes.loc["2026-01-12", "FUND"]
    flags = _check(closes)
    assert _kinds(flags) == {("FUND", "2026-01-13", "stale")}
    assert "on 4 sessions in a row, 2026-01-12 to 2026-01-15" in flags[0].reason


def test_unchanged_closes_are_not_stale_in_a_series_that_often_sits_still():
    closes = _frame()
    # A thinly traded name: unchanged on about one session in ten, so four in a row is
    # nothing to remark on.
    still = closes["OTHER"].to_numpy().copy()
    for i in range(10, len(still), 10):
        still[i] = still[i - 1]
    closes["OTHER"] = still
    closes.loc["2026-01-13":"2026-01-15", "OTHER"] = closes.loc["2026-01-12", "OTHER"]
    assert _check(closes) == ()


def test_a_bad_print_undone_the_next_day_is_one_flag():
    closes = _frame()
    closes.loc["2025-11-12", "STOCK"] *= 100  # a x100 print, gone the next day
    flags = _check(closes)
    assert _kinds(flags) == {("STOCK", "2025-11-12", "bad-print")}
    assert "undone within two sessions" in flags[0].reason


def test_a_missed_split_shows_in_price_and_volume():
    closes, volumes = _frame(), None
    volumes = _volumes(closes)
    # A 10-for-1 split the source did not adjust: the close drops to a tenth on the
    # 2025-12-01 session and stays there, and the volume is ten times what it was.
    closes.loc["2025-12-01":, "OTHER"] = np.round(closes.loc["2025-12-01":, "OTHER"] / 10, 2)
    volumes.loc["2025-12-01":, "OTHER"] *= 10
    flags = _check(closes, volumes)
    assert _kinds(flags) == {("OTHER", "2025-12-01", "split")}
    assert "about 10 to 1" in flags[0].reason and "a missed split" in flags[0].reason


def test_a_halving_on_the_usual_volume_is_a_real_move_for_a_stock():
    """Small caps do lose half their value on a trial result; without a split's volume
    signature the close alone cannot tell, so a single stock is not flagged."""
    closes = _frame()
    volumes = _volumes(closes)
    closes.loc["2025-12-01":, "STOCK"] = np.round(closes.loc["2025-12-01":, "STOCK"] / 2, 2)
    assert _check(closes, volumes) == ()


def test_a_jump_beyond_a_funds_history():
    closes = _frame()
    closes.loc["2026-01-16", "FUND"] *= 1.35  # the week's last close: nothing after it
    flags = _check(closes)
    assert _kinds(flags) == {("FUND", "2026-01-16", "jump")}
    # The same move in a stock that moves 3% a day is a real move.
    closes = _frame()
    closes.loc["2026-01-16", "STOCK"] *= 1.35
    assert _check(closes) == ()


def test_over_forty_percent_on_several_times_the_usual_volume():
    closes = _frame()
    volumes = _volumes(closes)
    closes.loc["2026-01-16", "STOCK"] *= 1.45
    volumes.loc["2026-01-16", "STOCK"] *= 5
    flags = _check(closes, volumes)
    assert _kinds(flags) == {("STOCK", "2026-01-16", "jump")}
    assert re.search(r"on \d\.\dx the usual volume", flags[0].reason)


def test_screen_refuses_leads_leaves_others_out_and_honours_accept():
    closes = _frame()
    flags = (
        PriceFlag("FUND", dt.date(2026, 1, 13), "stale", "a stale close"),
        PriceFlag("STOCK", dt.date(2026, 1, 9), "not-positive", "close 0 is not a positive price"),
        PriceFlag("OTHER", dt.date(2026, 1, 14), "gap", "no close"),
    )
    out = screen(closes, flags, leads={"FUND"})
    assert [f.ticker for f in out.refused] == ["FUND"]
    assert [f.ticker for f in out.excluded] == ["STOCK", "OTHER"]
    assert list(out.closes.columns) == ["FUND"]
    accept = {("FUND", dt.date(2026, 1, 13)), ("OTHER", None), ("STOCK", dt.date(2026, 1, 9))}
    out = screen(closes, flags, leads={"FUND"}, accept=accept)
    assert out.refused == ()
    # A zero close is never accepted: no price is zero.
    assert [f.ticker for f in out.excluded] == ["STOCK"]


# -- the real snapshot ----------------------------------------------------------------------

FUNDS = [
    "^GSPC",
    "SPY",
    "^DJI",
    "DIA",
    "^IXIC",
    "QQQ",
    "^RUT",
    "IWM",
    "XLB",
    "XLC",
    "XLE",
    "XLF",
    "XLI",
    "XLK",
    "XLP",
    "XLRE",
    "XLU",
    "XLV",
    "XLY",
    "SMH",
    "SOXX",
    "KRE",
    "XRT",
    "XHB",
    "ITA",
    "IBB",
    "IYT",
    "RSP",
    "TLT",
    "IEF",
    "HYG",
    "GLD",
    "SLV",
    "DBC",
    "PSCT",
    "PSCI",
    "PSCF",
    "PSCH",
    "PSCD",
    "PSCE",
    "PSCM",
    "PSCU",
    "PSCC",
    "IJR",
    "IJS",
    "IJT",
    "IWN",
    "IWO",
    "VB",
    "VBR",
    "VBK",
]


# Constituents whose real moves look like errors at first sight, and the real errors.
# (scripts/check_prices.py runs the checks over every series of the snapshot.)
REAL_MOVERS = [
    "DRUG",
    "BULL",
    "CAPR",
    "MNPR",
    "SRRK",
    "FUBO",
    "KROS",
    "ATYR",
    "RZLT",
    "JBIO",
    "VRNS",
    "CPRI",
    "LRN",
    "ITGR",
    "IMXI",
    "NMAX",
    "BNED",
    "APEI",
    "CRML",
    "EDIT",
    "QUBT",
    "AISP",
    "MBX",
    "EVC",
    "ELDN",
    "ARCT",
    "NVAX",
    "REPL",
    "ORGO",
    "PFSI",
    "USAR",
    "BZAI",
    "EFSI",
    "AVBH",
    "AIRJ",
    "BALY",
    "ADUS",
]
BAD = ("TECX", "SAFX", "HYG")


@pytest.fixture(scope="module")
def real_flags(market_dir, snapshot_source, reference_config):
    """What 52 weekly builds (2025-02 to 2026-01) read: the indexes' whole history and 400
    days before the first week for everything else, plus the constituents above."""
    from recap import pipeline, sections
    from recap.sources.base import closes_frame

    indexes = pipeline.index_tickers(reference_config)
    others = (*sections.content_tickers(reference_config), *FUNDS, *REAL_MOVERS, *BAD)
    end = dt.date(2026, 1, 30)
    first = week_containing(dt.date(2025, 2, 7))
    bars = snapshot_source.fetch_bars(
        tuple(t for t in dict.fromkeys(others) if t not in indexes),
        first.start - dt.timedelta(days=400),
        end,
    )
    bars.update(snapshot_source.fetch_bars(indexes, dt.date(1990, 1, 2), end))
    closes = closes_frame(bars)
    volumes = pd.concat(
        {t: b["Volume"] for t, b in bars.items() if b["Volume"].notna().any()}, axis=1, sort=True
    )
    sessions = sessions_between(closes.index.min().date(), end)
    return check_prices(closes, volumes, sessions, funds=FUNDS), set(closes.columns)


def test_the_real_snapshot_flags_its_bad_prints_and_nothing_a_build_reads(
    real_flags, reference_config
):
    from recap import pipeline, sections

    flags, series = real_flags
    assert set(REAL_MOVERS) <= series
    # Two one-day prints far outside the stocks' range, undone at once, and the stale
    # HYG close of the reference week (81.04 from Jan 12 to Jan 15).
    assert _kinds(flags) == {
        ("TECX", "2024-06-21", "bad-print"),  # 16.80, 1.40, 16.10
        ("SAFX", "2025-03-05", "bad-print"),  # 13.69, 2.01, 2.01, 12.00
        ("HYG", "2026-01-13", "stale"),
    }
    # So nothing else: not COVID or 2008 in the indexes, the April 2025 swings, silver's
    # -28.5% on 2026-01-30, biotech crashes and buyouts, de-SPAC jumps, SPACs sitting at
    # $10, ADUS's three closes at 110.37 (a liquid stock does that once in a while).
    read = set(pipeline.index_tickers(reference_config)) | set(
        sections.content_tickers(reference_config)
    )
    assert read <= series
