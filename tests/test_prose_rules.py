"""The checker's rules of meaning and style, each caught on a planted violation and
passed by the sentence a careful writer would use instead (reference week's figures)."""

from __future__ import annotations

import dataclasses

import pytest

from recap.checker import check_story
from recap.model import Paragraph

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _with(recap, *texts, **changes):
    """The recap with only ``texts`` for prose (no headline or dek unless given)."""
    paras = tuple(Paragraph(section="indexes", text=t) for t in texts)
    changes = {"headline": "", "dek": "", **changes}
    return dataclasses.replace(recap, narrative=paras, **changes)


def _problems(recap, *texts, **changes):
    return check_story(_with(recap, *texts, **changes))


def _index(recap, which, **changes):
    return tuple(
        dataclasses.replace(m, **changes) if m.symbol == which else m for m in recap.indexes
    )


# ---------------------------------------------------------------- numbers and signs


def test_a_wrong_direction(reference_recap):
    problems = _problems(reference_recap, "The Russell 2000 index of small companies fell 2.04%.")
    assert any("moved the other way" in p for p in problems)


def test_a_wrong_sign_and_a_figure_not_in_the_model(reference_recap):
    assert any(
        "not Financials's week return" in p
        for p in _problems(reference_recap, "Financials (+2.31%) led.")
    )
    assert any(
        "not Regions's week return" in p
        for p in _problems(reference_recap, "Regions (+2.63%) did best.")
    )
    assert any(
        "'3.17%' is not a figure" in p
        for p in _problems(reference_recap, "The S&P 500 rose 3.17% this week.")
    )


def test_a_missing_value(reference_recap):
    assert any("missing value" in p for p in _problems(reference_recap, "The S&P 500 rose nan."))


def test_a_verb_too_big_or_too_small_for_its_move(reference_recap):
    problems = _problems(reference_recap, "The S&P 500 tumbled 0.38%.")
    assert any("does not fit a move of that size" in p for p in problems)
    problems = _problems(
        reference_recap, "The Russell 2000 index of small companies edged up 2.04%."
    )
    assert any("does not fit a move of that size" in p for p in problems)
    assert (
        _problems(reference_recap, "The Russell 2000 index of small companies climbed 2.04%.") == ()
    )
    # A stock's scale is three times an index's: AMD's 14.11% can be a surge.
    assert _problems(reference_recap, "AMD surged 14.11%.") == ()


def test_the_headline_is_checked_and_kept_short(reference_recap):
    r = dataclasses.replace(reference_recap, headline="Stocks Soar 9.99%")
    assert any(p.startswith("headline:") for p in check_story(r))
    r = dataclasses.replace(reference_recap, headline="Small Caps Climb " * 5)
    assert any("characters (at most 70)" in p for p in check_story(r))


# ---------------------------------------------------------------- rank words


def test_rank_words_fit_the_signs(reference_recap):
    # Texas Instruments and Nvidia both rose: they "rose least", they did not bring up the rear.
    bad = "Texas Instruments (+0.67%) and Nvidia (+0.74%) brought up the rear."
    assert any("all rose" in p for p in _problems(reference_recap, bad))
    good = "Texas Instruments (+0.67%) and Nvidia (+0.74%) rose least."
    assert _problems(reference_recap, good) == ()
    # Financials and Communication Services both fell: they did not "do best".
    bad = "Financials (-2.31%) and Communication Services (-2.32%) did best."
    assert any("all fell" in p for p in _problems(reference_recap, bad))
    bad = "Financials (-2.31%) rose least."
    assert any("'rose least' for a figure that fell" in p for p in _problems(reference_recap, bad))
    bad = "Real Estate (+4.22%) fell least."
    assert any("'fell least' for a figure that rose" in p for p in _problems(reference_recap, bad))


# ---------------------------------------------------------------- gains, rallies, small caps


def test_gains_and_rallies_only_for_an_index_that_rose(reference_recap):
    # The S&P 500 fell on the week: no rally.
    bad = "The S&P 500's rally this week cooled."
    assert any("'rally' for S&P 500" in p for p in _problems(reference_recap, bad))
    # A year in which small caps are down has no gains to concentrate.
    down = _index(reference_recap, "^RUT", ytd_return=-0.05)
    bad = "The Russell 2000 index of small companies owes its gains this year to two sectors."
    assert any("did not rise this year" in p for p in _problems(reference_recap, bad, indexes=down))
    ok = "The Russell 2000 index of small companies owes its gains this year to two sectors."
    assert _problems(reference_recap, ok) == ()


def test_small_caps_that_fell_less_did_not_beat(reference_recap):
    both_fell = _index(
        _with(reference_recap, indexes=_index(reference_recap, "^RUT", week_return=-0.0010)),
        "^GSPC",
        week_return=-0.0038,
    )
    bad = "Small caps beat large caps this week."
    problems = _problems(reference_recap, bad, indexes=both_fell)
    assert any("while both fell" in p for p in problems)
    ok = "Small caps fell less than large caps this week."
    assert _problems(reference_recap, ok, indexes=both_fell) == ()
    # In the real week small caps rose: they did beat.
    assert _problems(reference_recap, bad) == ()


# ---------------------------------------------------------------- earnings and banks


def test_beat_and_miss_by_the_cent(reference_recap):
    bad = "M&T Bank missed the estimate."
    assert any(
        "M&T Bank: 'missed', but the result was 'beat'" in p
        for p in _problems(reference_recap, bad)
    )
    in_line = tuple(
        dataclasses.replace(r, eps_actual=r.eps_estimate, outcome="in line")
        if r.ticker == "MTB"
        else r
        for r in reference_recap.banks.reported
    )
    banks = dataclasses.replace(reference_recap.banks, reported=in_line)
    earnings = tuple(
        dataclasses.replace(r, outcome="in line") if r.ticker == "MTB" else r
        for r in reference_recap.earnings
    )
    bad = "M&T Bank beat the estimate."
    problems = _problems(reference_recap, bad, banks=banks, earnings=earnings)
    assert any("the result was 'in line'" in p for p in problems)
    ok = "M&T Bank matched the estimate."
    assert _problems(reference_recap, ok, banks=banks, earnings=earnings) == ()


def test_a_reaction_without_a_release_time_says_so(reference_recap):
    unknown = tuple(
        dataclasses.replace(r, release_time="time unknown") if r.ticker == "MTB" else r
        for r in reference_recap.banks.reported
    )
    banks = dataclasses.replace(reference_recap.banks, reported=unknown)
    earnings = tuple(
        dataclasses.replace(r, release_time="time unknown") if r.ticker == "MTB" else r
        for r in reference_recap.earnings
    )
    bad = "M&T Bank edged lower 0.14% on the day."
    problems = _problems(reference_recap, bad, banks=banks, earnings=earnings)
    assert any("a reaction without a release time" in p for p in problems)
    ok = (
        "M&T Bank edged lower 0.14% on the day (the data gives no release time, so the move "
        "is measured from the previous close)."
    )
    assert _problems(reference_recap, ok, banks=banks, earnings=earnings) == ()


def test_no_bank_reported_is_not_said(reference_recap):
    problems = _problems(reference_recap, "No regional bank in the watchlist reported this week.")
    assert any("the data holds no results" in p for p in problems)
    assert _problems(reference_recap, "The data holds no regional-bank results this week.") == ()


# ---------------------------------------------------------------- records and superlatives


def test_a_record_only_for_the_index_that_set_one(reference_recap):
    bad = "The Nasdaq Composite closed at a record."
    assert any("a record for Nasdaq Composite" in p for p in _problems(reference_recap, bad))
    ok = "The Russell 2000 index of small companies closed at a record 2,677.74."
    assert _problems(reference_recap, ok) == ()


def test_a_funds_record_is_the_funds(reference_recap):
    proxy = _index(
        reference_recap,
        "^RUT",
        symbol="IWM",
        is_proxy=True,
        close=265.76,
        full_name="the Russell 2000 fund (IWM)",
        later_name="the Russell 2000 fund",
    )
    svl = dataclasses.replace(reference_recap.small_vs_large, small_symbol="IWM")
    bad = "The Russell 2000 closed at a record 265.76."
    problems = _problems(reference_recap, bad, indexes=proxy, small_vs_large=svl)
    assert any("IWM's record told as the index's" in p for p in problems)
    ok = "The Russell 2000 fund (IWM) closed at a record 265.76."
    assert _problems(reference_recap, ok, indexes=proxy, small_vs_large=svl) == ()


def test_best_week_since_needs_the_week_behind_it(reference_recap):
    bad = "The S&P 500 had its worst week since April."
    assert any("is not backed by the data" in p for p in _problems(reference_recap, bad))
    backed = _index(
        reference_recap,
        "^GSPC",
        larger_move_on=reference_recap.week.end.replace(month=1, day=2),
        weeks_since_larger=2,
    )
    ok = "The S&P 500 had its worst week since January."
    assert _problems(reference_recap, ok, indexes=backed) == ()


# ---------------------------------------------------------------- style


def test_no_sentence_over_40_words_and_a_short_lead(reference_recap):
    long = "The S&P 500 " + "and the market " * 13 + "eased 0.38%."
    problems = _problems(reference_recap, long)
    assert any("a sentence of 44 words" in p for p in problems)
    assert any("the lead has 44 words" in p for p in problems)


def test_full_name_first_then_short(reference_recap):
    bad = "The Dow eased 0.29%. The Dow Jones Industrial Average closed at 49,359.33."
    assert any("first named 'the Dow'" in p for p in _problems(reference_recap, bad))
    bad = "The Dow Jones Industrial Average eased 0.29%. The Dow Jones Industrial Average slipped."
    assert any(
        "full name 'the Dow Jones Industrial Average' 2 times" in p
        for p in _problems(reference_recap, bad)
    )
    ok = "The Dow Jones Industrial Average eased 0.29%. The Dow closed at 49,359.33."
    assert _problems(reference_recap, ok) == ()


def test_a_ticker_once_and_a_funds_only_for_the_fund(reference_recap):
    bad = "Intel (INTC) slipped. Later INTC rose."
    assert any("ticker 'INTC' 2 times" in p for p in _problems(reference_recap, bad))
    bad = "Large caps (SPY) eased 0.38%."
    assert any(
        "'SPY' where the fund is not the subject" in p for p in _problems(reference_recap, bad)
    )
    ok = "The SPDR S&P 500 ETF (SPY) eased."
    assert _problems(reference_recap, ok) == ()


@pytest.mark.parametrize(
    "text, fix",
    [
        ("The three ended 0.53%, 0.47% and 1.85% lower, in that order.", "say each figure"),
        ("The gains' Herfindahl index is high.", "plain words"),
        ("Markets were shut for Juneteenth National Independence Day.", "short holiday name"),
        ("Markets were shut for July 4th.", "short holiday name"),
    ],
)
def test_banned_phrasings(reference_recap, text, fix):
    assert any(fix in p for p in _problems(reference_recap, text))
