"""The S&P 500's move from its own stocks (IVV holdings, weights by Market Value): the
reference week against ../shared/data/market/README.md, reconciliation with the index
over the year of weeks, the coverage gate, and the chain-linking of periods that span
several holdings files (on the real files, and exactly on a tiny frame)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recap.analytics.points import attribute_points, pieces
from recap.model import recap_to_dict
from recap.sources.holdings import read_holdings_folder, yahoo_symbol
from recap.weeks import sessions_between

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The IVV holdings of 2025-11-18 price all but these five (taken over or gone private).
UNPRICED_2025_11_18 = {"K", "CTRA", "HOLX", "DAY", "IPG"}


def _bp(x):
    return round(x * 1e4, 1)


def test_reference_week_matches_the_readme(reference_recap):
    a = reference_recap.sp500_attribution
    assert (a.index, a.fund, a.method) == ("S&P 500", "IVV", "constituents")
    w = a.week
    assert w.holdings_as_of == dt.date(2025, 11, 18) and w.base_date == dt.date(2026, 1, 9)
    assert round(w.coverage * 100, 2) == 99.87 == round(a.week_coverage * 100, 2)
    assert round(w.contributions_total * 100, 3) == -0.358
    assert round(w.contributions_points, 2) == -24.97
    assert round(w.base_level, 2) == 6966.28 and round(w.index_points, 2) == -26.27
    assert _bp(w.residual) == -1.9 and round(w.residual_points, 2) == -1.30
    top = {s.ticker: s for s in w.top}
    bottom = {s.ticker: s for s in w.bottom}
    assert [s.ticker for s in w.top[:3]] == ["AMD", "JNJ", "NVDA"]
    assert [s.ticker for s in w.bottom[:3]] == ["MSFT", "AMZN", "META"]
    assert round(top["AMD"].points, 2) == 5.45 and round(top["AMD"].stock_return * 100, 2) == 14.11
    assert round(top["JNJ"].points, 2) == 4.05 and round(top["NVDA"].points, 2) == 3.91
    assert round(bottom["MSFT"].points, 2) == -16.94
    assert round(bottom["MSFT"].stock_return * 100, 2) == -4.05
    assert round(bottom["AMZN"].points, 2) == -9.39 and round(bottom["META"].points, 2) == -8.34
    sectors = {s.sector: s for s in w.sectors}
    assert "Communication" not in sectors  # iShares' name, mapped to the GICS one
    expected = {
        "Industrials": 24.7,
        "Consumer Staples": 17.5,
        "Financials": -31.4,
        "Information Technology": -22.9,
        "Consumer Discretionary": -20.7,
        "Communication Services": -15.3,
    }
    assert {k: _bp(sectors[k].contribution) for k in expected} == expected
    # Points are the contribution times the base level, stock by stock and in sum.
    assert all(abs(s.points - s.contribution * w.base_level) < 1e-9 for s in w.top + w.bottom)
    assert abs(sum(s.points for s in w.sectors) - w.contributions_points) < 1e-9


def test_reference_week_names_and_note(reference_recap):
    w = reference_recap.sp500_attribution.week
    names = {s.ticker: s.name for s in w.top + w.bottom}
    assert names["MSFT"] == "Microsoft" and names["AMZN"] == "Amazon"
    assert names["META"] == "Meta Platforms" and names["NVDA"] == "Nvidia"
    note = next(n for n in reference_recap.data.notes if n.startswith("S&P 500 attribution"))
    assert "IVV holdings of November 18, 2025" in note and "99.87%" in note
    assert "1.30 points" in note and "^" not in note


def test_json_has_the_attribution_fields_plus_points(reference_recap):
    doc = json.loads(json.dumps(recap_to_dict(reference_recap), allow_nan=False))
    iwm, spx = doc["attribution"], doc["sp500_attribution"]
    assert set(spx) == set(iwm) | {"min_coverage", "week_coverage", "ytd_coverage"}
    points = {"base_level", "index_points", "contributions_points", "residual_points"}
    assert set(spx["week"]) == set(iwm["week"]) | points | {"linked_at"}
    assert set(spx["week"]["top"][0]) == set(iwm["week"]["top"][0]) | {"points"}
    assert set(spx["week"]["sectors"][0]) == set(iwm["week"]["sectors"][0]) | {"points"}
    assert spx["week"]["bottom"][0]["ticker"] == "MSFT"
    assert round(spx["week"]["bottom"][0]["points"], 2) == -16.94
    assert spx["min_coverage"] == 0.95


def test_every_week_reconciles_with_the_index_or_says_why(year_weeks):
    """Where the stocks priced pass the gate, their contributions add up to ^GSPC's move
    within 0.10 percentage point (week and year to date); every week reports coverage;
    below the gate no figure is given and the data notes say so."""
    passed = 0
    for week, recap, _ in year_weeks:
        a = recap.sp500_attribution
        gspc = next(m for m in recap.indexes if m.index_symbol == "^GSPC")
        assert a is not None and a.week_coverage is not None, week.end
        for period, coverage, index_return in (
            (a.week, a.week_coverage, gspc.week_return),
            (a.ytd, a.ytd_coverage, gspc.ytd_return),
        ):
            if coverage >= a.min_coverage:
                assert period is not None and period.coverage == coverage
                assert abs(period.index_return - index_return) < 1e-12, week.end
                assert abs(period.residual) <= 0.0010, (week.end, period.residual)
                total = period.contributions_points + period.residual_points
                assert abs(total - period.index_points) < 1e-6
                passed += 1
            else:
                assert period is None, week.end
                assert any(
                    "S&P 500 attribution for the" in n and "no figures are given" in n
                    for n in recap.data.notes
                ), week.end
        if week.end < dt.date(2025, 11, 1):
            assert a.week is None and a.week_coverage < 0.90  # the 25 late files
    assert passed >= 12  # the weeks from late November on, and January's year to date


def test_year_to_date_links_the_holdings_files_in_it(market_dir, year_weeks):
    files = read_holdings_folder(market_dir / "holdings", "IVV", exact=True)
    assert [h.as_of for h in files] == [
        dt.date(2024, 12, 6),
        dt.date(2025, 5, 8),
        dt.date(2025, 11, 18),
    ]
    recap = next(r for w, r, _ in year_weeks if w.end == dt.date(2025, 12, 19))
    sessions = sessions_between(dt.date(2024, 12, 1), dt.date(2026, 1, 30))
    parts = pieces(
        [(h.table, h.as_of) for h in files], sessions, dt.date(2024, 12, 31), dt.date(2025, 12, 19)
    )
    assert [(p.as_of, p.base, p.end) for p in parts] == [
        (dt.date(2024, 12, 6), dt.date(2024, 12, 31), dt.date(2025, 5, 8)),
        (dt.date(2025, 5, 8), dt.date(2025, 5, 8), dt.date(2025, 11, 18)),
        (dt.date(2025, 11, 18), dt.date(2025, 11, 18), dt.date(2025, 12, 19)),
    ]
    # 2025's year to date starts on the 2024-12-06 file: 85% priced, so no figures.
    assert recap.sp500_attribution.ytd is None
    assert 0.80 < recap.sp500_attribution.ytd_coverage < 0.90


def test_holdings_map_to_yahoo_symbols_and_exact_weights(market_dir, snapshot_source):
    assert [yahoo_symbol(t) for t in ("BRKB", "BFB", "FI", "MMC", "BK", "BRK.B")] == [
        "BRK-B",
        "BF-B",
        "FISV",
        "MRSH",
        "BNY",
        "BRK-B",
    ]
    (held,) = [
        h
        for h in read_holdings_folder(market_dir / "holdings", "IVV", exact=True)
        if h.as_of == dt.date(2025, 11, 18)
    ]
    assert held.positions == 503 and abs(held.table["weight"].sum() - 1) < 1e-12
    tickers = set(held.tickers())
    assert {"BRK-B", "BF-B", "FISV", "MRSH", "BNY"} <= tickers
    priced = set(
        snapshot_source.fetch_closes(tuple(tickers), dt.date(2025, 11, 10), dt.date(2025, 11, 18))
    )
    assert tickers - priced == UNPRICED_2025_11_18
    rounded = read_holdings_folder(market_dir / "holdings", "IVV")[-1]
    w = dict(zip(held.table["ticker"], held.table["weight"], strict=True))
    r = dict(zip(rounded.table["ticker"], rounded.table["weight"], strict=True))
    # Rounded to 0.01%, the two differ: most for the smallest positions.
    assert max(abs(w[t] - r[t]) for t in w) > 1e-6


# -- chain-linking, exactly, on tiny frames --------------------------------------------


def _table(rows):
    return pd.DataFrame(rows, columns=["ticker", "name", "sector", "weight"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=0.5, max_value=2.0), min_size=12, max_size=12),
    st.floats(min_value=0.1, max_value=0.9),
)
def test_linked_points_add_up_to_the_index_exactly(moves, w_a):
    """An index that is exactly its holdings (A and B; from the cut, B and C) moves by the
    sum of the linked points, whatever the prices do."""
    days = pd.bdate_range("2025-01-01", periods=4)
    a, b, c = (np.array([1.0, *moves[i * 3 : i * 3 + 3]]).cumprod() for i in range(3))
    closes = pd.DataFrame({"A": a, "B": b, "C": c}, index=days)
    # Shares held: the first file's weights at day 0; the second's at day 2.
    first = _table([("A", "A", "X", w_a), ("B", "B", "Y", 1 - w_a)])
    second = _table([("B", "B", "Y", 0.5), ("C", "C", "Y", 0.5)])
    v0 = 100.0
    level = [v0 * (w_a * a[i] / a[0] + (1 - w_a) * b[i] / b[0]) for i in range(3)]
    level.append(level[2] * (0.5 * b[3] / b[2] + 0.5 * c[3] / c[2]))
    levels = pd.Series(level, index=days)
    files = [(first, days[0].date()), (second, days[2].date())]
    parts = pieces(files, days, days[0].date(), days[3].date())
    assert [p.base for p in parts] == [days[0].date(), days[2].date()]
    out = attribute_points(parts, closes, levels)
    assert out is not None and out.coverage == 1.0 and out.linked_at == (days[2].date(),)
    assert abs(out.residual_points) < 1e-9 and abs(out.residual) < 1e-12
    assert abs(out.index_points - (level[3] - level[0])) < 1e-9
    stocks = {s.ticker: s for s in out.top + out.bottom}
    # A was held in the first sub-period only: its points are its move there x weight.
    expect_a = w_a * (a[2] / a[0] - 1) * level[0]
    if abs(expect_a) > 1e-12:
        assert abs(stocks["A"].points - expect_a) < 1e-9
    # Sectors' points add up to the total.
    assert abs(sum(s.points for s in out.sectors) - out.contributions_points) < 1e-9


def test_unpriced_stock_lowers_coverage_and_keeps_its_weight():
    days = pd.bdate_range("2025-01-01", periods=2)
    closes = pd.DataFrame({"A": [10.0, 11.0]}, index=days)
    table = _table([("A", "A", "X", 0.6), ("GONE", "Gone", "X", 0.4)])
    parts = pieces([(table, days[0].date())], days, days[0].date(), days[1].date())
    out = attribute_points(parts, closes, pd.Series([1000.0, 1060.0], index=days))
    assert out is not None and abs(out.coverage - 0.6) < 1e-12
    assert abs(out.contributions_points - 60.0) < 1e-9 and abs(out.residual_points) < 1e-9
    # No index level at a cut: no points, so no attribution rather than a guess.
    assert attribute_points(parts, closes, pd.Series([1000.0], index=days[:1])) is None
