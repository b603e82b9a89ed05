"""Beyond stocks: each series' week against its own CSV, rolls, missing series, the
Week Ahead's calendar (FOMC decisions, options expiration, the user's events)."""

from __future__ import annotations

import bisect
import csv
import dataclasses
import datetime as dt
import functools
import json
import math

import pandas as pd
import pytest

from recap import pipeline
from recap.analytics import markets as markets_mod
from recap.config import read_config
from recap.errors import ConfigError
from recap.events import fomc_decisions, options_expirations, parse_events, week_events
from recap.sources.base import closes_frame
from recap.weeks import next_week, week_containing, weeks_between

D = dt.date
YEAR_2025 = weeks_between(D(2025, 1, 3), D(2025, 12, 31))


@pytest.fixture(scope="module")
def settings(reference_config):
    return reference_config.markets


@pytest.fixture(scope="module")
def frame(snapshot_source, settings):
    """Every [markets] series from 2023 to the snapshot's end, checked as a build does."""
    tickers = markets_mod.market_tickers(settings)
    bars = snapshot_source.fetch_bars(tickers, D(2023, 1, 1), D(2026, 1, 30))
    checked, flags = markets_mod.check_series(closes_frame(bars), settings)
    assert flags == ()  # the real series pass the price checks
    return checked


@functools.cache
def _csv_closes(market_dir, symbol):
    """(dates, closes) read with the csv module alone: the independent computation."""
    dates, closes = [], []
    with (market_dir / "prices" / f"{symbol}.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Close"]:
                dates.append(D.fromisoformat(row["Date"]))
                closes.append(float(row["Close"]))
    return dates, closes


def _on_or_before(dates, closes, day):
    i = bisect.bisect_right(dates, day) - 1
    return dates[i], closes[i]


def _expected(market_dir, spec, week):
    """The week's change by hand: last close on or before the week's last session (crypto:
    the Friday) against the last on or before the base date (crypto: the Friday before)."""
    dates, closes = _csv_closes(market_dir, spec.symbol)
    if spec.kind == "crypto":
        friday = week.start + dt.timedelta(days=4 - week.start.weekday())
        end, base = friday, friday - dt.timedelta(days=7)
        assert end.weekday() == 4
    else:
        end, base = week.end, week.base_date
    end_day, last = _on_or_before(dates, closes, end)
    base_day, first = _on_or_before(dates, closes, base)
    if spec.kind == "yield":
        return end_day, base_day, last, (last - first) * 100, "bp"
    if spec.kind == "volatility":
        return end_day, base_day, last, last - first, "pts"
    return end_day, base_day, last, last / first - 1, "pct"


def _expected_extreme(market_dir, symbol, as_of, last):
    """The longest of 12, 6 and 3 months whose every earlier close ``last`` beats."""
    dates, closes = _csv_closes(market_dir, symbol)
    for months in (12, 6, 3):
        start = (pd.Timestamp(as_of) - pd.DateOffset(months=months)).date()
        if start < dates[0]:
            continue
        earlier = [c for d, c in zip(dates, closes, strict=True) if start <= d < as_of]
        if last > max(earlier):
            return "high", months
        if last < min(earlier):
            return "low", months
    return None, None


@pytest.mark.parametrize("week", YEAR_2025, ids=lambda w: w.end.isoformat())
def test_each_series_week_matches_its_csv(week, frame, settings, market_dir):
    moves, facts, _ = markets_mod.compute_markets(frame, pd.DataFrame(), week, settings, {})
    assert [m.series for m in moves] == [s.symbol for s in settings.series]
    assert facts.missing == ()
    for spec, move in zip(settings.series, moves, strict=True):
        as_of, base_date, last, change, unit = _expected(market_dir, spec, week)
        assert move.proxy is None and move.symbol == spec.symbol
        assert (move.as_of, move.base_date, move.change_unit) == (as_of, base_date, unit)
        assert move.last == last
        assert math.isclose(move.week_change, change, rel_tol=1e-9, abs_tol=1e-9), spec.symbol
        assert move.calendar == {"crypto": "fri-fri", "fx": "london"}.get(spec.kind, "nyse")
        assert move.roll_on is None  # no roll found in the real 2025 data
        assert (move.extreme, move.extreme_months) == _expected_extreme(
            market_dir, spec.symbol, as_of, last
        )
        if spec.kind == "volatility":
            dates, closes = _csv_closes(market_dir, spec.symbol)
            year = [
                c
                for d, c in zip(dates, closes, strict=True)
                if as_of - dt.timedelta(days=365) < d <= as_of
            ]
            assert move.percentile == sum(c <= last for c in year) / len(year)
    ten, three = moves[0], moves[1]
    assert math.isclose(facts.spread_bp, (ten.last - three.last) * 100, abs_tol=1e-9)


def test_crypto_runs_friday_to_friday_in_a_holiday_week(frame, settings):
    # Good Friday 2025: the trading week ends Thursday April 17, bitcoin's on Friday the 18th.
    week = week_containing(D(2025, 4, 16))
    assert week.end == D(2025, 4, 17)
    moves, _, notes = markets_mod.compute_markets(frame, pd.DataFrame(), week, settings, {})
    btc = next(m for m in moves if m.series == "BTC-USD")
    tnx = next(m for m in moves if m.series == "^TNX")
    assert (btc.base_date, btc.as_of) == (D(2025, 4, 11), D(2025, 4, 18))
    assert tnx.as_of == D(2025, 4, 17)
    assert any("Friday to Friday (2025-04-11 to 2025-04-18, UTC days)" in n for n in notes)
    assert any("rate at midnight London" in n for n in notes)


def test_weekly_changes_over_the_year_measure_news(frame, settings, market_dir):
    # sigma is the standard deviation of the 52 weeks before, each read the same way.
    week = week_containing(D(2025, 6, 13))
    moves, _, _ = markets_mod.compute_markets(frame, pd.DataFrame(), week, settings, {})
    gold = next(m for m in moves if m.series == "GC=F")
    spec = next(s for s in settings.series if s.symbol == "GC=F")
    earlier = [
        _expected(market_dir, spec, week_containing(week.end - dt.timedelta(weeks=k)))[3]
        for k in range(1, 53)
    ]
    assert math.isclose(gold.sigma, float(pd.Series(earlier).std()), rel_tol=1e-9)
    large = abs(gold.week_change) > settings.news_sigmas * gold.sigma
    assert gold.newsworthy == (large or gold.extreme is not None)


def test_a_planted_futures_roll_is_not_told_as_a_move(frame, settings):
    # A roll to a contract 15% dearer (a steep contango, as in 2020) shows in the continuous
    # front-month series as a jump that USO, holding the front contract, does not make.
    week = week_containing(D(2025, 7, 16))
    day = pd.Timestamp(D(2025, 7, 15))
    planted = frame.copy()
    planted.loc[planted.index >= day, "CL=F"] *= 1.15
    stocks = pd.DataFrame({"XLE": [90.0, 99.0]}, index=pd.DatetimeIndex([week.base_date, week.end]))
    moves, facts, notes = markets_mod.compute_markets(
        planted, stocks, week, settings, {"XLE": "Energy"}
    )
    wti = next(m for m in moves if m.series == "CL=F")
    assert wti.roll_on == day.date()
    assert abs(wti.week_change) > settings.news_sigmas * wti.sigma  # large, and yet:
    assert not wti.newsworthy
    assert facts.rolls == ("CL=F",)
    assert "CL=F" not in {c.series for c in facts.co_moves}  # never set beside energy shares
    assert any("rolled on 2025-07-15" in n and "not told as a move" in n for n in notes)
    # Without the plant, the same week has no roll.
    moves, facts, _ = markets_mod.compute_markets(frame, stocks, week, settings, {})
    assert next(m for m in moves if m.series == "CL=F").roll_on is None
    assert "CL=F" in {c.series for c in facts.co_moves}


def test_co_moves_are_typed_facts_with_both_sizes(reference_recap):
    facts = reference_recap.market_facts
    oil = next(c for c in facts.co_moves if (c.series, c.fund) == ("CL=F", "XLE"))
    wti = next(m for m in reference_recap.markets if m.series == "CL=F")
    energy = next(s for s in reference_recap.sectors.sectors if s.ticker == "XLE")
    assert oil.series_change == wti.week_change and oil.change_unit == "pct"
    assert math.isclose(oil.fund_return, energy.week_return, rel_tol=1e-12)
    assert oil.same_direction == (oil.series_change * oil.fund_return > 0)


def test_a_missing_series_leaves_its_row_out_and_says_so(reference_week):
    market, week, config = reference_week.market, reference_week.week, reference_week.config
    gone = market.markets.drop(columns=["BZ=F", "CL=F"])  # USO stands in for WTI, not Brent
    built = pipeline.compute_facts(
        dataclasses.replace(market, markets=gone),
        week,
        config,
        dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
    )
    symbols = [m.symbol for m in built.markets]
    assert "BZ=F" not in symbols and "CL=F" not in symbols
    wti = next(m for m in built.markets if m.series == "CL=F")
    assert (wti.symbol, wti.proxy, wti.change_unit) == ("USO", "USO", "pct")
    assert built.market_facts.missing == ("BZ=F",)
    notes = " ".join(built.data.notes)
    assert "Brent crude (BZ=F): no prices in the data" in notes and "left out of Beyond" in notes
    assert "the United States Oil Fund (USO) stands in" in notes
    files = pipeline.render_drawn(built, (), (), config, ("html", "email", "json"))
    text = files["email.txt"].decode()
    block, notes_text = text.split("BEYOND STOCKS")[1].split("DATA NOTES")
    assert "Brent" not in block and "United States Oil Fund" in block
    assert "Brent crude (BZ=F): no prices" in notes_text
    page = files["recap.html"].decode()
    assert "No data this week for BZ=F; its row is left out" in page
    rows = json.loads(files["recap.json"])["markets"]
    assert "BZ=F" not in [r["symbol"] for r in rows]
    assert all(r["week_change"] != 0 or r["last"] for r in rows)


def test_recap_json_markets_rows(reference_week):
    rows = json.loads(reference_week.files(pdf=False)["recap.json"])["markets"]
    assert [r["symbol"] for r in rows][:3] == ["^TNX", "^IRX", "CL=F"]
    for r in rows:
        assert {"symbol", "name", "last", "week_change", "change_unit", "as_of", "proxy"} <= set(r)
        assert r["change_unit"] in {"pct", "bp", "pts"}
    units = {r["symbol"]: r["change_unit"] for r in rows}
    assert (units["^TNX"], units["^VIX"], units["GC=F"]) == ("bp", "pts", "pct")


def test_the_page_email_and_pdf_show_the_block(reference_week):
    files = reference_week.files(pdf=False)
    page = files["recap.html"].decode()
    assert 'id="beyond"' in page and "chart-markets" in page
    assert page.index('id="beyond"') < page.index('id="ahead"')
    email = files["email.html"].decode()
    assert "Beyond stocks" in email and 'src="cid:markets"' in email
    assert "BEYOND STOCKS" in files["email.txt"].decode()
    assert "charts/markets.png" in files


def test_yields_at_or_below_zero_pass_the_checks(snapshot_source, settings):
    # The 3-month bill yielded -0.105% on 2020-03-26; a yield is not a price.
    bars = snapshot_source.fetch_bars(("^IRX", "^TNX"), D(2019, 6, 1), D(2021, 6, 30))
    frame = closes_frame(bars)
    assert (frame["^IRX"] <= 0).any()
    checked, flags = markets_mod.check_series(frame, settings)
    assert "^IRX" in checked and not [f for f in flags if f.ticker == "^IRX"]


# -- the Week Ahead's calendar ------------------------------------------------------


def test_fomc_file_names_its_source_and_holds_2016_to_2026():
    events = fomc_decisions()
    assert {e.date.year for e in events} == set(range(2016, 2027))
    assert all("federalreserve.gov" in e.source for e in events)
    assert all(e.date.weekday() in (2, 3) for e in events)  # Wednesday (Thursday: elections)


@pytest.mark.parametrize(
    "decision", [e.date for e in fomc_decisions()], ids=lambda d: d.isoformat()
)
def test_a_decision_week_is_named_in_the_week_ahead_of_the_week_before(decision):
    before = week_containing(decision - dt.timedelta(days=7))
    events = week_events(next_week(before))
    assert [e.date for e in events if e.name == "FOMC rate decision"] == [decision]


def test_the_built_week_before_a_decision_names_it(year_weeks):
    decisions = {e.date for e in fomc_decisions()}
    seen = 0
    for week, recap, _ in year_weeks:
        ahead = recap.week_ahead.week
        monday = ahead.start - dt.timedelta(days=ahead.start.weekday())
        due = {d for d in decisions if monday <= d <= monday + dt.timedelta(days=4)}
        named = {e.date for e in recap.week_ahead.events if e.name == "FOMC rate decision"}
        assert named == due, week.end
        seen += bool(due)
    assert seen == 8  # 2025-03-19 through 2026-01-28


@pytest.mark.parametrize(
    ("day", "expected", "name"),
    [
        (D(2025, 1, 15), D(2025, 1, 17), "Monthly options expiration"),
        (D(2025, 3, 19), D(2025, 3, 21), "Quarterly options expiration"),
        (D(2025, 4, 16), D(2025, 4, 17), "Monthly options expiration"),  # Good Friday
        (D(2025, 12, 17), D(2025, 12, 19), "Quarterly options expiration"),
        (D(2026, 1, 21), None, ""),  # the fourth Friday
    ],
)
def test_options_expiration(day, expected, name):
    found = options_expirations(week_containing(day))
    assert [(e.date, e.name) for e in found] == ([(expected, name)] if expected else [])


def test_own_events_from_config(tmp_path):
    (tmp_path / "events.csv").write_text(
        "date,name,source\n2026-02-11,January CPI,BLS release schedule\n\n"
        '2026-02-06,"Payrolls, January",BLS release schedule\n'
    )
    (tmp_path / "recap.toml").write_text('[calendar]\nevents_file = "events.csv"\n')
    config = read_config(tmp_path / "recap.toml", cwd=tmp_path)
    assert [e.name for e in config.events] == ["January CPI", "Payrolls, January"]
    events = week_events(week_containing(D(2026, 2, 11)), config.events)
    assert [(e.date, e.name, e.source) for e in events] == [
        (D(2026, 2, 11), "January CPI", "BLS release schedule")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,name,source\n", r"events\.csv, line 1: the header must be 'date,name,source'"),
        ("date,name,source\n2026-02-30,CPI,BLS\n", r"line 2: date '2026-02-30' is not a date"),
        ("date,name,source\n2026-02-11,CPI\n", r"line 2: expected 3 fields"),
        ("date,name,source\n2026-02-11,CPI,BLS\n2026-02-12,PPI,\n", r"line 3: 'PPI' has no source"),
        ("date,name,source\n2026-02-11,,BLS\n", r"line 2: the event has no name"),
    ],
)
def test_bad_events_file_names_file_and_line(tmp_path, text, message):
    (tmp_path / "events.csv").write_text(text)
    (tmp_path / "recap.toml").write_text('[calendar]\nevents_file = "events.csv"\n')
    with pytest.raises(ConfigError, match=message):
        read_config(tmp_path / "recap.toml", cwd=tmp_path)


def test_missing_events_file_is_a_config_error(tmp_path):
    (tmp_path / "recap.toml").write_text('[calendar]\nevents_file = "nope.csv"\n')
    with pytest.raises(ConfigError, match=r"nope\.csv: cannot read the events file"):
        read_config(tmp_path / "recap.toml", cwd=tmp_path)


def test_parse_events_sorts_nothing_away():
    events = parse_events("date,name,source\n2026-03-18,Mine,me\n", "x.csv")
    merged = week_events(week_containing(D(2026, 3, 18)), events)
    assert [e.name for e in merged] == [
        "FOMC rate decision",
        "Mine",
        "Quarterly options expiration",
    ]


def test_the_blog_post_has_the_block(reference_week):
    from recap.delivery import blog
    from recap.delivery.edition import load_edition

    edition = load_edition(reference_week.files(pdf=False))
    post = blog.render_post(edition, blog.BlogSettings.from_config(reference_week.config))
    assert "| Beyond stocks | Level | Week | Note |" in post
    assert "| 10-year Treasury yield | 4.23% | +6 bp | 3-month high |" in post
    assert "| Bitcoin | 95,525.12 | +5.54% | Fri-Fri |" in post
    assert "| VIX | 15.86 | +1.37 pts | 27th percentile of the year |" in post


def test_a_series_failing_the_checks_gives_way_to_its_fund(frame, settings):
    # A bad print in gold: ten times the close for one day, undone the next.
    week = week_containing(D(2025, 9, 12))
    planted = frame.copy()
    day = pd.Timestamp(D(2025, 9, 10))
    planted.loc[day, "GC=F"] = planted.loc[day, "GC=F"] * 10
    checked, flags = markets_mod.check_series(planted, settings)
    assert [(f.ticker, f.date, f.kind) for f in flags] == [("GC=F", day.date(), "bad-print")]
    assert "GC=F" not in checked
    moves, facts, notes = markets_mod.compute_markets(
        checked, pd.DataFrame(), week, settings, {}, {f.ticker for f in flags}
    )
    gold = next(m for m in moves if m.series == "GC=F")
    assert (gold.symbol, gold.proxy, gold.name) == ("GLD", "GLD", "SPDR Gold Shares")
    assert facts.missing == ()
    assert (
        "Gold (GC=F): its prices failed the price checks; the SPDR Gold Shares (GLD) stands in"
        in " ".join(notes)
    )
