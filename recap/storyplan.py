"""Content planning: what the week's prose says, as typed messages made of claims.

Each section's planner reads the facts and decides every sentence: which kind of message,
about which subjects, with which figures (claims) and which words sized to them (verbs,
"higher" or "lower", rank words). The templates under templates/narrative/ only turn a
message into words (recap/narrative.py); they decide nothing. The kinds are a closed set
(``Kind``): a kind with no phrasing in its section's template fails a test.

Order of the news (issue 18, EDITORIAL.md): the top story leads, then the index moves in
points and percent, the day that made the week, streaks and drawdowns; then where the
small-cap move came from, sectors and themes, banks, risks, the week ahead and what to
watch. A section with nothing to say says nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from recap import formatting as f
from recap import words
from recap.analytics.attribution import MIN_COVERAGE
from recap.claims import Claim, Closes, Measure, Source
from recap.model import (
    BankResult,
    IndexMove,
    PeriodAttribution,
    SectorContribution,
    SectorMove,
    StockContribution,
    Watchlist,
    WeeklyRecap,
)
from recap.stories import Story, earnings_movers, small_and_large, stated_share, tech_risk


class Kind(StrEnum):
    """Every kind of message the prose can hold (one template macro each)."""

    # the dek: one clause per story
    DEK_MILESTONE = "dek_milestone"
    DEK_RECORDS = "dek_records"
    DEK_MIDWEEK = "dek_midweek"
    DEK_MOVE = "dek_move"
    DEK_SPLIT = "dek_split"
    DEK_QUIET = "dek_quiet"
    DEK_STREAK = "dek_streak"
    DEK_DRAWDOWN = "dek_drawdown"
    DEK_DAY = "dek_day"
    DEK_SPREAD = "dek_spread"
    DEK_THEME = "dek_theme"
    DEK_EARNINGS = "dek_earnings"
    DEK_BANKS = "dek_banks"
    DEK_ROTATION = "dek_rotation"
    DEK_SWEEP = "dek_sweep"
    DEK_CONCENTRATION = "dek_concentration"
    DEK_DRIVERS = "dek_drivers"
    DEK_AHEAD = "dek_ahead"
    # the lead
    LEAD_MILESTONE = "lead_milestone"
    LEAD_RECORDS = "lead_records"
    LEAD_MIDWEEK = "lead_midweek"
    LEAD_MOVE = "lead_move"
    LEAD_SPLIT = "lead_split"
    LEAD_QUIET = "lead_quiet"
    LEAD_STREAK = "lead_streak"
    LEAD_DRAWDOWN = "lead_drawdown"
    LEAD_DAY = "lead_day"
    LEAD_SPREAD = "lead_spread"
    LEAD_THEME = "lead_theme"
    LEAD_EARNINGS = "lead_earnings"
    LEAD_BANKS = "lead_banks"
    LEAD_SECTORS = "lead_sectors"
    # the rest of the index story
    INDEX_POINTS = "index_points"
    SHORT_WEEK = "short_week"
    THROUGH = "through"
    BIG_DAY = "big_day"
    STREAK = "streak"
    DRAWDOWN = "drawdown"
    NEAR_HIGH = "near_high"
    OTHER_RECORDS = "other_records"
    MIDWEEK_RECORDS = "midweek_records"
    SMALL_VS_LARGE = "small_vs_large"
    YTD = "ytd"
    # where the small-cap move came from
    SP500_DRIVERS = "sp500_drivers"
    SECTOR_DRIVERS = "sector_drivers"
    STOCK_DRIVERS = "stock_drivers"
    BREADTH = "breadth"
    # sectors and themes
    SECTOR_FUNDS = "sector_funds"
    THEME = "theme"
    EARNINGS_MOVER = "earnings_mover"
    EARNINGS_OTHERS = "earnings_others"
    GAP = "gap"
    # banks
    BANK_TALLY = "bank_tally"
    BANK_REACTIONS = "bank_reactions"
    BANK_ONE = "bank_one"
    LARGE_BANKS = "large_banks"
    BANK_FUND = "bank_fund"
    BANK_NONE = "bank_none"
    BANK_NO_RESULTS = "bank_no_results"
    # risks
    CONCENTRATION = "concentration"
    YTD_DRIVERS = "ytd_drivers"
    NO_SHARE = "no_share"
    BASKET = "basket"
    BASKET_FLAG = "basket_flag"
    # beyond stocks
    MARKET_MOVE = "market_move"
    CO_MOVE = "co_move"
    # week ahead and the end
    AHEAD_SESSIONS = "ahead_sessions"
    AHEAD_EARNINGS = "ahead_earnings"
    AHEAD_NONE = "ahead_none"
    QUESTIONS = "questions"


@dataclass(frozen=True)
class Message:
    """One sentence's content: its kind, its figures (by role) and its words."""

    section: str
    kind: Kind
    claims: dict[str, Claim] = field(default_factory=dict)
    words: dict[str, Any] = field(default_factory=dict)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _flat(x: float) -> bool:
    """True when the figure prints as 0.00%: such a move is 'unchanged', never 'fell'."""
    return round(x * 10000) == 0


class Planner:
    """Builds the claims of one week; ``closes`` gives provenance values where the model
    does not hold them (a reaction's closes)."""

    def __init__(self, recap: WeeklyRecap, closes: Closes | None = None) -> None:
        self.recap = recap
        self.week = recap.week
        self._closes = closes
        self.pick = words.week_number(recap.week.end)
        self.lead_ticker = ""  # the stock whose move the lead told (said once)

    # ------------------------------------------------------------ words
    def verb(self, value: float, scale: str = words.INDEX, key: str = "") -> str:
        """A verb sized to ``value``; 'was unchanged' when it prints as 0.00%."""
        options = words.verb_options(value, scale)
        return words.choose(options, self.week.end, key) if key else options[0]

    def choose(self, key: str, *options: str) -> str:
        return words.choose(options, self.week.end, key)

    # ------------------------------------------------------------ claims
    def _close(self, series: str, day: dt.date | None, fallback: float) -> float:
        if self._closes is not None and day is not None:
            got = self._closes(series, day)
            if got is not None:
                return got
        return fallback

    def index_week(self, m: IndexMove, signed: bool = False) -> Claim:
        base = m.base_close if m.base_close is not None else m.close / (1 + m.week_return)
        return Claim(
            m.name,
            "index",
            m.symbol,
            Measure.RETURN,
            "week",
            m.week_return,
            f.signed(m.week_return) if signed else f.pct(m.week_return),
            (Source(m.symbol, self.week.end, m.close, self.week.base_date, base),),
        )

    def index_points(self, m: IndexMove) -> Claim:
        assert m.points is not None and m.base_close is not None
        src = Source(m.symbol, self.week.end, m.close, self.week.base_date, m.base_close)
        return Claim(
            m.name,
            "index",
            m.symbol,
            Measure.POINTS,
            "week",
            m.points,
            f.price(abs(m.points)),
            (src,),
        )

    def index_close(self, m: IndexMove) -> Claim:
        return Claim(
            m.name,
            "index",
            m.symbol,
            Measure.CLOSE,
            "week",
            m.close,
            f.price(m.close),
            (Source(m.symbol, self.week.end, m.close),),
        )

    def index_ytd(self, m: IndexMove) -> Claim:
        assert m.ytd_return is not None
        base = m.close / (1 + m.ytd_return)
        return Claim(
            m.name,
            "index",
            m.symbol,
            Measure.RETURN,
            "ytd",
            m.ytd_return,
            f.pct(m.ytd_return),
            (Source(m.symbol, self.week.end, m.close, m.ytd_base_date, base),),
        )

    def index_day(self, m: IndexMove) -> Claim:
        d = m.big_day
        assert d is not None
        prev = d.close - d.points
        before = [x.date for x in m.days if x.date < d.date]
        prev_day = before[-1] if before else self.week.base_date
        return Claim(
            m.name,
            "index",
            m.symbol,
            Measure.RETURN,
            "day",
            d.day_return,
            f.pct(d.day_return),
            (Source(m.symbol, d.date, d.close, prev_day, prev),),
        )

    def below_high(self, m: IndexMove) -> Claim:
        return Claim(
            m.name,
            "index",
            m.symbol,
            Measure.BELOW_HIGH,
            "52w",
            m.pct_below_52w_high,
            f.pct(m.pct_below_52w_high),
        )

    def fund_week(self, s: SectorMove, kind: str = "fund", signed: bool = True) -> Claim:
        # a fund whose closes stop inside the week is measured to its own last close
        end = s.through or self.week.end
        base = s.close / (1 + s.week_return)
        return Claim(
            s.name,
            kind,
            s.ticker,
            Measure.RETURN,
            "week",
            s.week_return,
            f.signed(s.week_return) if signed else f.pct(s.week_return),
            (Source(s.ticker, end, s.close, self.week.base_date, base),),
        )

    def contribution(
        self, who: SectorContribution | StockContribution, index: str, period: str
    ) -> Claim:
        value = who.contribution or 0.0
        if isinstance(who, SectorContribution):
            subject, key, kind = who.sector, who.sector, "sector"
        else:
            subject, key, kind = who.name, who.ticker, "stock"
        text = f.pp(value).lstrip("+-").replace(" pts", " percentage points")
        return Claim(subject, kind, key, Measure.CONTRIBUTION, period, value, text)

    def reaction(self, r: BankResult, signed: bool = False) -> Claim:
        assert r.reaction is not None
        sources: tuple[Source, ...] = ()
        if r.reaction_from is not None and r.reaction_to is not None:
            end = self._close(r.ticker, r.reaction_to, float("nan"))
            start = self._close(r.ticker, r.reaction_from, float("nan"))
            if end == end and start == start:
                sources = (Source(r.ticker, r.reaction_to, end, r.reaction_from, start),)
        return Claim(
            r.name,
            "stock",
            r.ticker,
            Measure.REACTION,
            "release",
            r.reaction,
            f.signed(r.reaction) if signed else f.pct(r.reaction),
            sources,
        )

    def surprise(self, r: BankResult) -> Claim:
        assert r.surprise is not None
        return Claim(
            r.name,
            "stock",
            r.ticker,
            Measure.SURPRISE,
            "release",
            r.surprise,
            f.pct(r.surprise, 1),
        )

    def count(self, subject: str, value: int, what: str = "") -> Claim:
        return Claim(
            subject, "breadth", what or subject, Measure.COUNT, "week", value, f.count(value)
        )


# ---------------------------------------------------------------- the lead and the dek


def _indexes_told_by(story: Story, recap: WeeklyRecap) -> set[str]:
    if story.kind in ("move", "quiet", "split"):
        return {m.symbol for m in recap.indexes}
    return {story.subject, story.index} - {""}


def _index(recap: WeeklyRecap, symbol: str) -> IndexMove | None:
    return next((m for m in recap.indexes if m.symbol == symbol), None)


def _market(recap: WeeklyRecap) -> IndexMove:
    _, large = small_and_large(recap)
    return large or recap.indexes[0]


def _since(day: dt.date, today: dt.date) -> str:
    return f"{day:%B}" if (today - day).days < 300 else f"{day:%B} {day.year}"


def _story_message(p: Planner, s: Story, section: str, lead: bool) -> Message | None:
    """The message that tells story ``s``: in the lead (a sentence) or the dek (a clause)."""
    r = p.recap
    market = _market(r)
    small, large = small_and_large(r)
    pre = "LEAD_" if lead else "DEK_"
    w: dict[str, Any] = {"market": market}
    c: dict[str, Claim] = {}
    kind = s.kind
    if kind == "milestone":
        m = _index(r, s.subject)
        if m is None or m.milestone is None or m.milestone_on is None:
            return None
        w.update(
            m=m,
            level=f"{m.milestone:,.0f}",
            day=f.weekday(m.milestone_on),
            held=m.close >= m.milestone,
            verb=p.verb(m.week_return),
        )
        c.update(close=p.index_close(m), week=p.index_week(m))
        return Message(section, Kind[pre + "MILESTONE"], c, w)
    if kind == "record":
        recs = [m for m in r.indexes if m.record_close]
        if recs:
            lead_m = max(recs, key=lambda m: (m.record_streak, m.week_return))
            w.update(
                recs=recs,
                m=lead_m,
                one=len(recs) == 1,
                streak=lead_m.record_streak,
                nth=words.ordinal_word(lead_m.record_streak),
                every=len(recs) == len(r.indexes),
                verb=p.verb(lead_m.week_return),
            )
            c.update(close=p.index_close(lead_m), week=p.index_week(lead_m))
            return Message(section, Kind[pre + "RECORDS"], c, w)
        m = _index(r, s.subject)
        if m is None or not m.record_sessions:
            return None
        w.update(
            m=m,
            day=f.weekday(m.record_sessions[-1]),
            days=words.join(f.weekday(d) for d in m.record_sessions),
            way="up" if m.week_return > 0 else "down",
            flat=_flat(m.week_return),
        )
        c.update(week=p.index_week(m))
        return Message(section, Kind[pre + "MIDWEEK"], c, w)
    if kind == "streak":
        m = _index(r, s.subject)
        if m is None:
            return None
        snapped = abs(m.snapped_streak) >= 4
        n = abs(m.snapped_streak) if snapped else abs(m.week_streak)
        w.update(
            m=m,
            verb=p.verb(m.week_return),
            snapped=snapped,
            nth=words.ordinal_word(n),
            n=words.number_word(n),
            up=m.week_return > 0,
            what="gain" if m.week_return > 0 else "decline",
            other="losing" if m.week_return > 0 else "winning",
        )
        c.update(week=p.index_week(m))
        return Message(section, Kind[pre + "STREAK"], c, w)
    if kind == "drawdown":
        m = _index(r, s.subject)
        if m is None:
            return None
        state, entered = drawdown_change(m)
        if not state or not entered:
            return None
        w.update(m=m, verb=p.verb(m.week_return), state=state, entered=entered)
        c.update(week=p.index_week(m), below=p.below_high(m))
        return Message(section, Kind[pre + "DRAWDOWN"], c, w)
    if kind == "day":
        m = _index(r, s.subject)
        if m is None or m.big_day is None:
            return None
        d = m.big_day
        since = (
            _since(m.larger_day_on, p.week.end)
            if m.larger_day_on is not None and m.sessions_since_larger_day >= 40
            else ""
        )
        w.update(
            m=m,
            day=f.weekday(d.date),
            day_verb=p.verb(d.day_return),
            verb=p.verb(m.week_return),
            best="best" if d.day_return > 0 else "worst",
            since=since,
            same=_sign(d.day_return) == _sign(m.week_return),
        )
        c.update(day=p.index_day(m), week=p.index_week(m))
        return Message(section, Kind[pre + "DAY"], c, w)
    if kind in ("move", "quiet"):
        moves = list(r.indexes)
        if kind == "quiet":
            w.update(
                m=market,
                flat=_flat(market.week_return),
                way="up" if market.week_return > 0 else "down",
                near=all(m.pct_below_52w_high <= 0.02 for m in moves),
                word=p.choose("quiet", "barely moved", "drifted", "were little changed"),
            )
            c.update(week=p.index_week(market))
            return Message(section, Kind[pre + "QUIET"], c, w)
        signs = {_sign(m.week_return) for m in moves}
        if len(signs) == 1:
            since = (
                _since(market.larger_move_on, p.week.end)
                if market.larger_move_on is not None and market.weeks_since_larger >= 8
                else ""
            )
            best = max(moves, key=lambda m: abs(m.week_return))
            w.update(
                m=market,
                verb=p.verb(market.week_return, key="lead-move"),
                since=since,
                kind="best" if market.week_return > 0 else "worst",
                way="higher" if market.week_return > 0 else "lower",
                top=best,
                top_verb=p.verb(best.week_return),
                top_is_market=best is market,
            )
            c.update(week=p.index_week(market), top=p.index_week(best))
            return Message(section, Kind[pre + "MOVE"], c, w)
        up = max(moves, key=lambda m: m.week_return)
        down = min(moves, key=lambda m: m.week_return)
        w.update(
            up=up, down=down, up_verb=p.verb(up.week_return), down_verb=p.verb(down.week_return)
        )
        c.update(up=p.index_week(up), down=p.index_week(down))
        return Message(section, Kind[pre + "SPLIT"], c, w)
    if kind == "spread":
        svl = r.small_vs_large
        if svl is None or small is None or large is None:
            return None
        w.update(
            small=small,
            large=large,
            verb=p.verb(small.week_return),
            large_verb=p.verb(large.week_return),
            relation=_relation(small, large),
            since=_since(svl.wider_on, p.week.end)
            if svl.wider_on and svl.weeks_since_wider >= 8
            else "",
            streak=svl.positive_streak_weeks,
            nth=words.ordinal_word(svl.positive_streak_weeks),
        )
        c.update(
            small=p.index_week(small),
            large=p.index_week(large),
            spread=_spread_claim(small, large, svl.spread),
        )
        return Message(section, Kind[pre + "SPREAD"], c, w)
    if kind == "theme" and r.sectors is not None:
        wl = next((x for x in r.sectors.watchlists if x.name == s.subject), None)
        if wl is None or not wl.members:
            return None
        star = wl.members[0] if wl.week_return > 0 else wl.members[-1]
        same = all(_sign(x.week_return) == _sign(wl.week_return) for x in wl.members)
        w.update(
            wl=wl,
            n=len(wl.members),
            verb=p.verb(wl.week_return, words.STOCK),
            every=same,
            way="higher" if wl.week_return > 0 else "lower",
            best=star,
            led="led by" if wl.week_return > 0 else "with the worst from",
            name=theme_noun(wl.name),
        )
        c.update(avg=_basket_claim(p, wl), best=p.fund_week(star, "stock"))
        return Message(section, Kind[pre + "THEME"], c, w)
    if kind == "earnings":
        movers = earnings_movers(r)
        res = next((x for x in movers if x.ticker == s.subject), None)
        if res is None or res.reaction is None:
            return None
        w.update(
            res=res,
            verb=p.verb(res.reaction, words.STOCK),
            result=_result_short(res),
            more=len(movers) > 1,
            when=_reaction_when(res),
        )
        c.update(reaction=p.reaction(res))
        return Message(section, Kind[pre + "EARNINGS"], c, w)
    if kind == "banks" and r.banks is not None:
        group = r.banks.reported if s.subject == "regional" else r.banks.large
        rs = sorted(
            (x for x in group if x.reaction is not None and x.outcome != "not reported"),
            key=lambda x: x.reaction or 0.0,
        )
        if len(rs) < 2:
            return None
        w.update(
            who="regional bank" if s.subject == "regional" else "big-bank",
            moved="diverged" if s.direction == 0 else "rose" if s.direction > 0 else "fell",
            best=rs[-1],
            worst=rs[0],
        )
        c.update(best=p.reaction(rs[-1], True), worst=p.reaction(rs[0], True))
        return Message(section, Kind[pre + "BANKS"], c, w)
    if kind in ("rotation", "sweep") and r.sectors is not None and r.sectors.sectors:
        b, wst = r.sectors.sectors[0], r.sectors.sectors[-1]
        if kind == "sweep":
            fund = next((x for x in r.sectors.sectors if x.ticker == s.subject), b)
            w.update(
                sweep=True,
                n=len(r.sectors.sectors),
                m=fund,
                moved="rose" if s.direction > 0 else "fell",
            )
            c.update(m=p.fund_week(fund))
            return Message(section, Kind[pre + "SWEEP" if not lead else "LEAD_SECTORS"], c, w)
        w.update(
            sweep=False, b=b, wst=wst, b_verb=p.verb(b.week_return), w_verb=p.verb(wst.week_return)
        )
        c.update(b=p.fund_week(b, signed=False), w=p.fund_week(wst, signed=False))
        return Message(section, Kind[pre + "ROTATION" if not lead else "LEAD_SECTORS"], c, w)
    if not lead and kind == "concentration" and r.risks is not None:
        x = r.risks
        share = stated_share(r)
        if share is None:
            return None
        w.update(sectors=words.join(x.concentration_sectors), index=x.index_label)
        c.update(
            share=Claim(
                x.index_label, "index", x.index_label, Measure.SHARE, "ytd", share, f.pct(share, 0)
            )
        )
        return Message(section, Kind.DEK_CONCENTRATION, c, w)
    if not lead and kind == "drivers" and r.attribution and r.attribution.week:
        lead_s, _ = leading_sectors(r.attribution.week, 2)
        if not lead_s:
            return None
        adds = r.attribution.week.contributions_total >= 0
        w.update(
            sectors=words.join(words.sector_word(x.sector) for x in lead_s),
            added="added" if adds else "subtracted",
            to="to" if adds else "from",
            index=r.attribution.index,
        )
        return Message(section, Kind.DEK_DRIVERS, c, w)
    if not lead and kind == "ahead" and r.week_ahead is not None:
        nxt = r.week_ahead
        names = [e.name for e in nxt.earnings]
        if not names and not nxt.week.holidays:
            return None
        w.update(
            names=words.join(
                names[:2]
                + ([f"{words.number_word(len(names) - 2)} more"] if len(names) > 2 else [])
            ),
            holiday=words.join(_holiday_names(nxt.week)),
        )
        return Message(section, Kind.DEK_AHEAD, c, w)
    return None


def _holiday_names(week: Any) -> list[str]:
    from recap.weeks import holiday_names

    return [words.holiday(d, n) for d, n in holiday_names(week).items()]


def theme_noun(name: str) -> str:
    """A watchlist's name as a noun before 'stocks': 'Regional banks' -> 'regional bank',
    'AI hardware' -> 'AI hardware'."""
    first, _, rest = name.partition(" ")
    if not first.isupper():
        first = first.lower()
    text = f"{first} {rest}".strip()
    return text[:-1] if text.endswith("s") and not text.endswith("ss") else text


def _relation(small: IndexMove, large: IndexMove) -> str:
    """How small caps did against large caps, in words that fit both signs."""
    sp = small.week_return - large.week_return
    if f.pp(sp, 1).lstrip("+-").startswith("0.0 "):
        return "pace"
    if small.week_return > 0 and large.week_return > 0:
        return "beat" if sp > 0 else "trailed"
    if small.week_return <= 0 and large.week_return <= 0:
        return "fell_less" if sp > 0 else "fell_more"
    return "rose_while" if small.week_return > 0 else "fell_while"


def _spread_claim(small: IndexMove, large: IndexMove, spread: float) -> Claim:
    return Claim(
        "small caps against large caps",
        "index",
        f"{small.symbol}-{large.symbol}",
        Measure.SPREAD,
        "week",
        spread,
        f.pp(spread, 1).lstrip("+-").replace(" pts", " percentage points"),
    )


def _basket_claim(p: Planner, wl: Watchlist) -> Claim:
    return Claim(
        wl.name, "basket", wl.name, Measure.RETURN, "week", wl.week_return, f.pct(wl.week_return)
    )


def _result_short(r: BankResult) -> str:
    return {
        "beat": "results that beat estimates",
        "miss": "results that missed estimates",
        "in line": "results in line with estimates",
    }.get(r.outcome, "its results")


def eps_words(r: BankResult) -> bool:
    """Say the result in dollars a share, not as a surprise in percent: for a small or
    negative estimate, a loss, or a surprise of 100% or more (a percent would mislead)."""
    return (
        r.outcome in ("beat", "miss")
        and r.eps_estimate is not None
        and r.eps_actual is not None
        and (
            abs(r.eps_estimate) < 0.10
            or r.eps_actual < 0
            or r.surprise is None
            or abs(r.surprise) >= 1
        )
    )


def eps_claims(r: BankResult) -> dict[str, Claim]:
    """The result's actual and estimated EPS as claims."""
    assert r.eps_actual is not None and r.eps_estimate is not None
    return {
        "actual": Claim(
            r.name,
            "stock",
            r.ticker,
            Measure.EPS,
            "release",
            r.eps_actual,
            f.eps(abs(r.eps_actual)),
        ),
        "estimate": Claim(
            r.name,
            "stock",
            r.ticker,
            Measure.EPS,
            "release",
            r.eps_estimate,
            f.eps(abs(r.eps_estimate)),
        ),
    }


def _reaction_when(r: BankResult) -> str:
    if r.release_time == "after the close":
        return "the next session"
    if r.release_time == "time unknown":
        return "unknown"
    return "that day"


def leading_sectors(
    period: PeriodAttribution, n: int = 3
) -> tuple[tuple[SectorContribution, ...], SectorContribution | None]:
    """The sectors that moved the index most in the direction of its move (up to ``n``),
    and the one that pushed hardest the other way (None when none did)."""
    rows = [s for s in period.sectors if s.contribution is not None]
    up = period.contributions_total >= 0
    same = [s for s in rows if (s.contribution or 0.0) * (1 if up else -1) > 0]
    other = [s for s in rows if (s.contribution or 0.0) * (1 if up else -1) < 0]
    same.sort(key=lambda s: -abs(s.contribution or 0.0))
    other.sort(key=lambda s: -abs(s.contribution or 0.0))
    same = [s for s in same if round((s.contribution or 0.0) * 10000)]
    other = [s for s in other if round((s.contribution or 0.0) * 10000)]
    return tuple(same[:n]), (other[0] if other else None)


# ---------------------------------------------------------------- the sections


def plan_dek(p: Planner, stories: Sequence[Story], told: Callable[[Story], bool]) -> list[Message]:
    """Up to two clauses: the next stories the headline and the lead leave untold."""
    if not stories:
        return []
    top = stories[0]
    lead_tells = _indexes_told_by(top, p.recap)
    said: set[tuple[str, str, str]] = set()
    lead = _story_message(p, top, "indexes", lead=True)
    if lead is not None:
        said = {(c.key, c.measure.value, c.period) for c in lead.claims.values()}
        said |= {(m, "return", "week") for m in lead_tells}
    out: list[Message] = []
    for s in stories[1:]:
        if len(out) == 2:
            break
        if told(s) or s.kind == top.kind:
            continue
        if s.kind in ("move", "quiet") and top.kind in ("move", "quiet"):
            continue
        if (
            s.kind in ("record", "milestone", "streak", "day", "drawdown")
            and s.subject in lead_tells
            and top.kind in ("record", "milestone", "streak", "day", "drawdown")
        ):
            continue
        msg = _story_message(p, s, "dek", lead=False)
        if msg is None:
            continue
        keys = {(c.key, c.measure.value, c.period) for c in msg.claims.values()}
        if keys & said:
            continue  # the lead or an earlier clause says it already
        said |= keys
        out.append(msg)
    return out


def plan_lead(p: Planner, stories: Sequence[Story]) -> list[Message]:
    """The lead: the top story in one sentence, what happened and why."""
    r = p.recap
    for s in stories:
        msg = _story_message(p, s, "indexes", lead=True)
        if msg is not None:
            subject = msg.words.get("m")
            market = _market(r)
            if s.kind not in ("move", "quiet", "spread") and subject is not market:
                market = _market(r)
                msg.words["context"] = market
                msg.words["context_verb"] = p.verb(market.week_return)
                msg.claims["context"] = p.index_week(market)
            _add_why(p, msg, s)
            return [msg]
    if r.indexes:
        m = _market(r)
        return [
            Message(
                "indexes",
                Kind.LEAD_MOVE,
                {"week": p.index_week(m), "top": p.index_week(m)},
                {
                    "m": m,
                    "verb": p.verb(m.week_return),
                    "since": "",
                    "kind": "",
                    "way": "higher" if m.week_return > 0 else "lower",
                    "top": m,
                    "top_verb": p.verb(m.week_return),
                    "top_is_market": True,
                },
            )
        ]
    return []


def _add_why(p: Planner, msg: Message, s: Story) -> None:
    """The lead's 'why': for small caps, the sector whose own stocks moved the index most
    (exact attribution only); never a sector fund's return as a cause."""
    r = p.recap
    small, _ = small_and_large(r)
    a = r.attribution
    subject = msg.words.get("m")
    if small is None or subject is not small or a is None or a.week is None:
        return
    assert isinstance(small, IndexMove)
    if a.method == "estimate":
        return
    lead_s, _ = leading_sectors(a.week, 2)
    if not lead_s or _sign(a.week.contributions_total) != _sign(small.week_return):
        return
    msg.words["why"] = words.join(words.sector_word(x.sector) for x in lead_s)
    msg.words["why_verb"] = "added" if a.week.contributions_total >= 0 else "subtracted"


def plan_indexes(p: Planner, top: Story | None, told: Collection[str] = ()) -> list[Message]:
    """The index story after the lead: points and percent, the day that made the week,
    streaks, drawdowns, records, small against large caps, the year so far."""
    r = p.recap
    out: list[Message] = []
    # ``told``: the indexes whose week the lead gave (by symbol)
    market = _market(r)
    small, large = small_and_large(r)
    if r.week.missing_sessions:
        out.append(
            Message(
                "indexes",
                Kind.THROUGH,
                {},
                {
                    "last": f.weekday(r.week.end),
                    "missing": words.join(f.weekday(d) for d in r.week.missing_sessions),
                },
            )
        )
    if r.week.holidays or r.week.early_closes:
        out.append(
            Message(
                "indexes",
                Kind.SHORT_WEEK,
                {},
                {
                    "sessions": words.number_word(r.week.sessions),
                    "holidays": words.join(_holiday_names(r.week)),
                    "early": words.join(f.weekday(d) for d in r.week.early_closes),
                },
            )
        )
    # points and percent, the market first
    for m in sorted(r.indexes, key=lambda m: m is not market):
        if m.points is None or m.is_proxy:
            continue
        out.append(
            Message(
                "indexes",
                Kind.INDEX_POINTS,
                {"points": p.index_points(m), "week": p.index_week(m), "close": p.index_close(m)},
                {
                    "m": m,
                    "verb": p.verb(m.week_return),
                    "flat": _flat(m.week_return),
                    "way": "up" if m.week_return > 0 else "down",
                    "noun": "gain" if m.week_return > 0 else "loss",
                },
            )
        )
        if m.symbol in told and m is not market:
            out.pop()  # the lead told it
    out += _sp500_drivers(p)
    # the day that made the week
    days = [m for m in r.indexes if m.big_day is not None]
    if days and not (top and top.kind == "day"):
        m = max(days, key=lambda m: abs(m.big_day.day_return if m.big_day else 0.0))
        d = m.big_day
        assert d is not None
        if abs(d.day_return) >= 0.01 and abs(d.day_return) >= 0.5 * abs(m.week_return):
            msg = _story_message(
                p, Story("day", 0, m.symbol, _sign(d.day_return), ()), "indexes", lead=False
            )
            if msg is not None:
                out.append(Message("indexes", Kind.BIG_DAY, msg.claims, msg.words))
    # streaks
    for m in r.indexes:
        if top and top.kind == "streak" and top.subject == m.symbol:
            continue
        if abs(m.week_streak) >= 4 or abs(m.snapped_streak) >= 4:
            snapped = abs(m.snapped_streak) >= 4
            n = abs(m.snapped_streak) if snapped else abs(m.week_streak)
            out.append(
                Message(
                    "indexes",
                    Kind.STREAK,
                    {},
                    {
                        "m": m,
                        "snapped": snapped,
                        "nth": words.ordinal_word(n),
                        "n": words.number_word(n),
                        "up": m.week_return > 0,
                        "other": "losing" if m.week_return > 0 else "winning",
                    },
                )
            )
            break
    # records not told in the lead
    recs = [m for m in r.indexes if m.record_close]
    if recs and not (top and top.kind in ("record",)):
        rest = [
            m for m in recs if not (top and top.kind == "milestone" and top.subject == m.symbol)
        ]
        if rest:
            out.append(Message("indexes", Kind.OTHER_RECORDS, {}, {"recs": rest}))
    mid = [m for m in r.indexes if m.record_sessions and not m.record_close]
    if mid and not (top and top.kind == "record" and not recs):
        for m in mid[:1]:
            out.append(
                Message(
                    "indexes",
                    Kind.MIDWEEK_RECORDS,
                    {},
                    {
                        "m": m,
                        "days": words.join(f.weekday(d) for d in m.record_sessions),
                        "one": len(m.record_sessions) == 1,
                    },
                )
            )
    # drawdowns: entered, left, or standing
    for m in r.indexes:
        if top and top.kind == "drawdown" and top.subject == m.symbol:
            continue
        state, entered = drawdown_change(m)
        if state and entered:
            out.append(
                Message(
                    "indexes",
                    Kind.DRAWDOWN,
                    {"below": p.below_high(m)},
                    {"m": m, "state": state, "entered": entered},
                )
            )
    # small caps against large caps (never in the same sentence as a sector's rank)
    if r.small_vs_large and small and large and not (top and top.kind == "spread"):
        svl = r.small_vs_large
        out.append(
            Message(
                "indexes",
                Kind.SMALL_VS_LARGE,
                {"spread": _spread_claim(small, large, svl.spread)},
                {
                    "relation": _relation(small, large),
                    "streak": svl.positive_streak_weeks,
                    "nth": words.ordinal_word(svl.positive_streak_weeks),
                    "n": words.number_word(svl.positive_streak_weeks),
                },
            )
        )
    # the year so far, unless the week is the year's first (its move is the year's)
    ytd = [m for m in r.indexes if m.ytd_return is not None and m.ytd_base_date != r.week.base_date]
    if ytd:
        ups = sorted(
            (m for m in ytd if (m.ytd_return or 0) > 0 and not _flat(m.ytd_return or 0)),
            key=lambda m: -(m.ytd_return or 0.0),
        )
        downs = sorted(
            (m for m in ytd if (m.ytd_return or 0) < 0 and not _flat(m.ytd_return or 0)),
            key=lambda m: m.ytd_return or 0.0,
        )
        flat = [m for m in ytd if _flat(m.ytd_return or 0)]
        claims = {f"y{i}": p.index_ytd(m) for i, m in enumerate(ups + downs)}
        out.append(
            Message(
                "indexes",
                Kind.YTD,
                claims,
                {
                    "ups": ups,
                    "downs": downs,
                    "flat": flat,
                    "opener": p.choose(
                        "ytd", "Year to date, ", "For the year, ", "Since the start of the year, "
                    ),
                },
            )
        )
    return out


def _sp500_drivers(p: Planner) -> list[Message]:
    """Why the S&P 500 moved, from its own stocks in index points: the stock that moved it
    most either way (so "the most of any stock" holds), and the largest the other way
    (only above the attribution's coverage gate, where the figures exist)."""
    a = p.recap.sp500_attribution
    week = a.week if a is not None else None
    if week is None or not week.top or not week.bottom:
        return []
    lead, other = week.top[0], week.bottom[0]
    if abs(getattr(other, "points", 0.0)) > abs(getattr(lead, "points", 0.0)):
        lead, other = other, lead
    up = lead.contribution > 0
    if _sign(other.contribution) != (-1 if up else 1):
        return []

    def claims(x: Any, role: str) -> dict[str, Claim]:
        pts = getattr(x, "points", 0.0)
        wk = p.week
        end = p._close(x.ticker, wk.end, math.nan)
        start = p._close(x.ticker, wk.base_date, math.nan)
        src = (
            ()
            if math.isnan(end) or math.isnan(start)
            else (Source(x.ticker, wk.end, end, wk.base_date, start),)
        )
        ret = Claim(
            x.name,
            "stock",
            x.ticker,
            Measure.RETURN,
            "week",
            x.stock_return,
            f.pct(x.stock_return),
            src,
        )
        points = Claim(
            x.name, "stock", x.ticker, Measure.CONTRIBUTION, "week", pts, f.price(abs(pts))
        )
        return {f"{role}_ret": ret, f"{role}_pts": points}

    c = claims(lead, "lead")
    w: dict[str, Any] = {
        "lead": lead,
        "lead_noun": "gain" if lead.stock_return > 0 else "drop",
        "took": "added" if up else "took",
        "off": "to" if up else "off",
    }
    if round(abs(getattr(other, "points", 0.0)), 2):
        c.update(claims(other, "other"))
        w.update(other=other, other_did="subtracted" if up else "added")
    return [Message("indexes", Kind.SP500_DRIVERS, c, w)]


DRAWDOWNS = (("bear market", 0.2), ("correction", 0.1))
# From this many regional-bank reports in a week, the prose gives the tally and the range
# of reactions, not a sentence for each bank (the table has every one).
BANKS_IN_SUMMARY = 4


def drawdown_change(m: IndexMove) -> tuple[str, bool | None]:
    """('correction', True) when the index entered a correction this week, (.., False) when
    it left one, ('correction', None) when it stayed in one, ('', None) when in none."""
    prior = m.prior_below_52w_high
    now = m.pct_below_52w_high
    for name, floor in DRAWDOWNS:
        if now >= floor and (prior is None or prior < floor):
            return name, True
        if prior is not None and prior >= floor and now < floor:
            return name, False
        if now >= floor:
            return name, None
    return "", None


def plan_attribution(p: Planner) -> list[Message]:
    """Where the small-cap move came from: sectors, stocks, breadth."""
    r = p.recap
    a = r.attribution
    out: list[Message] = []
    if a is not None and a.week is not None:
        period = a.week
        lead_s, counter = leading_sectors(period, 2)
        up = period.contributions_total >= 0
        if lead_s:
            claims = {f"s{i}": p.contribution(x, a.index, "week") for i, x in enumerate(lead_s)}
            w: dict[str, Any] = {
                "index": a.index,
                "estimate": a.method == "estimate",
                "added": "added" if up else "subtracted",
                "to": "to" if up else "from",
                "sectors": [words.sector_word(x.sector) for x in lead_s],
            }
            if counter is not None:
                claims["counter"] = p.contribution(counter, a.index, "week")
                w["counter"] = words.sector_word(counter.sector)
                w["counter_added"] = "subtracted" if up else "added"
            out.append(Message("attribution", Kind.SECTOR_DRIVERS, claims, w))
        if period.top and a.method != "estimate":
            top_s = period.top[0]
            claims = {"top": p.contribution(top_s, a.index, "week")}
            w = {"top": top_s, "index": a.index}
            if period.bottom:
                claims["bottom"] = p.contribution(period.bottom[0], a.index, "week")
                w["bottom"] = period.bottom[0]
            out.append(Message("attribution", Kind.STOCK_DRIVERS, claims, w))
    mb = r.market_breadth
    if mb is not None and mb.names:
        index = a.index if a else "index"
        out.append(
            Message(
                "attribution",
                Kind.BREADTH,
                {
                    "adv": p.count("advancers", mb.advancers),
                    "dec": p.count("decliners", mb.decliners),
                    "names": p.count("stocks", mb.names),
                    "highs": p.count("highs", mb.new_highs_52w),
                    "lows": p.count("lows", mb.new_lows_52w),
                },
                {"index": index},
            )
        )
    return out


def plan_sectors(p: Planner) -> list[Message]:
    """Sector funds, themes, earnings movers, and what has no data."""
    r = p.recap
    s = r.sectors
    out: list[Message] = []
    for g in r.gaps:
        if g.section == "sectors" and g.subject in ("sector funds", "industry funds"):
            out.append(
                Message(
                    "sectors",
                    Kind.GAP,
                    {},
                    {
                        "g": g,
                        "fund": True,
                        "table": "sector" if g.subject == "sector funds" else "industry",
                        "n": words.number_word(len(g.tickers)),
                        "members": words.number_word(g.members),
                    },
                )
            )
    if s is not None and len(s.sectors) >= 2:
        n = min(2, len(s.sectors) // 2)
        top, bottom = list(s.sectors[:n]), list(reversed(s.sectors[-n:]))
        every = (
            (all(x.week_return > 0 for x in s.sectors) and "rose")
            or (all(x.week_return < 0 for x in s.sectors) and "fell")
            or ""
        )
        winners = [x for x in top if x.week_return > 0] if not every else top
        losers = [x for x in bottom if x.week_return < 0] if not every else bottom
        if winners and losers:
            claims = {f"t{i}": p.fund_week(x) for i, x in enumerate(winners)}
            claims.update({f"b{i}": p.fund_week(x) for i, x in enumerate(losers)})
            out.append(
                Message(
                    "sectors",
                    Kind.SECTOR_FUNDS,
                    claims,
                    {
                        "every": every,
                        "winners": winners,
                        "losers": losers,
                        "led": p.choose("sectors-led", "led", "did best"),
                        "lagged": p.choose("sectors-lag", "fell most", "lagged"),
                    },
                )
            )
    if s is not None:
        basket = r.risks.basket if r.risks else ""
        for wl in s.watchlists:
            if not wl.members or (abs(wl.week_return) < 0.02 and wl.name != basket):
                continue
            msg = _story_message(
                p, Story("theme", 0, wl.name, _sign(wl.week_return), ()), "sectors", lead=False
            )
            if msg is not None:
                lacking = [g for g in r.gaps if g.subject == f"the {wl.name} watchlist"]
                msg.words["of"] = lacking[0].members if lacking else 0
                out.append(Message("sectors", Kind.THEME, msg.claims, msg.words))
    told: set[str] = set()
    for g in r.gaps:
        if (
            g.section == "sectors"
            and g.subject.endswith("watchlist")
            and g.left_out
            and g.subject not in told
        ):
            told.add(g.subject)
            missing = sum(len(x.tickers) for x in r.gaps if x.subject == g.subject)
            out.append(
                Message(
                    "sectors",
                    Kind.GAP,
                    {},
                    {
                        "g": g,
                        "fund": False,
                        "priced": g.members - missing,
                        "name": theme_noun(
                            g.subject.removeprefix("the ").removesuffix(" watchlist")
                        ),
                    },
                )
            )
    bank_group = r.banks.watchlist if r.banks else ""
    reported = [x for x in r.earnings if x.group not in ("Large banks", bank_group)]
    movers = [x for x in reported if x.reaction is not None and x.outcome != "not reported"]
    for res in movers[:2]:
        assert res.reaction is not None
        claims = {"reaction": p.reaction(res)}
        dollars = eps_words(res)
        if dollars:
            claims.update(eps_claims(res))
        elif res.surprise is not None and res.outcome in ("beat", "miss"):
            claims["surprise"] = p.surprise(res)
        out.append(
            Message(
                "sectors",
                Kind.EARNINGS_MOVER,
                claims,
                {
                    "res": res,
                    "verb": p.verb(res.reaction, words.STOCK),
                    "when": _reaction_when(res),
                    "told": res.ticker == p.lead_ticker,
                    "outcome": res.outcome,
                    "by": "surprise" in claims,
                    "dollars": dollars,
                    "lost": bool(res.eps_actual is not None and res.eps_actual < 0),
                    "expected_loss": bool(res.eps_estimate is not None and res.eps_estimate < 0),
                },
            )
        )
    rest = [x for x in reported if x not in movers[:2]]
    if rest:
        out.append(
            Message(
                "sectors",
                Kind.EARNINGS_OTHERS,
                {},
                {
                    "names": words.join(x.name for x in rest[:4]),
                    "more": words.number_word(len(rest) - 4) if len(rest) > 4 else "",
                    # One name alone gets its result ("Nvidia also reported." said nothing).
                    "outcome": rest[0].outcome if len(rest) == 1 else "",
                },
            )
        )
    return out


def plan_banks(p: Planner) -> list[Message]:
    """Results and reactions told apart: who beat, who missed, how the shares moved."""
    r = p.recap
    k = r.banks
    unread = [m.ticker for m in r.data.earnings_missing if m.bank]
    out: list[Message] = []
    if k is None:
        return (
            [
                Message(
                    "banks",
                    Kind.BANK_NONE,
                    {},
                    {"unread": words.join(unread[:5]), "many": len(unread) > 5},
                )
            ]
            if unread
            else []
        )
    figures = [x for x in k.reported if x.outcome != "not reported"]
    if not k.reported:
        out.append(Message("banks", Kind.BANK_NO_RESULTS, {}, {"unread": bool(unread)}))
    if len(figures) >= BANKS_IN_SUMMARY:
        tally = {o: sum(1 for x in figures if x.outcome == o) for o in ("beat", "miss", "in line")}
        n = len(figures)
        parts = []
        for o, word in (("beat", "beat estimates"), ("miss", "missed"), ("in line", "matched")):
            if tally[o]:
                which = (
                    f"all {words.number_word(n)}" if tally[o] == n else words.number_word(tally[o])
                )
                parts.append(f"{which} {word}")
        bare = [x.name for x in k.reported if x.outcome == "not reported"]
        out.append(
            Message(
                "banks",
                Kind.BANK_TALLY,
                {},
                {"n": words.number_word(n), "parts": parts, "bare": words.join(bare)},
            )
        )
        priced = sorted(
            (x for x in figures if x.reaction is not None), key=lambda x: x.reaction or 0.0
        )
        if len(priced) >= 2:
            ups = sum(1 for x in priced if (x.reaction or 0) > 0 and not _flat(x.reaction or 0))
            downs = sum(1 for x in priced if (x.reaction or 0) < 0 and not _flat(x.reaction or 0))
            big = max(abs(x.reaction or 0.0) for x in priced)
            # "broadly higher" needs most moving one way and a move worth the name
            if ups and downs:
                way = "split"
            elif big < 0.01:
                way = "barely moved"
            else:
                way = "rose" if ups else "fell"
            out.append(
                Message(
                    "banks",
                    Kind.BANK_REACTIONS,
                    {"best": p.reaction(priced[-1], True), "worst": p.reaction(priced[0], True)},
                    {"way": way, "best": priced[-1], "worst": priced[0]},
                )
            )
    else:
        for x in k.reported:
            claims: dict[str, Claim] = {}
            if x.reaction is not None and x.outcome != "not reported":
                claims["reaction"] = p.reaction(x)
            dollars = eps_words(x)
            if dollars:
                claims.update(eps_claims(x))
            elif x.surprise is not None and x.outcome in ("beat", "miss"):
                claims["surprise"] = p.surprise(x)
            out.append(
                Message(
                    "banks",
                    Kind.BANK_ONE,
                    claims,
                    {
                        "dollars": dollars,
                        "lost": bool(x.eps_actual is not None and x.eps_actual < 0),
                        "expected_loss": bool(x.eps_estimate is not None and x.eps_estimate < 0),
                        "res": x,
                        "day": f.weekday(x.report_date),
                        "outcome": x.outcome,
                        "verb": p.verb(x.reaction, words.STOCK) if x.reaction is not None else "",
                        "when": _reaction_when(x),
                        "by": "surprise" in claims,
                        "pending": x.reaction_pending,
                    },
                )
            )
    large = [
        x for x in k.large if x.reaction is not None and x.outcome in ("beat", "miss", "in line")
    ]
    if large:
        groups = []
        for outcome, sign, what in (
            ("beat", 1, "beat estimates and rose"),
            ("miss", -1, "missed estimates and fell"),
            ("beat", -1, "fell despite beating estimates"),
            ("miss", 1, "rose despite missing estimates"),
        ):
            items = sorted(
                (
                    x
                    for x in large
                    if x.outcome == outcome
                    and _sign(x.reaction or 0) == sign
                    and not _flat(x.reaction or 0)
                ),
                key=lambda x: -abs(x.reaction or 0.0),
            )
            if items:
                groups.append((items, what))
        claims = {f"l{x.ticker}": p.reaction(x, True) for items, _ in groups for x in items}
        if groups:
            out.append(Message("banks", Kind.LARGE_BANKS, claims, {"groups": groups}))
    if k.kre_week_return is not None and k.reported:
        out.append(
            Message(
                "banks",
                Kind.BANK_FUND,
                {
                    "kre": Claim(
                        "KRE",
                        "fund",
                        "KRE",
                        Measure.RETURN,
                        "week",
                        k.kre_week_return,
                        f.pct(k.kre_week_return),
                    )
                },
                {"verb": p.verb(k.kre_week_return)},
            )
        )
    if unread:
        out.append(
            Message(
                "banks",
                Kind.BANK_NONE,
                {},
                {"unread": words.join(unread[:5]), "many": len(unread) > 5},
            )
        )
    return out


def plan_risks(p: Planner) -> list[Message]:
    """Concentration of the year's gains and the chip trade, flagged both ways."""
    r = p.recap
    x = r.risks
    out: list[Message] = []
    if x is None:
        return out
    small, _ = small_and_large(r)
    ytd = r.attribution.ytd if r.attribution else None
    estimated = bool(r.attribution and r.attribution.method == "estimate")
    share = stated_share(r)
    if share is not None and small:
        out.append(
            Message(
                "risks",
                Kind.CONCENTRATION,
                {
                    "share": Claim(
                        x.index_label,
                        "index",
                        x.index_label,
                        Measure.SHARE,
                        "ytd",
                        share,
                        f.pct(share, 1 if f.pct(share, 0) == f.pct(x.share_threshold, 0) else 0),
                    )
                },
                {
                    "sectors": words.join(words.sector_word(s) for s in x.concentration_sectors),
                    "index": x.index_label,
                    "estimated": estimated,
                    "flag": "above"
                    if share > x.share_threshold
                    else ("hhi" if x.concentration_flagged else "below"),
                    "threshold": f.pct(x.share_threshold, 0),
                },
            )
        )
    elif ytd is not None and small is not None and small.ytd_return is not None:
        lead_s, _ = leading_sectors(ytd, 2)
        if lead_s:
            claims = {
                f"s{i}": p.contribution(s, x.index_label, "ytd") for i, s in enumerate(lead_s)
            }
            up = ytd.contributions_total > 0 and small.ytd_return > 0
            reason = ""
            if up and ytd.coverage < MIN_COVERAGE:
                reason = "coverage"
            elif up and ytd.residual is None:
                reason = "fund"
            elif up:
                reason = "residual"
            out.append(
                Message(
                    "risks",
                    Kind.YTD_DRIVERS,
                    claims,
                    {
                        "sectors": [words.sector_word(s.sector) for s in lead_s],
                        "index": x.index_label,
                        "added": "added" if ytd.contributions_total >= 0 else "subtracted",
                        "to": "to" if ytd.contributions_total >= 0 else "from",
                        "estimated": estimated,
                    },
                )
            )
            if reason:
                out.append(Message("risks", Kind.NO_SHARE, {}, {"reason": reason}))
    if x.basket_week is not None and x.basket_vs_large_week is not None:
        claims = {
            "week": Claim(
                x.basket,
                "basket",
                x.basket,
                Measure.RETURN,
                "week",
                x.basket_week,
                f.pct(x.basket_week),
            ),
            "gap": Claim(
                x.basket,
                "basket",
                x.basket,
                Measure.SPREAD,
                "week",
                x.basket_vs_large_week,
                f.pp(x.basket_vs_large_week, 1).lstrip("+-").replace(" pts", " percentage points"),
            ),
        }
        w: dict[str, Any] = {
            "basket": theme_noun(x.basket),
            "verb": p.verb(x.basket_week, words.STOCK),
            "ahead": x.basket_vs_large_week >= 0,
            "ytd": None,
        }
        if x.basket_ytd is not None:
            claims["ytd"] = Claim(
                x.basket,
                "basket",
                x.basket,
                Measure.RETURN,
                "ytd",
                x.basket_ytd,
                f.pct(x.basket_ytd),
            )
            w["ytd"] = "up" if x.basket_ytd > 0 else "down"
        out.append(Message("risks", Kind.BASKET, claims, w))
        if tech_risk(r) and x.volatility_ratio is not None:
            out.append(
                Message(
                    "risks",
                    Kind.BASKET_FLAG,
                    {
                        "vol": Claim(
                            "SMH",
                            "fund",
                            "SMH",
                            Measure.MULTIPLE,
                            "3m",
                            x.volatility_ratio,
                            f.times(x.volatility_ratio),
                        )
                    },
                    {"basket": x.basket, "fell": x.basket_week < 0},
                )
            )
    return out


def plan_week_ahead(p: Planner) -> list[Message]:
    """Next week's sessions (when short) and who reports, largest first."""
    r = p.recap
    nxt = r.week_ahead
    out: list[Message] = []
    if nxt is None:
        return out
    if nxt.week.holidays or nxt.week.early_closes:
        out.append(
            Message(
                "week_ahead",
                Kind.AHEAD_SESSIONS,
                {},
                {
                    "sessions": words.number_word(nxt.week.sessions),
                    "shut": words.join(f.weekday(d) for d in nxt.week.holidays),
                    "holidays": words.join(_holiday_names(nxt.week)),
                    "early": words.join(f.weekday(d) for d in nxt.week.early_closes),
                },
            )
        )
    if nxt.earnings:
        days: dict[dt.date, list[str]] = {}
        for e in nxt.earnings[:4]:
            days.setdefault(e.report_date, []).append(e.name)
        out.append(
            Message(
                "week_ahead",
                Kind.AHEAD_EARNINGS,
                {},
                {
                    "days": [(f.weekday(d), words.join(n)) for d, n in sorted(days.items())],
                    "more": len(nxt.earnings) - 4 if len(nxt.earnings) > 4 else 0,
                },
            )
        )
    elif not r.data.earnings_missing:
        out.append(Message("week_ahead", Kind.AHEAD_NONE, {}, {}))
    return out


def plan_conclusion(p: Planner) -> list[Message]:
    """What to watch: at most two questions the data raises."""
    r = p.recap
    small, large = small_and_large(r)
    market = _market(r) if r.indexes else None
    qs: list[str] = []
    svl = r.small_vs_large
    if svl and small:
        if svl.positive_streak_weeks >= 2 and small.week_return > 0:
            qs.append(
                "whether small caps can extend a lead over large caps that has run "
                f"{words.number_word(svl.positive_streak_weeks)} weeks"
            )
        elif svl.positive_streak_weeks >= 2:
            qs.append(
                "whether small caps, which have held up better than large caps for "
                f"{words.number_word(svl.positive_streak_weeks)} weeks, can turn higher"
            )
    recs = [m for m in r.indexes if m.record_close]
    if recs:
        qs.append(
            f"whether {words.join(m.later_name or m.name for m in recs)} can build on "
            + ("a record" if len(recs) == 1 else "records")
        )
    elif market is not None and market.pct_below_52w_high >= 0.05:
        qs.append(
            f"whether {market.later_name or market.name} can recover from "
            f"{f.pct(market.pct_below_52w_high)} below its 52-week high"
        )
    x = r.risks
    if x and x.concentration_flagged and small and (small.ytd_return or 0) > 0:
        qs.append(
            f"whether the {x.index_label}'s gains this year spread beyond "
            f"{words.join(words.sector_word(s) for s in x.concentration_sectors)} stocks"
        )
    nxt = r.week_ahead
    if nxt and nxt.earnings and len(qs) < 2:
        key = [e.name for e in nxt.earnings[:2]]
        qs.append(
            p.choose(
                "q-results",
                f"what the results due from {words.join(key)} show",
                f"how the results from {words.join(key)} are received",
            )
        )
    if not qs:
        return []
    qs = qs[:2]
    return [
        Message(
            "conclusion",
            Kind.QUESTIONS,
            {},
            {
                "questions": words.join(qs),
                "opener": p.choose(
                    "watch",
                    "What to watch: ",
                    "Questions for next week: " if len(qs) > 1 else "The question for next week: ",
                ),
            },
        )
    ]


MARKET_NOUNS = {
    "^TNX": "the 10-year Treasury yield",
    "^IRX": "the 3-month Treasury bill yield",
    "^VIX": "the VIX, Wall Street's gauge of expected volatility,",
    "CL=F": "WTI crude",
    "BZ=F": "Brent crude",
    "GC=F": "gold",
    "DX-Y.NYB": "the dollar index",
    "EURUSD=X": "the euro",
    "USDJPY=X": "the dollar against the yen",
    "BTC-USD": "bitcoin",
    "ETH-USD": "ether",
}
CO_MOVE_MIN = 0.005  # the stock fund's own move before it is told beside a series
MARKET_MOVES_TOLD = 3  # the most newsworthy series a week tells; the table has them all


def market_text(m: Any) -> tuple[str, str]:
    """(the change as printed, the level as printed) for a series beyond stocks, in its
    own unit: basis points for yields, points for the VIX, percent for prices."""
    if m.change_unit == "bp":
        return f"{round(abs(m.week_change))} basis points", f"{m.last:.2f}%"
    if m.change_unit == "pts":
        return f"{f.price(abs(m.week_change))} points", f.price(m.last)
    # a price in dollars (oil, gold, coins); the dollar index is a number, a rate no level
    dollars = m.kind in ("price", "crypto") and m.series != "DX-Y.NYB"
    level = f"${m.last:,.2f}" if dollars else "" if m.kind == "fx" else f.price(m.last)
    return f.pct(m.week_change), level


def plan_markets(p: Planner) -> list[Message]:
    """Rates, oil, gold, the dollar, coins and the VIX: a sentence only when the move is
    news for that series; a stock fund beside it only as co-movement, same direction."""
    r = p.recap
    out: list[Message] = []
    facts = r.market_facts
    told: set[str] = set()
    if facts is not None:
        for cm in facts.co_moves:
            # a fund that barely moved is no co-movement worth a sentence
            if abs(cm.fund_return) < CO_MOVE_MIN:
                continue
            if not cm.newsworthy or not cm.same_direction or cm.change_unit != "pct":
                continue
            if _flat(cm.fund_return) or _flat(cm.series_change) or cm.series in told:
                continue
            told.add(cm.series)
            noun = MARKET_NOUNS.get(cm.series, cm.series_name)
            claims = {
                "fund": Claim(
                    cm.fund_name,
                    "fund",
                    cm.fund,
                    Measure.RETURN,
                    "week",
                    cm.fund_return,
                    f.pct(cm.fund_return),
                ),
                "series": Claim(
                    cm.series_name,
                    "market",
                    cm.series,
                    Measure.RETURN,
                    "week",
                    cm.series_change,
                    f.pct(cm.series_change),
                ),
            }
            out.append(
                Message(
                    "indexes",
                    Kind.CO_MOVE,
                    claims,
                    {
                        "fund": words.sector_word(cm.fund_name),
                        "noun": noun,
                        "fund_verb": p.verb(cm.fund_return),
                        "series_verb": p.verb(cm.series_change, words.STOCK),
                    },
                )
            )
            break
    moves = [m for m in r.markets if m.newsworthy and m.roll_on is None and m.proxy is None]
    moves.sort(key=lambda m: -(abs(m.week_change) / m.sigma if m.sigma else 0.0))
    for m in moves:
        if len(out) >= MARKET_MOVES_TOLD or m.series in told:
            continue
        change, level = market_text(m)
        flat = (
            round(m.week_change) == 0
            if m.change_unit == "bp"
            else (abs(m.week_change) < 0.005 if m.change_unit == "pts" else _flat(m.week_change))
        )
        if flat and not m.extreme:
            continue
        scale = words.INDEX if m.change_unit == "pct" and m.kind == "fx" else words.STOCK
        verb = "rose" if m.week_change > 0 else "fell"
        if m.change_unit == "pct":
            verb = p.verb(m.week_change, scale)
        claims = {
            "change": Claim(
                m.name,
                "market",
                m.series,
                Measure.RETURN if m.change_unit == "pct" else Measure.POINTS,
                "week",
                m.week_change,
                change,
            )
        }
        out.append(
            Message(
                "indexes",
                Kind.MARKET_MOVE,
                claims,
                {
                    "noun": MARKET_NOUNS.get(m.series, m.name),
                    "verb": verb,
                    "flat": flat,
                    "level": level,
                    "extreme": m.extreme or "",
                    "months": words.number_word(m.extreme_months or 0),
                    "crypto": m.calendar == "fri-fri",
                },
            )
        )
        told.add(m.series)
    return out


SECTION_PLANNERS: tuple[tuple[str, Callable[[Planner], list[Message]]], ...] = (
    ("indexes", plan_markets),
    ("attribution", plan_attribution),
    ("sectors", plan_sectors),
    ("banks", plan_banks),
    ("risks", plan_risks),
    ("week_ahead", plan_week_ahead),
    ("conclusion", plan_conclusion),
)


__all__ = [
    "DRAWDOWNS",
    "Kind",
    "Message",
    "Planner",
    "SECTION_PLANNERS",
    "drawdown_change",
    "leading_sectors",
    "plan_dek",
    "plan_indexes",
    "plan_lead",
]
