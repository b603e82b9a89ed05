"""The week's stories: candidates scored from the facts, best first.

Each candidate is something that made news this week: index records (several at once,
streaks, mid-week ones, round-number milestones), the biggest index move and how it ranks
against past weeks, small caps against large caps at an extreme, what drove the small-cap
move (attribution), sector rotation, a theme's surge or rout, earnings movers, diverging
bank results, concentration of gains, and the week ahead.

A score is roughly how high a wire editor would put the story: a 1% average index move
is worth 4, a record close 6 and more, a 10% move in one stock after its results 5, a
quiet week 3. Scores only order the stories; ties go to the order of KINDS. Same facts,
same order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from recap.model import BankResult, IndexMove, SectorMove, Watchlist, WeeklyRecap
from recap.words import STOCK, number_word, ordinal_word, present, title, verb

KINDS = (
    "milestone",
    "record",
    "streak",
    "drawdown",
    "day",
    "move",
    "earnings",
    "theme",
    "spread",
    "banks",
    "rotation",
    "sweep",
    "drivers",
    "concentration",
    "quiet",
    "ahead",
)
# Thresholds of news: below these a candidate is not a story at all.
MOVE_PER_POINT = 2.5  # score per percentage point of the average index move (plus 1.5)
QUIET = 0.005  # every index moved less than this: a quiet week
SPREAD_MIN = 0.0075
THEME_MIN = 0.02
REACTION_MIN = 0.04
ROTATION_MIN = 0.03
CONCENTRATION_MIN = 0.03  # the index's gain for the year before its concentration is news
LONG_AGO_WEEKS = 26  # "the worst week since ...": only when that is at least half a year
WHILE_AGO_WEEKS = 8
TECH_SURGE = 0.02
TECH_LEAD = 0.01
TECH_VOLATILITY = 2.0


@dataclass(frozen=True)
class Story:
    """One candidate story of the week."""

    kind: str
    score: float
    subject: str  # an index symbol, a watchlist name, a ticker, a sector, "regional"...
    direction: int  # +1 up, -1 down, 0 neither
    phrases: tuple[str, ...]  # headline clauses: present tense, active verb, headline case
    risk: str = ""  # "Tech" or "Concentration": a risk the Risk Spotlight flags
    strong: bool = False  # phrases[0] says it best (worst week in years): never rotated away
    index: str = ""  # the index symbol a story is about, when it is not its subject


def headline_name(m: IndexMove) -> str:
    """'Dow', 'Nasdaq', 'S&P 500', 'Russell 2000': the short name without its article."""
    short = m.later_name or m.name
    return title(short.removeprefix("the "))


def figure(value: float) -> str:
    """A headline's percentage: one decimal under 10% ('1.7%'), none above ('17%')."""
    size = abs(value) * 100
    return f"{size:.1f}%" if round(size, 1) < 10 else f"{size:.0f}%"


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _role(recap: WeeklyRecap, symbol: str | None) -> IndexMove | None:
    return next((m for m in recap.indexes if m.symbol == symbol), None)


def small_and_large(recap: WeeklyRecap) -> tuple[IndexMove | None, IndexMove | None]:
    """The small-cap and large-cap index rows, when the recap compares them."""
    svl = recap.small_vs_large
    if svl is None:
        return None, None
    return _role(recap, svl.small_symbol), _role(recap, svl.large_symbol)


def stated_share(r: WeeklyRecap) -> float | None:
    """The top two sectors' share of the small-cap index's gains this year, as the story
    and the risk measures may state it: a share of gains only when the index is up and
    the share lies in (0, 100%]; otherwise None (the prose gives the points instead)."""
    x = r.risks
    small, _ = small_and_large(r)
    share = x.concentration_share if x else None
    if share is None or not 0 < share <= 1 or small is None or (small.ytd_return or 0) <= 0:
        return None
    return share


def _since_label(day: dt.date, today: dt.date) -> str:
    """'April' within the year, 'March 2020' further back."""
    if (today - day).days < 300:
        return f"{day:%B}"
    return f"{day:%B} {day.year}"


def _records(recap: WeeklyRecap) -> list[Story]:
    out: list[Story] = []
    for m in recap.indexes:
        if m.milestone is not None and m.milestone_on is not None:
            level = f"{m.milestone:,.0f}"
            still = m.close >= m.milestone
            name = headline_name(m)
            marks = (
                [f"{name} Closes Above {level} for the First Time", f"{name} Tops {level}"]
                if still
                else [f"{name} Tops {level}, Then Slips Back"]
            )
            out.append(Story("milestone", 8.0, m.symbol, 1, tuple(marks)))
    friday = [m for m in recap.indexes if m.record_close and not m.is_proxy]
    midweek = [
        m for m in recap.indexes if m.record_sessions and not m.record_close and not m.is_proxy
    ]
    if friday:
        lead = max(friday, key=lambda m: (m.record_streak, m.week_return))
        names = [headline_name(m) for m in friday]
        score = 6.0 + 1.5 * (len(friday) - 1) + 0.5 * min(max(lead.record_streak - 1, 0), 4)
        phrases: list[str]
        strong = False
        if len(friday) == 1:
            name = names[0]
            phrases = [f"{name} Closes at a Record", f"{name} Ends the Week at a Record"]
            if lead.record_streak >= 3:
                phrases.insert(
                    0, f"{name} Sets a {title(ordinal_word(lead.record_streak))} Straight Record"
                )
                strong = True
            if len(lead.record_sessions) >= 3:
                count = title(number_word(len(lead.record_sessions)))
                phrases.append(f"{name} Sets {count} Records in One Week")
        elif len(friday) == len(recap.indexes):
            phrases = ["Every Major Index Closes at a Record", "Stocks Close at Records"]
        else:
            listed = ", ".join(names[:-1]) + " and " + names[-1]
            phrases = [f"{listed} Close at Records", f"{listed} Set Records", "Stocks Hit Records"]
            if len(friday) >= 3:
                phrases.append(f"{title(number_word(len(friday)))} Indexes Close at Records")
            else:
                phrases.append(f"{listed} End the Week at Records")
            if lead.record_streak >= 3:
                nth = title(ordinal_word(lead.record_streak))
                phrases.insert(0, f"{headline_name(lead)} Sets a {nth} Straight Record")
                strong = True
        out.append(Story("record", score, lead.symbol, 1, tuple(phrases), strong=strong))
    elif midweek:
        lead = max(midweek, key=lambda m: len(m.record_sessions))
        name = headline_name(lead)
        phrases = (
            [f"{name} Touches a Record Midweek", f"{name} Sets a Midweek Record"]
            if lead.week_return > 0
            else [f"{name} Slips After a Midweek Record", f"{name} Retreats From a Record"]
        )
        score = 3.0 + 0.5 * (len(midweek) - 1)
        out.append(Story("record", score, lead.symbol, _sign(lead.week_return), tuple(phrases)))
    return out


def _move(recap: WeeklyRecap) -> list[Story]:
    moves = list(recap.indexes)
    if not moves:
        return []
    _, large = small_and_large(recap)
    if all(abs(m.week_return) < QUIET for m in moves):
        near = all(m.pct_below_52w_high <= 0.02 for m in moves)
        calm = (
            ("Stocks Drift Near Highs in a Quiet Week", "Stocks Hold Near Highs")
            if near
            else ("Stocks Drift in a Quiet Week", "Stocks Barely Move")
        )
        return [Story("quiet", 3.0, large.symbol if large else moves[0].symbol, 0, calm)]
    top = max(moves, key=lambda m: abs(m.week_return))
    signs = {_sign(m.week_return) for m in moves}
    average = sum(abs(m.week_return) for m in moves) / len(moves)
    score = 1.5 + MOVE_PER_POINT * average * 100
    market = large or top
    if market.weeks_since_larger >= LONG_AGO_WEEKS:
        score += 1.5
    elif market.weeks_since_larger >= WHILE_AGO_WEEKS:
        score += 0.75
    phrases: list[str] = []
    strong = False
    direction = _sign(market.week_return) if len(signs) == 1 else _sign(top.week_return)
    if len(signs) == 1:
        score += 0.5
        v = verb(market.week_return, pick=0)
        v2 = verb(market.week_return, pick=1)
        phrases += [f"Stocks {present(v, True)}", f"Wall Street {present(v2)}"]
        if market.larger_move_on is not None and market.weeks_since_larger >= WHILE_AGO_WEEKS:
            since = _since_label(market.larger_move_on, recap.week.end)
            kind = "Best" if market.week_return > 0 else "Worst"
            phrases.insert(0, f"Stocks Have Their {kind} Week Since {since}")
            phrases.append(f"Stocks {present(v, True)} in Their {kind} Week Since {since}")
            strong = market.weeks_since_larger >= LONG_AGO_WEEKS
        phrases.append(f"{headline_name(market)} {present(v)} {figure(market.week_return)}")
        if top is not market:
            phrases.append(
                f"{headline_name(top)} Leads Stocks {'Higher' if direction > 0 else 'Lower'}"
            )
            if abs(market.week_return) >= 0.02:
                broad = "Rally" if direction > 0 else "Sell-Off"
                phrases.append(
                    f"{headline_name(top)} {present(verb(top.week_return))} "
                    f"{figure(top.week_return)} in a Broad {broad}"
                )
    else:
        up = max(moves, key=lambda m: m.week_return)
        down = min(moves, key=lambda m: m.week_return)
        vu, vd = verb(up.week_return), verb(down.week_return)
        phrases += [
            f"{headline_name(up)} {present(vu)} While {headline_name(down)} {present(vd)}",
            f"Stocks Diverge as {headline_name(down)} {present(vd)}",
        ]
    return [Story("move", round(score, 3), top.symbol, direction, tuple(phrases), strong=strong)]


def _spread(recap: WeeklyRecap) -> list[Story]:
    svl = recap.small_vs_large
    small, large = small_and_large(recap)
    if svl is None or small is None or large is None:
        return []
    s = svl.spread
    wide = svl.weeks_since_wider
    if abs(s) < SPREAD_MIN and wide < WHILE_AGO_WEEKS:
        return []
    score = 1.5 * abs(s) * 100
    score += 1.5 if wide >= LONG_AGO_WEEKS else 0.75 if wide >= WHILE_AGO_WEEKS else 0.0
    streak = svl.positive_streak_weeks
    if streak >= 4:
        score += 0.75
    sr, lr = small.week_return, large.week_return
    phrases: list[str] = []
    if s > 0:
        if sr > 0 and lr > 0:
            phrases += ["Small Caps Outpace Large Caps", "Small Caps Outrun the S&P 500"]
            if streak >= 3:
                phrases.insert(0, f"Small Caps Lead for a {title(ordinal_word(streak))} Week")
        elif sr > 0:
            phrases += [
                f"Small Caps {present(verb(sr), True)} as Large Caps {present(verb(lr), True)}",
                f"Small Caps {present(verb(sr), True)} While the S&P 500 {present(verb(lr))}",
            ]
        else:
            phrases += ["Small Caps Fall Less Than Large Caps", "Small Caps Hold Up Better"]
        if wide >= WHILE_AGO_WEEKS and sr > 0 and svl.wider_on is not None:
            since = _since_label(svl.wider_on, recap.week.end)
            phrases.insert(0, f"Small Caps Beat Large Caps by the Most Since {since}")
    else:
        if sr > 0 and lr > 0:
            phrases += ["Small Caps Trail as Large Caps Climb", "Small Caps Lag Large Caps"]
        elif lr > 0:
            phrases += [f"Small Caps {present(verb(sr), True)} While Large Caps Rise"]
        else:
            phrases += ["Small Caps Fall Harder Than Large Caps", "Small Caps Take the Brunt"]
    return [Story("spread", round(score, 3), svl.small_symbol, _sign(s), tuple(phrases))]


def tech_risk(recap: WeeklyRecap) -> bool:
    """The AI-hardware basket moved far from the market, either way, in a trade that swings
    at least twice as hard as the market: what the Risk Spotlight flags as a tech risk. A
    flagged trade stays flagged in the weeks it falls: that is when the flag matters."""
    x = recap.risks
    if x is None or x.basket_week is None:
        return False
    return (
        abs(x.basket_week) >= TECH_SURGE
        and abs(x.basket_vs_large_week or 0.0) >= TECH_LEAD
        and (x.volatility_ratio or 0.0) >= TECH_VOLATILITY
    )


def theme_name(wl: Watchlist) -> str:
    """'AI Hardware Stocks', 'Regional Bank Stocks'."""
    name = title(wl.name)
    if name.endswith("s") and not name.endswith("ss"):
        name = name[:-1]
    return f"{name} Stocks"


def _themes(recap: WeeklyRecap) -> list[Story]:
    if recap.sectors is None:
        return []
    out: list[Story] = []
    _, large = small_and_large(recap)
    basket = recap.risks.basket if recap.risks else ""
    for wl in recap.sectors.watchlists:
        r = wl.week_return
        if abs(r) < THEME_MIN:
            continue
        same = all(_sign(m.week_return) == _sign(r) for m in wl.members)
        score = 90 * abs(r) + (1.5 if same else 0.0)
        extreme = wl.members[0].week_return if r > 0 else wl.members[-1].week_return
        if abs(r) >= 0.03 and abs(extreme) >= 0.10:
            score += 2.0  # a rout or a surge with a name moving 10% or more
        if large is not None and abs(r - large.week_return) >= 0.03:
            score += 1.0
        name = theme_name(wl)
        v = verb(r, STOCK)
        phrases: list[str] = [f"{name} {present(v, True)}"]
        best = wl.members[0] if r > 0 else wl.members[-1]
        if same:
            every = "Every" if len(wl.members) > 2 else "Both"
            noun = name.removesuffix(" Stocks") + " Stock"
            phrases.insert(0, f"{every} {noun} {'Rises' if r > 0 else 'Falls'}")
        phrases.append(f"{best.name} Leads {name} {'Higher' if r > 0 else 'Lower'}")
        phrases.append(f"{name} {present(v, True)} {figure(r)}")
        risk = "Tech" if wl.name == basket and tech_risk(recap) else ""
        out.append(Story("theme", round(score, 3), wl.name, _sign(r), tuple(phrases), risk))
    return out


def earnings_movers(recap: WeeklyRecap, at_least: float = REACTION_MIN) -> list[BankResult]:
    """Results with a next-session reaction of at least ``at_least``, largest first; only
    releases whose figures are in the data."""
    return [
        r
        for r in recap.earnings
        if r.reaction is not None and abs(r.reaction) >= at_least and r.outcome != "not reported"
    ]


def _earnings(recap: WeeklyRecap) -> list[Story]:
    movers = earnings_movers(recap)
    if not movers:
        return []
    top = movers[0]
    assert top.reaction is not None
    score = 50 * abs(top.reaction) + (0.5 if len(movers) > 1 else 0.0)
    v = verb(top.reaction, STOCK)
    phrases: list[str] = [
        f"{top.name} {present(v)} {figure(top.reaction)} After Results",
        f"{top.name} {present(v)} After Earnings",
        f"{top.name} Shares {present(v, True)} on Results",
    ]
    if len(movers) > 1:
        second = movers[1]
        assert second.reaction is not None
        if _sign(second.reaction) != _sign(top.reaction):
            phrases.append(f"{top.name} and {second.name} Swing on Results")
        else:
            both = verb(min(top.reaction, second.reaction, key=abs), STOCK)
            phrases.append(f"{top.name} and {second.name} {present(both, True)} After Results")
    return [Story("earnings", round(score, 3), top.ticker, _sign(top.reaction), tuple(phrases))]


def _reactions(results: Sequence[BankResult]) -> list[float]:
    return [r.reaction for r in results if r.reaction is not None and r.outcome != "not reported"]


def _banks(recap: WeeklyRecap) -> list[Story]:
    k = recap.banks
    if k is None:
        return []
    out: list[Story] = []
    regional = _reactions(k.reported)
    if len(regional) >= 2:
        spread = max(regional) - min(regional)
        if k.classification == "mixed":
            split = ("Regional Bank Results Diverge", "Regional Banks Split on Results")
            score = 2.5 + min(2.0, 15 * spread)
            out.append(Story("banks", round(score, 3), "regional", 0, split))
        elif k.classification in ("broadly higher", "broadly lower"):
            up = k.classification == "broadly higher"
            moved = (
                ("Regional Banks Rise on Results", "Regional Banks Gain After Results")
                if up
                else ("Regional Banks Slip After Results", "Regional Banks Fall on Results")
            )
            out.append(Story("banks", 2.5, "regional", 1 if up else -1, moved))
    large = _reactions(k.large)
    if len(large) >= 3:
        ups = sum(1 for r in large if r > 0)
        downs = sum(1 for r in large if r < 0)
        big = max(abs(r) for r in large)
        if ups and downs and big >= 0.03:
            out.append(
                Story(
                    "banks",
                    round(2.0 + 20 * big, 3),
                    "large",
                    0,
                    ("Big Banks Split After Results",),
                )
            )
        elif big >= 0.02 and (not ups or not downs):
            up = bool(ups)
            told = "Big Banks Rally After Results" if up else "Big Banks Slide After Results"
            out.append(Story("banks", round(2.0 + 20 * big, 3), "large", 1 if up else -1, (told,)))
    return out


SECTOR_STOCKS = {
    "Industrials": "Industrial",
    "Financials": "Financial",
    "Utilities": "Utility",
    "Technology": "Tech",
    "Information Technology": "Tech",
}


def sector_stocks(name: str) -> str:
    """'Industrials' -> 'Industrial Stocks', 'Energy' -> 'Energy Stocks' (headlines)."""
    return f"{SECTOR_STOCKS.get(name, name)} Stocks"


def _rotation(recap: WeeklyRecap) -> list[Story]:
    s = recap.sectors
    if s is None or len(s.sectors) < 2:
        return []
    best, worst = s.sectors[0], s.sectors[-1]
    gap = best.week_return - worst.week_return
    if best.week_return < 0 or worst.week_return > 0:
        # Every sector moved one way: a sweep, told by its extreme.
        r = worst.week_return if worst.week_return < 0 else best.week_return
        m = worst if r < 0 else best
        if abs(r) < ROTATION_MIN:
            return []
        every = f"Every Sector {'Rises' if r > 0 else 'Falls'}"
        swept = (f"{every} as {sector_stocks(m.name)} {present(verb(r), True)}",)
        return [Story("sweep", round(0.5 * abs(r) * 100, 3), m.ticker, _sign(r), swept)]
    if gap < ROTATION_MIN:
        return []
    score = 0.5 * gap * 100
    bv, wv = verb(best.week_return), verb(worst.week_return)
    # The sector that moved most leads the phrases, so "Stocks Slide as Financial Stocks
    # Tumble" can join a market story going its way.
    big = worst if abs(worst.week_return) > abs(best.week_return) else best
    phrases = (
        f"{sector_stocks(big.name)} {present(verb(big.week_return), True)}",
        f"{sector_stocks(best.name)} {present(bv, True)} While "
        f"{sector_stocks(worst.name)} {present(wv, True)}",
        f"{sector_stocks(best.name)} {present(bv, True)}, "
        f"{sector_stocks(worst.name)} {present(wv, True)}",
    )
    return [Story("rotation", round(score, 3), big.ticker, _sign(big.week_return), phrases)]


def _concentration(recap: WeeklyRecap) -> list[Story]:
    """Concentrated YTD gains, flagged by the Risk Spotlight, while the index is up (the
    share exists only when the attribution can state one)."""
    x = recap.risks
    small, _ = small_and_large(recap)
    if x is None or not x.concentration_flagged or small is None:
        return []
    # A share of a small gain is no story (93% of a 0.4% gain in February).
    if small.ytd_return is None or small.ytd_return < CONCENTRATION_MIN:
        return []
    stated = stated_share(recap)
    if stated is None:
        return []
    share = f"{stated * 100:.0f}%"
    count = title(number_word(len(x.concentration_sectors)))
    phrases = (f"{count} Sectors Supply {share} of Small-Cap Gains This Year",)
    return [Story("concentration", 2.5, small.symbol, 1, phrases, risk="Concentration")]


def _drivers(recap: WeeklyRecap) -> list[Story]:
    """What drove the small-cap index this week: the sector its own stocks say added (or
    subtracted) the most, from the exact attribution (never from an estimate)."""
    a = recap.attribution
    small, _ = small_and_large(recap)
    if a is None or a.week is None or a.method == "estimate" or small is None:
        return []
    total = a.week.contributions_total
    rows = [x for x in a.week.sectors if x.contribution is not None]
    same = [x for x in rows if (x.contribution or 0.0) * total > 0]
    if not same or abs(total) < 0.005:
        return []
    top = max(same, key=lambda x: abs(x.contribution or 0.0))
    way = "Higher" if total > 0 else "Lower"
    phrases = (
        f"{sector_stocks(top.sector)} Lead Small Caps {way}",
        f"{sector_stocks(top.sector)} Drive Small Caps {way}",
        f"{sector_stocks(top.sector)} Lead",  # after "as": "... Record as Industrial Stocks Lead"
    )
    score = 1.5 + 100 * abs(top.contribution or 0.0)
    return [
        Story("drivers", round(score, 3), top.sector, _sign(total), phrases, index=small.symbol)
    ]


def _ahead(recap: WeeklyRecap) -> list[Story]:
    nxt = recap.week_ahead
    if nxt is None:
        return []
    score = (1.0 if nxt.week.holidays else 0.0) + min(1.5, 0.3 * len(nxt.earnings))
    if score <= 0:
        return []
    return [Story("ahead", round(score, 3), "", 0, ())]


def sector_leaders(recap: WeeklyRecap, direction: int) -> tuple[SectorMove, ...]:
    """Up to two sector funds that moved most in ``direction`` (and moved that way)."""
    s = recap.sectors
    if s is None:
        return ()
    ordered = s.sectors if direction > 0 else tuple(reversed(s.sectors))
    return tuple(m for m in ordered if _sign(m.week_return) == direction)[:2]


# News value first (issue 18): index milestones, records, weekly streaks, drawdowns entered
# or left, and a best or worst week or day in half a year outrank every sector, theme or
# watchlist story, whatever their scores; the rest are ranked by score.
NEWS_FIRST = ("milestone", "record", "streak", "drawdown", "day")
STREAK_MIN = 4  # weeks in a row one way before a streak is news (three is common)
DAY_LONG_AGO = 126  # sessions: half a year
DAY_MIN = 0.015  # a day's move worth its own story (index scale)


def _tier(s: Story) -> int:
    # a record set midweek and lost by Friday is a smaller story (it scores under 6)
    if s.kind == "record" and s.score < 6.0:
        return len(NEWS_FIRST) + 1
    if s.kind in NEWS_FIRST:
        return NEWS_FIRST.index(s.kind)
    # a market week of 1% or more on average outranks any theme or watchlist
    if s.kind == "move" and s.direction and (s.strong or s.score >= 2.0 + MOVE_PER_POINT):
        return len(NEWS_FIRST)
    return len(NEWS_FIRST) + 1


def _streaks(recap: WeeklyRecap) -> list[Story]:
    """A weekly winning or losing streak of three or more, begun, extended or snapped: the
    market's first, else the index with the longest."""
    _, large = small_and_large(recap)
    out: list[Story] = []
    cands = sorted(
        (m for m in recap.indexes if not m.is_proxy),
        key=lambda m: (m is not large, -max(abs(m.week_streak), abs(m.snapped_streak))),
    )
    for m in cands:
        name = headline_name(m)
        if abs(m.snapped_streak) >= STREAK_MIN and not _flat(m.week_return):
            n = title(number_word(abs(m.snapped_streak)))
            kind = "Losing" if m.snapped_streak < 0 else "Winning"
            phrases: tuple[str, ...] = (f"{name} Snaps a {n}-Week {kind} Streak",)
            score = 4.0 + 0.5 * abs(m.snapped_streak)
        elif abs(m.week_streak) >= STREAK_MIN:
            nth = title(ordinal_word(abs(m.week_streak)))
            way = "Gain" if m.week_streak > 0 else "Loss"
            phrases = (
                f"{name} Posts a {nth} Straight Weekly {way}",
                f"{name} {'Rises' if m.week_streak > 0 else 'Falls'} for a {nth} Week",
            )
            score = 3.5 + 0.5 * abs(m.week_streak)
        else:
            continue
        out.append(Story("streak", score, m.symbol, _sign(m.week_return), phrases))
        break
    return out


def _drawdowns(recap: WeeklyRecap) -> list[Story]:
    """Indexes that entered a correction or a bear market this week (the deeper first);
    leaving one is not told, as no threshold on the high marks its end."""
    from recap.storyplan import drawdown_change

    entered: dict[str, list[IndexMove]] = {}
    for m in recap.indexes:
        state, began = drawdown_change(m)
        if state and began and not m.is_proxy:
            entered.setdefault(state, []).append(m)
    for state in ("bear market", "correction"):
        group = entered.get(state)
        if not group:
            continue
        lead = max(group, key=lambda m: m.pct_below_52w_high)
        names = [headline_name(m) for m in group]
        if len(group) == 1:
            phrases = (
                f"{names[0]} Enters a {title(state)}",
                f"{names[0]} Falls Into a {title(state)}",
            )
        else:
            listed = ", ".join(names[:-1]) + " and " + names[-1]
            plural = "Bear Markets" if state == "bear market" else "Corrections"
            phrases = (f"{listed} Enter {plural}", f"{listed} Fall Into {plural}")
        score = (7.0 if state == "bear market" else 6.0) + 0.5 * (len(group) - 1)
        return [Story("drawdown", score, lead.symbol, -1, phrases)]
    return []


def _days(recap: WeeklyRecap) -> list[Story]:
    """A best or worst day in half a year or more."""
    out: list[Story] = []
    for m in recap.indexes:
        d = m.big_day
        if d is None or m.is_proxy or abs(d.day_return) < DAY_MIN:
            continue
        if m.larger_day_on is None or m.sessions_since_larger_day < DAY_LONG_AGO:
            continue
        since = _since_label(m.larger_day_on, recap.week.end)
        kind = "Best" if d.day_return > 0 else "Worst"
        name = headline_name(m)
        phrases = (f"{name} Has Its {kind} Day Since {since}",)
        score = 4.0 + 100 * abs(d.day_return)
        out.append(Story("day", score, m.symbol, _sign(d.day_return), phrases, strong=True))
    return sorted(out, key=lambda s: -s.score)[:1]


def _flat(x: float) -> bool:
    return round(x * 10000) == 0


def select_stories(recap: WeeklyRecap) -> tuple[Story, ...]:
    """Every candidate story of the week, best first (deterministic)."""
    stories = (
        _records(recap)
        + _streaks(recap)
        + _drawdowns(recap)
        + _days(recap)
        + _move(recap)
        + _spread(recap)
        + _themes(recap)
        + _earnings(recap)
        + _banks(recap)
        + _rotation(recap)
        + _concentration(recap)
        + _drivers(recap)
        + _ahead(recap)
    )
    return tuple(
        sorted(stories, key=lambda s: (_tier(s), -s.score, KINDS.index(s.kind), s.subject))
    )


__all__ = [
    "KINDS",
    "Story",
    "earnings_movers",
    "headline_name",
    "sector_leaders",
    "sector_stocks",
    "select_stories",
    "small_and_large",
    "tech_risk",
    "theme_name",
]
