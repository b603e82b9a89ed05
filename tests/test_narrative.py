"""Headline, prose and the checker that holds the prose to the numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recap import formatting
from recap.checker import check_story
from recap.model import Paragraph
from recap.narrative import headline, join_names, ordinal, verb
from tests.conftest import CACHE_DIR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_reference_week_headline_and_prose(reference_recap):
    r = reference_recap
    assert r.headline == "Russell 2000 Surges; Tech Risks Spotlighted"
    text = " ".join(p.text for p in r.narrative)
    assert "The Russell 2000 surged 2.04% to a record close of 2,677.74" in text
    assert "the S&P 500 slipped 0.38%" in text.replace("The S&P", "the S&P")
    assert "Nasdaq Composite fell 0.66%" in text
    assert "PNC (Friday, before the open) beat the estimate by 15.4%" in text
    assert "Regions (Friday, before the open) missed the estimate by 6.8%" in text
    assert "Real Estate (XLRE, +4.22%) led the sector funds" in text
    assert "Martin Luther King Jr. Day" in text  # next week's holiday
    sections = {p.section for p in r.narrative}
    assert {"indexes", "sectors", "banks", "risks", "week_ahead", "conclusion"} <= sections


def test_reference_week_passes_the_checker(reference_recap):
    assert check_story(reference_recap) == ()


def test_no_missing_values_in_prose(reference_recap):
    for p in reference_recap.narrative:
        assert not re.search(r"\bnan\b|None|\u2014%|\{|\}", p.text), p.text


def _with_text(recap, text, section="indexes"):
    return dataclasses.replace(recap, narrative=(Paragraph(section=section, text=text),))


def test_checker_catches_a_wrong_direction(reference_recap):
    bad = _with_text(reference_recap, "The Russell 2000 fell 2.04% on the week.")
    problems = check_story(bad)
    assert problems and "moved the other way" in problems[0]


def test_checker_catches_a_wrong_sign(reference_recap):
    problems = check_story(_with_text(reference_recap, "Financials (XLF, +2.31%) led."))
    assert any("not XLF's week return" in p for p in problems)
    problems = check_story(_with_text(reference_recap, "Regions (+2.63%) did best."))
    assert any("not Regions's week return" in p for p in problems)
    problems = check_story(_with_text(reference_recap, "Stocks rose, +9.87% for some."))
    assert any("'+9.87%' is not a figure" in p for p in problems)


def test_checker_catches_a_number_not_in_the_model(reference_recap):
    problems = check_story(_with_text(reference_recap, "The S&P 500 rose 3.17% this week."))
    assert any("'3.17%' is not a figure of the model" in p for p in problems)


def test_checker_catches_unsupported_superlatives(reference_recap):
    no_records = tuple(
        dataclasses.replace(m, record_close=False, record_sessions=())
        for m in reference_recap.indexes
    )
    r = dataclasses.replace(reference_recap, indexes=no_records)
    assert any("record" in p for p in check_story(_with_text(r, "Small caps hit a record.")))
    text = "It was the best week since March."
    assert any("superlative" in p for p in check_story(_with_text(reference_recap, text)))


def test_checker_catches_a_missing_value(reference_recap):
    problems = check_story(_with_text(reference_recap, "The Dow 30 rose nan on the week."))
    assert any("missing value" in p for p in problems)


def test_checker_checks_the_headline(reference_recap):
    r = dataclasses.replace(reference_recap, headline="Stocks Soar 9.99%")
    assert any(p.startswith("headline:") for p in check_story(r))


def test_a_build_whose_prose_fails_the_checker_fails(market_dir, snapshot_source, monkeypatch):
    from recap import narrative, pipeline
    from recap.config import read_config
    from recap.errors import RenderError
    from recap.weeks import week_containing

    real = narrative.write_story

    def lying(recap, config):
        h, d, paras = real(recap, config)
        return h, d, (*paras, Paragraph(section="conclusion", text="Stocks rose 42.42% in a day."))

    monkeypatch.setattr(narrative, "write_story", lying)
    cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
    week = week_containing(dt.date(2026, 1, 16))
    market = pipeline.fetch_market(snapshot_source, cfg, week)
    with pytest.raises(RenderError, match="42.42%"):
        pipeline.compute_recap(market, week, cfg, dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC))


def test_headline_rules(reference_recap, reference_config):
    r = reference_recap

    def moved(*returns):
        return tuple(
            dataclasses.replace(m, week_return=x, record_close=False)
            for m, x in zip(r.indexes, returns, strict=True)
        )

    calm = dataclasses.replace(r.risks, basket_week=0.0, basket_vs_large_week=0.0)
    flat = dataclasses.replace(r, risks=calm)
    down = dataclasses.replace(flat, indexes=moved(-0.03, -0.025, -0.04, -0.01))
    assert headline(down, reference_config).startswith("Stocks Tumble")
    quiet = dataclasses.replace(flat, indexes=moved(0.001, -0.002, 0.003, -0.001))
    assert headline(quiet, reference_config).startswith(("Quiet Week", "Stocks Drift"))
    up = dataclasses.replace(flat, indexes=moved(0.011, 0.012, 0.013, 0.011))
    assert headline(up, reference_config).startswith("Stocks Climb")


@given(st.floats(min_value=-0.5, max_value=0.5, allow_nan=False))
def test_verb_agrees_with_the_printed_sign(value):
    printed = formatting.signed(value)
    word = verb(value)
    if printed.startswith("+"):
        assert word in {"surged", "climbed", "rose", "edged up"}
    elif printed.startswith("-"):
        assert word in {"tumbled", "fell", "slipped"}
    else:
        assert word == "was flat"


@given(st.one_of(st.none(), st.just(float("nan")), st.just(float("inf"))))
def test_missing_numbers_print_as_a_dash(value):
    for f in (formatting.pct, formatting.signed, formatting.pp, formatting.price, formatting.eps):
        assert f(value) == formatting.DASH


def test_formatting():
    assert formatting.signed(0.0213) == "+2.13%"
    assert formatting.signed(-0.0035) == "-0.35%"
    assert formatting.signed(-0.00001) == "0.00%"
    assert formatting.pp(0.02472, 1) == "+2.5 pts"
    assert formatting.price(6940.013) == "6,940.01"
    assert formatting.eps(-0.4) == "-$0.40"
    assert formatting.week_span(dt.date(2025, 12, 29), dt.date(2026, 1, 2)) == (
        "Dec 29, 2025\u2013Jan 2, 2026"
    )
    assert join_names(["A", "B", "C"]) == "A, B and C"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
    ]


def test_every_week_of_the_snapshot_passes_the_checker(market_dir, snapshot_source):
    """A year of real weeks: each builds, and its prose passes the checker."""
    from recap import pipeline
    from recap.config import read_config
    from recap.weeks import weeks_between

    cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
    holdings = pipeline.holdings_for(cfg)  # read once, picked by date per week
    now = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    headlines = set()
    for week in weeks_between(dt.date(2025, 2, 1), dt.date(2026, 1, 30)):
        market = pipeline.fetch_market(snapshot_source, cfg, week, holdings)
        recap = pipeline.compute_recap(market, week, cfg, now)
        assert recap.headline and recap.narrative
        headlines.add(recap.headline)
    assert len(headlines) > 10  # the rules tell weeks apart
