"""Headline, dek and prose, on the reference week and on every week of a real year."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recap import formatting, prose_rules, words
from recap.checker import check_story
from recap.model import Paragraph
from recap.narrative import join_names, ordinal, verb, write_story
from recap.stories import select_stories
from tests.conftest import CACHE_DIR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _text(recap):
    return " ".join(p.text for p in recap.narrative)


def _week(year_weeks, day):
    return next(r for w, r, _ in year_weeks if w.end == dt.date.fromisoformat(day))


# ---------------------------------------------------------------- the reference week


def test_reference_week_headline_dek_and_lead(reference_recap):
    r = reference_recap
    # The top story is the Russell 2000's third straight record; the headline says so.
    assert r.headline.startswith("Russell 2000 Sets a Third Straight Record")
    assert len(r.headline) <= 70
    lead = r.narrative[0]
    assert lead.section == "indexes"
    assert lead.text.startswith("The Russell 2000 index of small companies")
    assert "2,677.74" in lead.text and "third" in lead.text
    assert "while the S&P 500 slipped 0.38%" in lead.text
    # Why, from the index's own stocks (the attribution), not from large-cap sector funds.
    assert "as its industrial and technology stocks added the most" in lead.text
    assert len(lead.text.split()) <= 40
    assert r.dek and r.dek.endswith(".")


def test_reference_week_prose(reference_recap):
    text = _text(reference_recap)
    # index moves in points and percent
    assert "Nasdaq Composite" in text and "155.96 points, or 0.66%" in text and "23,515.39" in text
    assert "PNC (Friday, before the open) beat the estimate by 15.4%" in text
    assert "Regions (Friday, before the open) missed the estimate by 6.8%" in text
    assert "Real Estate (+4.22%)" in text
    assert "Martin Luther King Jr. Day" in text  # next week's holiday
    # Big banks told apart by result and reaction.
    assert "Morgan Stanley (+5.78%) and Goldman Sachs (+4.63%) beat estimates and rose" in text
    assert "Bank of America (-3.78%) fell despite beating estimates" in text
    sections = {p.section for p in reference_recap.narrative}
    assert {"indexes", "sectors", "banks", "risks", "week_ahead", "conclusion"} <= sections


def test_reference_week_passes_the_checker(reference_recap):
    assert check_story(reference_recap) == ()


def test_no_missing_values_in_prose(reference_recap):
    for p in reference_recap.narrative:
        assert not re.search(r"\bnan\b|None|\u2014%|\{|\}", p.text), p.text


def test_same_data_same_words(reference_recap, reference_config):
    facts = dataclasses.replace(reference_recap, headline="", dek="", narrative=())
    first = write_story(facts, reference_config)
    assert write_story(facts, reference_config) == first


def test_a_build_whose_prose_fails_the_checker_fails(market_dir, snapshot_source, monkeypatch):
    from recap import narrative, pipeline
    from recap.config import read_config
    from recap.errors import RenderError
    from recap.weeks import week_containing

    real = narrative.compose

    def lying(recap, config, earlier=(), closes=None):
        story = real(recap, config, earlier, closes)
        lie = Paragraph(section="conclusion", text="Stocks rose 42.42% in a day.")
        return dataclasses.replace(story, paragraphs=(*story.paragraphs, lie))

    monkeypatch.setattr(narrative, "compose", lying)
    cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
    week = week_containing(dt.date(2026, 1, 16))
    market = pipeline.fetch_market(snapshot_source, cfg, week)
    with pytest.raises(RenderError, match="42.42%"):
        pipeline.compute_recap(market, week, cfg, dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC))


def test_headline_follows_the_top_story(reference_recap, reference_config):
    r = reference_recap

    def moved(*returns):
        return tuple(
            dataclasses.replace(
                m, week_return=x, record_close=False, record_sessions=(), record_streak=0
            )
            for m, x in zip(r.indexes, returns, strict=True)
        )

    def week(*returns):
        spread = dataclasses.replace(
            r.small_vs_large, spread=returns[3] - returns[0], positive_streak_weeks=0
        )
        return dataclasses.replace(base, indexes=moved(*returns), small_vs_large=spread)

    calm = dataclasses.replace(r.risks, basket_week=0.0, basket_vs_large_week=0.0)
    base = dataclasses.replace(r, risks=calm, earnings=(), banks=None, sectors=None)
    down = week(-0.03, -0.025, -0.04, -0.01)
    assert select_stories(down)[0].kind == "move"
    h, _, paras = write_story(down, reference_config)
    assert re.search(r"Fall|Slide|Sink|Tumble|Retreat|Lower|Sell-Off", h), h
    quiet = week(0.001, -0.002, 0.003, -0.001)
    assert select_stories(quiet)[0].kind == "quiet"
    assert "half a percent" in write_story(quiet, reference_config)[2][0].text


# ---------------------------------------------------------------- every week of a year


def test_every_week_of_the_year_passes_the_checker(year_weeks):
    assert len(year_weeks) == 52
    for week, recap, _ in year_weeks:
        assert check_story(recap) == (), (week.end, check_story(recap))


def test_no_sentence_over_40_words_and_a_short_lead(year_weeks):
    for week, recap, _ in year_weeks:
        for p in recap.narrative:
            for s in prose_rules.sentences(p.text):
                assert len(s.split()) <= 40, (week.end, s)
        assert len(recap.narrative[0].text.split()) <= 40, (week.end, recap.narrative[0].text)


def test_no_rank_word_against_its_signs(year_weeks):
    """'did best' never for figures that all fell, 'brought up the rear' never for all
    risers, read independently of the checker: each clause with a rank word, its figures."""
    top = re.compile(r"\b(led|did best|gained most|rose most)\b")
    bottom = re.compile(r"\b(fell most|lagged|did worst|had the worst week|brought up the rear)\b")
    seen = Counter()
    for week, recap, _ in year_weeks:
        for p in recap.narrative:
            for s in prose_rules.sentences(p.text):
                for c in re.split(r";|, while |, and ", s):
                    signs = [x[0] for x in re.findall(r"\(([+-])\d+\.\d+%\)", c)]
                    if not signs:
                        continue
                    if top.search(c):
                        seen["top"] += 1
                        assert "+" in signs, (week.end, c)
                    if bottom.search(c):
                        seen["bottom"] += 1
                        assert "-" in signs, (week.end, c)
                    if "fell least" in c:
                        seen["fell least"] += 1
                        assert set(signs) == {"-"}, (week.end, c)
                    if "rose least" in c:
                        assert set(signs) == {"+"}, (week.end, c)
    assert seen["top"] > 40 and seen["bottom"] > 40 and seen["fell least"] > 0


def test_headlines_vary_and_never_repeat_within_four_weeks(year_weeks):
    heads = [r.headline for _, r, _ in year_weeks]
    assert len(set(heads)) >= 50, Counter(heads).most_common(3)
    for i, h in enumerate(heads):
        assert h not in heads[max(0, i - 4) : i], (year_weeks[i][0].end, h)
        assert len(h) <= 70, h
        assert not h.startswith("Week to"), h  # the dated fallback was never needed
        for clause in h.split("; "):  # not "Stocks Climb as AI Hardware Stocks Rise 2.5%"
            if clause.startswith("Stocks ") and " as " in clause:
                assert clause.split().count("Stocks") == 1, h
    # Many shapes, not one template: count the joins and the leading words.
    shapes = Counter("; " in h for h in heads) + Counter(
        (" as " in h, " While " in h) for h in heads
    )
    assert len(shapes) >= 3
    # News first: index names open most headlines now (milestones, records, streaks).
    assert len({h.split()[0] for h in heads}) >= 6


def test_risks_spotlighted_only_for_a_top_two_risk_the_body_flags(year_weeks):
    told = 0
    for week, recap, _ in year_weeks:
        if "Risks Spotlighted" not in recap.headline:
            continue
        told += 1
        kind = recap.headline.split(" Risks Spotlighted")[0].split("; ")[-1]
        top_two = select_stories(recap)[:2]
        assert any(s.risk == kind for s in top_two), (week.end, recap.headline)
        risks = " ".join(recap.paragraphs("risks"))
        assert "this report flags" in risks.lower(), (week.end, risks)
    assert told < 8  # not "in most weeks", as before


def test_consecutive_weeks_read_differently(year_weeks):
    """The same sentence type opens differently in consecutive weeks."""
    openers = []
    for week, recap, _ in year_weeks:
        if all(m.ytd_base_date == week.base_date for m in recap.indexes):
            continue  # the year's first week: its move is the year's, told once
        ytd = next(
            s.text
            for p in recap.narrative
            for s in p.sentences
            if s.text.startswith(("Year to date", "For the year", "Since the start"))
        )
        openers.append(ytd.split(",")[0])
    assert all(a != b for a, b in zip(openers, openers[1:], strict=False)), openers
    assert len(set(openers)) == 3


def test_lead_says_what_happened_in_notable_weeks(year_weeks):
    crash = _week(year_weeks, "2025-04-04")
    # News first: two indexes entered bear markets, which outranks the worst week since 2020.
    assert crash.headline.startswith("Nasdaq and Russell 2000 Fall Into Bear Markets")
    lead = crash.narrative[0].text
    assert lead.startswith("The Russell 2000 index of small companies tumbled 9.70% and entered")
    assert "bear market" in lead and "25.18% below its 52-week closing high" in lead
    # no small sector told as the cause of a large-cap fall
    assert "energy" not in lead and "utility" not in lead
    assert "506.86 points, or 9.08%" in _text(crash) and "5,074.08" in _text(crash)
    intel = _week(year_weeks, "2026-01-23")
    assert intel.headline.startswith("Intel Tumbles")
    assert intel.narrative[0].text.startswith("Intel tumbled 17.03%")
    holiday = _week(year_weeks, "2025-06-20")
    assert "Juneteenth" in _text(holiday) and "National Independence" not in _text(holiday)
    july = _week(year_weeks, "2025-07-03")
    assert "Independence Day" in _text(july) and "July 4th" not in _text(july)


def test_small_caps_that_fell_less_are_not_said_to_beat(year_weeks):
    both_fell = [
        (w, r)
        for w, r, _ in year_weeks
        if r.small_vs_large
        and r.small_vs_large.spread > 0.001
        and all(m.week_return < 0 for m in r.indexes if m.symbol in ("^RUT", "^GSPC"))
    ]
    assert both_fell  # the year has such weeks
    for w, r in both_fell:
        text = " ".join([r.headline, r.dek, _text(r)])
        assert "fell less than large caps" in text or "Hold Up Better" in text, w.end
        assert not re.search(r"small caps (beat|lead|led)", text, re.I), (w.end, text)


def test_fell_further_than_large_caps_only_when_large_caps_fell(year_weeks):
    """Today's main asked 'whether small caps, which fell further than large caps this
    week, can steady' in the week of 2026-01-30, when the S&P 500 rose 0.34%."""
    told = 0
    for week, recap, _ in year_weeks:
        text = " ".join([recap.dek, _text(recap)])
        large = next(m for m in recap.indexes if m.symbol == "^GSPC")
        if "fell further than large caps" in text:
            told += 1
            assert large.week_return < 0, (week.end, text)
    assert told  # the year has weeks where both fell, small caps more
    late = _week(year_weeks, "2026-01-30")
    if "small caps, which" in _text(late):
        assert "fell while large caps rose" in _text(late)


def test_gains_and_rally_only_for_an_index_that_rose(year_weeks):
    for week, recap, _ in year_weeks:
        small = next(m for m in recap.indexes if m.symbol == "^RUT")
        risks = " ".join(recap.paragraphs("risks"))
        if small.ytd_return is not None and small.ytd_return <= 0:
            assert "gains this year" not in risks, (week.end, risks)
            assert "subtracted" in risks or not risks, (week.end, risks)


# ---------------------------------------------------------------- coverage and data notes


def test_a_watchlist_without_enough_prices_is_said_not_averaged(year_weeks):
    r = _week(year_weeks, "2025-09-05")  # only ASML of the AI-hardware names had prices
    assert r.sectors and all(w.name != "AI hardware" for w in r.sectors.watchlists)
    assert r.risks.basket_week is None
    text = " ".join(r.paragraphs("sectors"))
    assert (
        "Only 1 of the 12 AI hardware stocks has prices this week" in text
        or "The AI hardware stocks have no average this week: only 1 of 12 has prices" in text
    ), text
    assert "Tech Risks" not in r.headline


def test_industry_funds_that_start_later_are_said(year_weeks):
    r = _week(year_weeks, "2025-02-21")  # XRT XHB ITA IBB IYT start on 2025-02-19
    text = " ".join(r.paragraphs("sectors"))
    assert "have no prices before February 19, 2025 in this data" in text
    assert any("prices in the data start 2025-02-19" in n for n in r.data.notes)


def _snapshot_closes(market_dir, ticker):
    path = market_dir / "prices" / f"{ticker}.csv"
    if not path.is_file():
        return {}
    with path.open() as fh:
        return {row["Date"][:10]: row["Close"] for row in csv.DictReader(fh) if row["Close"]}


def test_data_notes_are_true(year_weeks, market_dir):
    """Every 'no close for', 'prices start' and 'no prices through' note checked against
    the snapshot files themselves."""
    checked = 0
    for week, recap, _ in year_weeks:
        for note in recap.data.notes:
            m = re.match(r"([A-Z0-9, .^-]+): (.+?); left out", note)
            if not m:
                continue
            tickers, why = m.group(1).split(", "), m.group(2)
            for t in tickers:
                closes = _snapshot_closes(market_dir, t)
                checked += 1
                if why.startswith("no close for"):
                    for day in re.findall(r"\d{4}-\d{2}-\d{2}", why):
                        assert day not in closes, (week.end, note)
                elif why.startswith("prices in the data start"):
                    first = re.search(r"\d{4}-\d{2}-\d{2}", why).group(0)
                    assert min(closes) == first, (week.end, note)
                elif why.startswith("no prices in the data through"):
                    end = re.search(r"\d{4}-\d{2}-\d{2}", why).group(0)
                    assert not closes or min(closes) > end, (week.end, note)
                else:
                    pytest.fail(f"unexpected note {note!r}")
    assert checked > 100


def test_a_week_told_as_keeping_pace_is_not_a_week_in_front(year_weeks):
    """Small caps' streak in front counts the weeks the report prints as ahead (+0.1 pp or
    more). Before, a dead heat (2026-01-02, both -1.03%, told as "kept pace") counted: the
    next weeks said "third straight week in front", and 2026-01-23, itself told as keeping
    pace, asked whether small caps "which have held up better ... for four weeks" could
    turn higher."""
    from recap.analytics.indexes import AHEAD

    ends = [week.end for week, _, _ in year_weeks]
    spreads = [recap.small_vs_large.spread for _, recap, _ in year_weeks]
    streaks = 0
    for i, (week, recap, _) in enumerate(year_weeks):
        n = recap.small_vs_large.positive_streak_weeks
        text = " ".join([recap.dek, *(p.text for p in recap.narrative)])
        if abs(spreads[i]) < AHEAD:
            assert n == 0, week.end
            assert "kept pace" in text, week.end
            assert "in front" not in text and "held up better" not in text, (week.end, text)
        if n >= 2 and i - n >= 0:
            streaks += 1
            assert all(s >= AHEAD for s in spreads[i - n + 1 : i + 1]), ends[i - n + 1 : i + 1]
            assert spreads[i - n] < AHEAD, ends[i - n]
    assert streaks >= 3
    ties = [e.isoformat() for e, s in zip(ends, spreads, strict=True) if abs(s) < AHEAD]
    assert {"2026-01-02", "2026-01-23"} <= set(ties), ties  # the year's dead heats include them


def test_the_conclusion_asks_as_many_questions_as_its_lead_says(year_weeks):
    """2026-01-23 ended on "Questions for next week:" followed by one question."""
    clause = re.compile(r"(?:: | and )(?:whether|how|what) ")
    seen = {"Questions for next week: ": 0, "The question for next week: ": 0}
    for week, recap, _ in year_weeks:
        (last,) = [p.text for p in recap.narrative if p.section == "conclusion"] or [""]
        for lead in seen:
            if last.startswith(lead):
                seen[lead] += 1
                asked = len(clause.findall(last))
                assert asked == (2 if lead.startswith("Questions") else 1), (week.end, last)
    assert all(seen.values()), seen


def test_a_flag_dated_after_the_week_says_why_those_closes_were_read(year_weeks):
    """Weeks before the holdings file read the closes that carry its weights back to them:
    a price-check note citing a flag dated after the week says so, and only then."""
    seen = {True: 0, False: 0}
    for week, recap, _ in year_weeks:
        for note in recap.data.notes:
            if not note.startswith("Price checks left"):
                continue
            cited = re.findall(r"(?:\(|; )[A-Z.]+ (\d{4}-\d{2}-\d{2}):", note)
            later = any(dt.date.fromisoformat(d) > week.end for d in cited)
            said = "Flags dated after the week are in the closes that carry the holdings" in note
            assert said == later, (week.end, note)
            seen[later] += 1
    assert seen[True] and seen[False], seen


# ---------------------------------------------------------------- earnings and banks


def test_earnings_movers_are_named(year_weeks, market_dir):
    intel = _week(year_weeks, "2026-01-23")
    assert intel.earnings[0].ticker == "INTC"
    assert intel.earnings[0].reaction == pytest.approx(-0.1703, abs=1e-4)
    assert "Intel (INTC) lost $0.12 a share, worse than the expected loss of $0.09" in _text(intel)
    kla = _week(year_weeks, "2026-01-30")
    assert [r.ticker for r in kla.earnings[:2]] == ["KLAC", "TXN"]
    assert "KLA" in kla.headline
    text = _text(kla)
    assert "Texas Instruments (TXN)" in text and "the next session" in text
    broadcom = _week(year_weeks, "2025-12-12")
    assert "Broadcom" in broadcom.headline


def test_every_reporter_of_the_week_is_in_the_earnings_list(year_weeks, market_dir):
    """Every watchlist name and large bank with a release in the week (earnings.csv)."""
    from recap.config import read_config

    cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
    tickers = {t for ts in cfg.watchlists.values() for t in ts}
    tickers |= set(cfg.banks.large)
    with (market_dir / "earnings.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["ticker"] in tickers]
    for week, recap, _ in year_weeks[-12:]:
        want = {
            r["ticker"]
            for r in rows
            if week.start.isoformat() <= r["date"] <= week.end.isoformat()
            and (r["eps_actual"] or r["eps_estimate"])
        }
        got = {r.ticker for r in recap.earnings}
        assert want <= got, (week.end, want - got)


def test_in_line_by_the_cent():
    from recap.analytics.banks import outcome

    assert outcome(0.87, 0.87, -0.38) == "in line"  # Truist, 2025-04-17: not a miss
    assert outcome(0.8733, 0.87, None) == "in line"
    assert outcome(0.87, 0.88, None) == "beat"
    assert outcome(-0.09, -0.12, -27.6) == "miss"
    assert outcome(None, 0.5, None) == "no estimate"
    assert outcome(0.5, None, None) == "not reported"


def test_a_date_without_figures_is_not_a_result(year_weeks):
    r = _week(year_weeks, "2026-01-23")  # Zions: a date, no EPS, no release time
    zions = next(x for x in r.banks.reported if x.ticker == "ZION")
    assert zions.outcome == "not reported"
    text = " ".join(r.paragraphs("banks"))
    # Seven reports: the tally, in which Zions is neither a beat nor a miss.
    # Results and reactions told apart; Zions, a bare date, is counted in neither.
    assert (
        "Six regional banks reported results this week: five beat estimates and one missed" in text
    )
    assert "for Zions the data holds the date, not the figures" in text
    assert "The shares split, from +7.11% for Citizens to -6.02% for Huntington." in text
    assert r.banks.classification == "mixed"  # from the six with figures, not Zions


def test_no_bank_reported_is_never_said(year_weeks):
    for week, recap, _ in year_weeks:
        text = _text(recap)
        assert "No regional bank" not in text and "no bank reported" not in text.lower()
        if recap.banks and not recap.banks.reported:
            assert "The data holds no regional-bank results this week." in text, week.end


# ---------------------------------------------------------------- words


@given(st.floats(min_value=-0.5, max_value=0.5, allow_nan=False))
def test_verb_agrees_with_the_printed_sign_and_size(value):
    printed = formatting.signed(value)
    word = verb(value)
    if printed.startswith("+"):
        assert word in {v for band in words.UP for v in band}
    elif printed.startswith("-"):
        assert word in {v for band in words.DOWN for v in band}
    else:
        assert word == words.FLAT
    assert words.fits(word, value)


def test_the_house_verb_scale():
    assert verb(0.0012) == "edged up"
    assert verb(0.005) == "rose"
    assert verb(0.0204) == "climbed"
    assert verb(0.03) == "jumped"
    assert verb(0.05) == "surged"
    assert verb(-0.005) == "slipped"
    assert verb(-0.03) == "slid"
    assert verb(-0.09) == "tumbled"
    assert words.verb(0.05, words.STOCK) == "climbed"  # a stock's scale is three times wider
    assert words.verb(-0.17, words.STOCK) == "tumbled"


def test_choose_differs_in_consecutive_weeks():
    options = ("a", "b", "c")
    day = dt.date(2026, 1, 16)
    picks = [words.choose(options, day + dt.timedelta(weeks=i), "k") for i in range(6)]
    assert all(x != y for x, y in zip(picks, picks[1:], strict=False))
    assert words.choose(options, day, "k") == words.choose(options, day, "k")


def test_short_holiday_names():
    assert words.holiday(dt.date(2025, 6, 19), "Juneteenth National Independence Day") == (
        "Juneteenth"
    )
    assert words.holiday(dt.date(2026, 7, 3), "July 4th") == "the July 3 closure"
    assert words.holiday(dt.date(2025, 7, 4), "July 4th") == "Independence Day"
    assert words.holiday(dt.date(2025, 1, 9), "a market holiday") == "the January 9 closure"


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


def _skeleton(sentence: str) -> str:
    s = re.sub(r"[+-]?\$?\d[\d,.]*%?", "N", sentence)
    s = re.sub(
        r"\b(the )?(S&P 500|Dow Jones Industrial Average|Dow|Nasdaq Composite|Nasdaq|"
        r"Russell 2000 index of small companies|Russell 2000)\b",
        "IDX",
        s,
    )
    s = re.sub(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday)\b", "DAY", s)
    return re.sub(
        r"\b(" + "|".join(sorted(words.SCALED_VERBS, key=len, reverse=True)) + r")\b", "V", s
    )


def test_no_sentence_skeleton_fills_more_than_half_the_weeks(year_weeks):
    """'The index's stocks priced here add up to ...' every week reads like a database:
    no sentence shape (figures, index names, days and verbs aside) in more than half."""
    seen: Counter[str] = Counter()
    for _, recap, _ in year_weeks:
        seen.update({_skeleton(s) for p in recap.narrative for s in prose_rules.sentences(p.text)})
    shape, weeks = seen.most_common(1)[0]
    assert weeks <= len(year_weeks) / 2, (weeks, shape)


def test_the_chip_trade_stays_flagged_in_the_weeks_it_falls(year_weeks):
    from recap.stories import tech_risk

    flagged = [(w, r) for w, r, _ in year_weeks if tech_risk(r)]
    assert any(r.risks.basket_week < 0 for _, r in flagged)  # flagged in a fall too
    for w, r in flagged:
        assert "This report flags chip stocks as a risk" in " ".join(r.paragraphs("risks")), w.end


def test_story_stays_short(year_weeks):
    """Half the words: the story, headline to conclusion, at most 700 words a week."""
    for w, r, _ in year_weeks:
        n = sum(len(p.text.split()) for p in r.narrative) + len((r.headline + " " + r.dek).split())
        assert n <= 700, (w.end, n)


def test_no_watchlist_leads_a_week_with_an_index_record_milestone_or_streak(year_weeks):
    for w, r, _ in year_weeks:
        stories = select_stories(r)
        if any(
            s.kind in ("milestone", "record", "streak")
            and s.score >= 6
            or s.kind in ("milestone", "streak")
            for s in stories
        ):
            assert stories[0].kind not in ("theme", "banks"), (w.end, r.headline)
            assert "Watchlist" not in r.headline


def test_a_cited_note_expires_a_year_after_its_date(year_weeks):
    """The shipped notes are dated 2021-04-01 and 2024-12-31: the first is never cited in
    2025, the second until 2025-12-31 and not after."""
    for w, r, _ in year_weeks:
        dates = {n.as_of for n in r.risks.notes}
        assert dt.date(2021, 4, 1) not in dates, w.end
        assert (dt.date(2024, 12, 31) in dates) == (w.end <= dt.date(2025, 12, 31)), w.end


def test_a_note_is_cited_only_from_its_date(reference_config):
    """A backfilled week cites no note published after it: in 2017 neither the 2021
    study nor the 2024 annual report; in 2021, from April, the study only."""
    from recap.sections import _risk_notes
    from recap.weeks import week_containing

    cited = {
        d: {n.as_of for n in _risk_notes(reference_config, week_containing(d))}
        for d in (dt.date(2017, 1, 27), dt.date(2021, 3, 26), dt.date(2021, 6, 4))
    }
    assert cited[dt.date(2017, 1, 27)] == set() and cited[dt.date(2021, 3, 26)] == set()
    assert cited[dt.date(2021, 6, 4)] == {dt.date(2021, 4, 1)}


def test_a_milestone_or_record_in_the_headline_is_told_in_the_body(year_weeks):
    told = 0
    for w, r, _ in year_weeks:
        body = _text(r)
        if "Record" in r.headline:
            told += 1
            assert "record" in body, (w.end, r.headline)
        if "for the First Time" in r.headline or " Tops " in r.headline:
            told += 1
            assert "for the first time" in body, (w.end, r.headline)
    assert told > 5


def test_a_lone_other_report_gives_its_result(year_weeks):
    """'Nvidia also reported.' told the reader nothing: one name alone gets its result."""
    found = 0
    for w, r, _ in year_weeks:
        for s in prose_rules.sentences(" ".join(r.paragraphs("sectors"))):
            if "also reported" in s and " and " not in s and "," not in s.split("also")[0]:
                found += 1
                assert "estimates" in s, (w.end, s)
    assert found
