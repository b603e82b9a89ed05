"""Attribution of the Russell 2000's move to its own stocks, breadth across them, and the
index levels: the reference week against ../shared/data/market/README.md, an independent
recomputation from the raw files, and edge cases on tiny frames."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re

import pandas as pd
import pytest

from recap.analytics.attribution import (
    attribute_period,
    concentration,
    estimate_period,
    market_breadth,
    share_of_gains_allowed,
)
from recap.checker import check_story
from recap.model import Paragraph, PeriodAttribution, SectorContribution
from recap.narrative import leading_sectors
from recap.sources.holdings import IndexHoldings, read_holdings_folder
from recap.weeks import week_containing

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WEEK = week_containing(dt.date(2026, 1, 16))


def _pts(x):
    return round(x * 100, 2)


# -- the reference week, from the real snapshot ---------------------------------------


def test_index_levels_not_etfs(reference_recap):
    by = {m.index_symbol: m for m in reference_recap.indexes}
    assert all(not m.is_proxy for m in by.values())
    rut = by["^RUT"]
    assert (rut.name, rut.symbol, round(rut.close, 2)) == ("Russell 2000", "^RUT", 2677.74)
    assert round(rut.week_return * 100, 2) == 2.04 and rut.record_close is True
    assert (
        round(by["^GSPC"].close, 2) == 6940.01 and round(by["^GSPC"].week_return * 100, 2) == -0.38
    )
    dow = by["^DJI"]
    assert (dow.name, dow.short_name) == ("Dow Jones Industrial Average", "Dow")
    assert round(dow.close, 2) == 49359.33 and round(dow.week_return * 100, 2) == -0.29
    nasdaq = by["^IXIC"]
    assert (nasdaq.name, nasdaq.short_name) == ("Nasdaq Composite", "Nasdaq")
    assert round(nasdaq.close, 2) == 23515.39 and round(nasdaq.week_return * 100, 2) == -0.66


def test_week_attribution_matches_the_readme(reference_recap):
    a = reference_recap.attribution
    assert (a.index, a.fund, a.method) == ("Russell 2000", "IWM", "constituents")
    w = a.week
    assert w.holdings_as_of == dt.date(2025, 11, 5) and w.base_date == dt.date(2026, 1, 9)
    assert _pts(w.contributions_total) == 1.96
    assert round(w.coverage, 2) == 0.94
    assert _pts(w.index_return) == 2.13  # IWM, the fund whose holdings these are
    assert w.residual == pytest.approx(w.index_return - w.contributions_total)
    sectors = {s.sector: s for s in w.sectors}
    assert [s.sector for s in w.sectors[:2]] == ["Industrials", "Information Technology"]
    assert _pts(sectors["Industrials"].contribution) == 0.87
    assert _pts(sectors["Information Technology"].contribution) == 0.42
    assert _pts(sectors["Energy"].contribution) == 0.22
    assert w.top[0].ticker == "BE" and w.top[0].name == "Bloom Energy"
    assert len(w.top) == len(w.bottom) == 10


def test_ytd_attribution_matches_the_readme(reference_recap):
    y = reference_recap.attribution.ytd
    assert y.base_date == dt.date(2025, 12, 31) and y.holdings_as_of == dt.date(2025, 11, 5)
    assert _pts(y.contributions_total) == 7.42 and _pts(y.index_return) == 7.96
    sectors = {s.sector: s for s in y.sectors}
    assert _pts(sectors["Industrials"].contribution) == 2.79
    assert _pts(sectors["Information Technology"].contribution) == 1.36
    assert _pts(sectors["Financials"].contribution) == 0.75
    # Information Technology second, not Energy (which the SPDR estimate had second).
    assert [s.sector for s in y.sectors[:2]] == ["Industrials", "Information Technology"]


def test_the_sums_hold_together(reference_recap):
    for p in (reference_recap.attribution.week, reference_recap.attribution.ytd):
        assert sum(s.weight for s in p.sectors) == pytest.approx(1.0)
        priced = [s.contribution for s in p.sectors if s.contribution is not None]
        assert sum(priced) == pytest.approx(p.contributions_total)
        for x in p.top + p.bottom:
            assert x.contribution == pytest.approx(x.weight * x.stock_return)
        assert [x.contribution for x in p.top] == sorted(
            (x.contribution for x in p.top), reverse=True
        )
        assert all(x.contribution < 0 for x in p.bottom)
        for s in p.sectors:
            if s.sector_return is not None:
                # A sector's own return lies within its stocks' range (a weighted mean).
                assert -1 < s.sector_return < 5


def _raw_holdings(path):
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    at = next(i for i, r in enumerate(rows) if r[:1] == ["Ticker"])
    return {r[0]: float(r[5]) for r in rows[at + 1 :] if len(r) > 5 and r[3] == "Equity"}


def _raw_close(market_dir, ticker, day):
    for line in (market_dir / "prices" / f"{ticker}.csv").read_text().splitlines():
        if line.startswith(day):
            return float(line.split(",")[4])
    raise AssertionError(f"{ticker} has no close on {day}")


def test_top_contributors_recomputed_from_the_raw_files(reference_recap, market_dir):
    """Weight x drift x return from the CSV text itself: the normalization cancels in a ratio."""
    raw = _raw_holdings(market_dir / "holdings" / "IWM-2025-11-05.csv")
    top = reference_recap.attribution.week.top

    def score(t):
        held, base, end = (
            _raw_close(market_dir, t, d) for d in ("2025-11-05", "2026-01-09", "2026-01-16")
        )
        return raw[t] * base / held * (end / base - 1)

    for x in top[1:4]:
        assert top[0].contribution / x.contribution == pytest.approx(score("BE") / score(x.ticker))
    be = _raw_close(market_dir, "BE", "2026-01-16") / _raw_close(market_dir, "BE", "2026-01-09") - 1
    assert top[0].stock_return == pytest.approx(be)


def test_market_breadth_matches_the_readme(reference_recap):
    b = reference_recap.market_breadth
    assert (b.names, b.advancers, b.decliners) == (1801, 1128, 665)
    assert b.advancers + b.decliners + b.unchanged == b.names
    assert 0 < b.above_50d <= b.with_50d <= b.names
    assert 0 < b.new_lows_52w < b.new_highs_52w < b.names  # a record week for the index
    assert "IWM holdings of 2025-11-05" in b.universe
    # The watchlist breadth stays, as its own thing.
    assert reference_recap.sectors.breadth.names == 41


def test_small_caps_beside_large_caps(reference_recap):
    rows = {c.sector: c for c in reference_recap.sectors.small_caps}
    tech = rows["Information Technology"]
    assert (tech.large_ticker, tech.fund_ticker) == ("XLK", "PSCT")
    week = {s.sector: s for s in reference_recap.attribution.week.sectors}
    assert tech.small_week == week["Information Technology"].sector_return
    assert round(tech.large_week * 100, 2) == -0.36 and tech.small_week > 0.02
    # No small-cap Real Estate or Communication fund in the config: no return shown.
    assert rows["Real Estate"].fund_week is None and rows["Real Estate"].fund_ticker == ""


def test_json_has_exactly_the_issue_names(reference_recap):
    from recap.model import recap_to_dict

    doc = json.loads(json.dumps(recap_to_dict(reference_recap), allow_nan=False))
    a = doc["attribution"]
    assert set(a) == {"index", "fund", "method", "week", "ytd"}
    period = {
        "holdings_as_of",
        "base_date",
        "index_return",
        "contributions_total",
        "residual",
        "coverage",
        "sectors",
        "top",
        "bottom",
    }
    assert set(a["week"]) == set(a["ytd"]) == period
    assert set(a["week"]["sectors"][0]) == {"sector", "weight", "return", "contribution"}
    assert set(a["week"]["top"][0]) == {
        "ticker",
        "name",
        "sector",
        "weight",
        "return",
        "contribution",
    }
    assert a["week"]["top"][0]["ticker"] == "BE"
    assert set(doc["market_breadth"]) == {
        "universe",
        "names",
        "advancers",
        "decliners",
        "unchanged",
        "above_50d",
        "with_50d",
        "new_highs_52w",
        "new_lows_52w",
    }
    assert doc["market_breadth"]["advancers"] == 1128


def test_prose_leads_the_sectors_with_the_attribution(reference_recap):
    text = " ".join(reference_recap.paragraphs("attribution"))
    assert text.startswith(
        "Industrial stocks added the most to the Russell 2000's week, 0.87 percentage points, "
        "and technology stocks 0.42 percentage points"
    )
    assert "Bloom Energy (BE) added the most, 0.11 percentage points" in text
    assert "1,801" in text and "1,128" in text and "665 fell" in text
    risks = " ".join(reference_recap.paragraphs("risks"))
    assert "Industrial and technology stocks supplied 56% of the Russell 2000's gains" in risks
    assert "estimate" not in text + risks
    assert check_story(reference_recap) == ()


# -- the checker holds the new figures ---------------------------------------------------


def _with_text(recap, text, section="attribution"):
    return dataclasses.replace(recap, narrative=(Paragraph(section=section, text=text),))


def test_checker_holds_points_to_their_sector_and_stock(reference_recap):
    assert check_story(_with_text(reference_recap, "Industrials (+0.87 pts) led.")) == ()
    problems = check_story(_with_text(reference_recap, "Industrials (+0.42 pts) led."))
    assert any("not what Industrials added" in p for p in problems)
    problems = check_story(_with_text(reference_recap, "Bloom Energy (BE, +0.09 pts) led."))
    assert any("not what BE added" in p for p in problems)
    problems = check_story(_with_text(reference_recap, "Health Care subtracted 0.87 pts."))
    assert any("moved the other way" in p for p in problems)


def test_checker_holds_a_share_of_gains_to_the_model(reference_recap):
    # (The full name, as the first reference to an index in a text must be.)
    good = (
        "Industrials and Information Technology supplied 56% of the gains of the Russell 2000 "
        "index of small companies."
    )
    assert check_story(_with_text(reference_recap, good)) == ()
    problems = check_story(_with_text(reference_recap, good.replace("56%", "66%")))
    assert any("the model's share is 56%" in p for p in problems)
    # Where the model gives no share (the index fell, or coverage or residual too poor),
    # no share of gains may be written at all.
    risks = dataclasses.replace(reference_recap.risks, concentration_share=None)
    problems = check_story(dataclasses.replace(_with_text(reference_recap, good), risks=risks))
    assert any("gives no share of gains" in p for p in problems)


def test_checker_reads_counts_with_separators(reference_recap):
    assert check_story(_with_text(reference_recap, "Of 1,801 stocks, 1,128 rose.")) == ()
    assert check_story(_with_text(reference_recap, "Of 1,802 stocks, 1,128 rose."))


# -- the method, on tiny frames ----------------------------------------------------------

HELD = dt.date(2026, 1, 2)
DAYS = pd.DatetimeIndex(pd.to_datetime(["2026-01-02", "2026-01-09", "2026-01-16"]), name="Date")


def _holdings(rows):
    return pd.DataFrame(rows, columns=["ticker", "name", "sector", "weight"])


def _period(holdings, closes, fund=None):
    return attribute_period(
        holdings,
        pd.DataFrame(closes, index=DAYS),
        holdings_as_of=HELD,
        base=dt.date(2026, 1, 9),
        end=dt.date(2026, 1, 16),
        fund_return=fund,
    )


def test_weights_drift_by_price_then_renormalize():
    held = _holdings([("A", "A", "X", 0.5), ("B", "B", "Y", 0.5)])
    # A doubled between the holdings date and the base: twice B's weight at the base.
    period, priced = _period(held, {"A": [10, 20, 22], "B": [10, 10, 9]}, fund=0.04)
    assert priced == 2 and period.coverage == pytest.approx(1.0)
    by = {s.sector: s for s in period.sectors}
    assert by["X"].weight == pytest.approx(2 / 3) and by["Y"].weight == pytest.approx(1 / 3)
    assert by["X"].contribution == pytest.approx(2 / 3 * 0.10)
    assert by["Y"].contribution == pytest.approx(1 / 3 * -0.10)
    assert period.contributions_total == pytest.approx(0.10 / 3)
    assert period.residual == pytest.approx(0.04 - 0.10 / 3)
    assert [x.ticker for x in period.top] == ["A"] and [x.ticker for x in period.bottom] == ["B"]


def test_a_missing_price_makes_a_name_uncovered_not_zero():
    held = _holdings(
        [
            ("A", "A", "X", 0.4),
            ("B", "B", "X", 0.2),
            ("C", "C", "Y", 0.3),
            ("", "Unlisted", "Y", 0.1),
        ]
    )
    closes = {"A": [10, 10, 11], "B": [10, 10, 12], "C": [10, 10, None]}  # C: no last close
    period, priced = _period(held, closes)
    assert priced == 2
    by = {s.sector: s for s in period.sectors}
    # C and the unlisted row keep their weights (0.3 + 0.1) and are left out of the sums.
    assert period.coverage == pytest.approx(0.6)
    assert by["Y"].weight == pytest.approx(0.4)
    # A sector with no priced names shows no return and no contribution, never zero.
    assert by["Y"].sector_return is None and by["Y"].contribution is None
    assert by["X"].contribution == pytest.approx(0.4 * 0.1 + 0.2 * 0.2)
    assert by["X"].sector_return == pytest.approx((0.4 * 0.1 + 0.2 * 0.2) / 0.6)
    assert period.contributions_total == pytest.approx(0.08)
    assert "C" not in [x.ticker for x in period.top + period.bottom]
    assert [s.sector for s in period.sectors] == ["X", "Y"]  # no contribution: last


def test_a_ticker_missing_from_the_prices_is_uncovered():
    held = _holdings([("A", "A", "X", 0.5), ("GONE", "Gone", "X", 0.5)])
    period, priced = _period(held, {"A": [10, 10, 11]})
    assert priced == 1 and period.coverage == pytest.approx(0.5)
    assert period.sectors[0].contribution == pytest.approx(0.05)


def test_estimate_uses_sector_funds_and_leaves_the_rest_out():
    period = estimate_period(
        [("X", 0.6), ("Y", 0.3), ("Z", 0.1)],
        {"X": 0.02, "Y": -0.01},
        holdings_as_of=None,
        base=dt.date(2026, 1, 9),
        fund_return=0.015,
    )
    assert period.coverage == pytest.approx(0.9)
    assert period.contributions_total == pytest.approx(0.012 - 0.003)
    z = next(s for s in period.sectors if s.sector == "Z")
    assert z.sector_return is None and z.contribution is None
    assert period.top == () and period.bottom == ()


def _simple(total, coverage, residual, contributions):
    sectors = tuple(
        SectorContribution(sector=s, weight=0.1, sector_return=None, contribution=c)
        for s, c in contributions
    )
    return PeriodAttribution(
        holdings_as_of=None,
        base_date=dt.date(2026, 1, 9),
        index_return=None if residual is None else total + residual,
        contributions_total=total,
        residual=residual,
        coverage=coverage,
        sectors=sectors,
        top=(),
        bottom=(),
    )


@pytest.mark.parametrize(
    ("total", "coverage", "residual", "allowed"),
    [
        (0.02, 0.94, 0.002, True),
        (-0.02, 0.94, 0.002, False),  # a falling index has no gains to share
        (0.0, 0.94, 0.0, False),
        (0.02, 0.89, 0.002, False),  # too little of the weight priced
        (0.02, 0.94, 0.011, False),  # the stocks miss the ETF by more than a point
        (0.02, 0.94, -0.011, False),
        (0.02, 0.94, None, False),  # nothing to reconcile with
    ],
)
def test_share_of_gains_only_when_it_holds(total, coverage, residual, allowed):
    period = _simple(total, coverage, residual, [("A", 0.012), ("B", 0.006), ("C", 0.002)])
    assert share_of_gains_allowed(period) is allowed
    two, share, hhi = concentration(period)
    assert two == ("A", "B")
    if allowed:
        assert share == pytest.approx(0.018 / total)
        assert hhi == pytest.approx(0.6**2 + 0.3**2 + 0.1**2)
    else:
        assert share is None and hhi is None


def test_a_falling_index_is_led_by_what_subtracted():
    period = _simple(-0.02, 0.94, 0.0, [("A", 0.004), ("B", -0.015), ("C", -0.009), ("D", 0.0)])
    lead, counter = leading_sectors(period)
    assert [s.sector for s in lead] == ["B", "C"] and counter.sector == "A"


def test_breadth_on_a_tiny_frame():
    index = pd.bdate_range("2025-01-01", "2026-01-16", name="Date")
    index = index[index.isin(pd.DatetimeIndex(WEEK.session_dates)) | (index < "2026-01-12")]
    n = len(index)
    steady = pd.Series(100.0, index=index)
    rising = pd.Series([100.0 + i * 0.1 for i in range(n)], index=index)  # a new high daily
    falling = pd.Series([200.0 - i * 0.1 for i in range(n)], index=index)
    young = rising.where(index >= "2025-06-02")  # under a year: no 52-week claim
    closes = pd.DataFrame(
        {"S": steady, "R": rising, "F": falling, "Y": young, "N": steady * float("nan")}
    )
    b = market_breadth(
        closes,
        ["S", "R", "F", "Y", "N", "ABSENT"],
        base=WEEK.base_date,
        end=WEEK.end,
        sessions=WEEK.session_dates,
        universe="test",
    )
    assert (b.names, b.advancers, b.decliners, b.unchanged) == (4, 2, 1, 1)
    assert (b.with_50d, b.above_50d) == (4, 2)  # R and Y sit above their averages
    assert (b.new_highs_52w, b.new_lows_52w) == (1, 1)  # R and F; Y is too young


# -- holdings files -------------------------------------------------------------------


def test_holdings_history_and_pick(market_dir):
    files = read_holdings_folder(market_dir / "holdings", "IWM")
    assert [f.as_of for f in files] == [dt.date(2025, 11, 5), dt.date(2026, 1, 21)]
    held = IndexHoldings(fund="IWM", files=files)
    assert held.pick(dt.date(2026, 1, 9)).as_of == dt.date(2025, 11, 5)
    assert held.pick(dt.date(2026, 1, 23)).as_of == dt.date(2026, 1, 21)
    assert held.pick(dt.date(2026, 1, 21)).as_of == dt.date(2026, 1, 21)
    assert held.pick(dt.date(2025, 6, 1)).as_of == dt.date(2025, 11, 5)  # none older
    nov = files[0]
    assert 1950 < nov.positions < 1970 and nov.table["weight"].sum() == pytest.approx(1.0)
    assert (nov.table["ticker"] == "").sum() > 0  # unlisted rows have no symbol
    assert "BE" in nov.tickers() and len(set(nov.tickers())) == len(nov.tickers())


def test_later_weeks_use_the_later_holdings(market_dir, snapshot_source, reference_config):
    from recap import pipeline

    week = week_containing(dt.date(2026, 1, 30))
    market = pipeline.fetch_market(
        snapshot_source, reference_config, week, pipeline.holdings_for(reference_config)
    )
    recap = pipeline.compute_recap(
        market, week, reference_config, dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    )
    a = recap.attribution
    assert a.week.holdings_as_of == dt.date(2026, 1, 21)  # base Jan 23, after the Jan 21 file
    assert a.ytd.holdings_as_of == dt.date(2025, 11, 5)  # base Dec 31
    assert a.week.contributions_total < 0
    text = " ".join(recap.paragraphs("attribution"))
    assert "subtracted the most from the Russell 2000's week" in text
    assert not re.search(r"\bgains\b", text)
    assert check_story(recap) == ()


# -- without constituents: the estimate, labelled ---------------------------------------

NOW = dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def reference_market(snapshot_source, reference_config):
    from recap import pipeline

    holdings = pipeline.holdings_for(reference_config)
    return pipeline.fetch_market(snapshot_source, reference_config, WEEK, holdings)


def test_sector_weights_alone_give_a_labelled_estimate(
    reference_market, reference_config, market_dir
):
    from recap import pipeline
    from recap.charts import draw_charts
    from recap.sources.holdings import read_holdings

    # What Yahoo's fund data gives live: sector weights, no constituents.
    weights = read_holdings(market_dir / "holdings" / "IWM-2025-11-05.csv")
    market = dataclasses.replace(
        reference_market, holdings=IndexHoldings(fund="IWM", weights=weights), constituents=None
    )
    recap = pipeline.compute_recap(market, WEEK, reference_config, NOW)
    a = recap.attribution
    assert a.method == "estimate" and a.week.top == () and a.week.bottom == ()
    by = {s.sector: s for s in a.week.sectors}
    psct = market.closes["PSCT"]
    expected = psct[pd.Timestamp("2026-01-16")] / psct[pd.Timestamp("2026-01-09")] - 1
    assert by["Information Technology"].sector_return == pytest.approx(expected)
    assert by["Real Estate"].contribution is None  # no small-cap Real Estate fund
    assert a.week.coverage == pytest.approx(
        sum(s.weight for s in a.week.sectors if s.contribution is not None)
    )
    assert recap.market_breadth is None
    assert all(c.small_week is None for c in recap.sectors.small_caps)
    text = " ".join(recap.paragraphs("attribution"))
    assert text.startswith("By our estimate")
    assert any("is an estimate" in n for n in recap.data.notes)
    assert check_story(recap) == ()
    charts, notes = draw_charts(recap, market.closes, reference_config, parallel=False, png=False)
    by_name = {c.name: c for c in charts}
    assert "top-stocks" not in by_name and any("stocks that added" in n for n in notes)
    assert "ESTIMATE" in by_name["attribution"].svg


def test_too_few_priced_stocks_fall_back_to_the_estimate(reference_market, reference_config):
    from recap import pipeline

    few = reference_market.constituents.iloc[:, :100]  # about 5% of the weight priced
    market = dataclasses.replace(reference_market, constituents=few)
    recap = pipeline.compute_recap(market, WEEK, reference_config, NOW)
    assert recap.attribution.method == "estimate"
    assert any("cover under 50%" in n for n in recap.data.notes)
    held = recap.attribution.week
    assert held.holdings_as_of == dt.date(2025, 11, 5)  # sector weights of that file
    assert check_story(recap) == ()


def test_constituents_go_through_the_price_checks(reference_config):
    """A bad print where the attribution reads takes the stock out (unpriced, named in one
    note); the same print a year earlier only sets old highs and lows, and is let be."""
    from recap.pipeline import screen_constituents
    from recap.weeks import sessions_between

    index = sessions_between(dt.date(2025, 1, 2), dt.date(2026, 1, 16)).rename("Date")
    rng = [100.0 * (1.0 + 0.01 * ((i * 7) % 5 - 2)) for i in range(len(index))]
    good = pd.Series(rng, index=index)

    def bad_print(day):
        s = good.copy()
        s.loc[day] = s.loc[day] * 6  # one close six times the others, undone the next day
        return s

    closes = pd.DataFrame(
        {"GOOD": good, "LATE": bad_print("2025-12-10"), "EARLY": bad_print("2025-03-12")}
    )
    flags, notes = screen_constituents(
        closes, WEEK, reference_config, "iShares Russell 2000 ETF", dt.date(2025, 11, 1)
    )
    assert {f.ticker for f in flags} == {"LATE"} and flags[0].kind == "bad-print"
    assert len(notes) == 1 and notes[0].startswith("Price checks left 1 of the iShares")
    assert "LATE 2025-12-10" in notes[0]
