"""The prose: headline, dek, lead and a paragraph or more per section, written from the facts.

1. ``stories.select_stories`` ranks the week's candidate stories.
2. The headline comes from ``headlines``: the top story (and the second where it fits),
   never one of the four previous weeks' (the pipeline passes their options in).
3. templates/narrative/story.txt.j2 writes the dek (the next stories), the lead (what
   happened and why, at most 40 words) and every section. It gets the recap, the ranked
   stories and a few helpers: verbs sized to each move (``recap.words``), names that are
   full at first reference and short after, and ``choose`` to vary phrasings by week.
Every number goes through recap.formatting, so the checker can hold the prose to the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from recap import formatting, render, words
from recap.analytics.attribution import MIN_COVERAGE
from recap.config import RecapConfig
from recap.errors import RenderError
from recap.headlines import INDEX_KINDS, headline_options, pick_headline
from recap.model import (
    IndexMove,
    Paragraph,
    PeriodAttribution,
    SectorContribution,
    SectorMove,
    WeeklyRecap,
)
from recap.stories import (
    Story,
    earnings_movers,
    headline_name,
    sector_leaders,
    select_stories,
    small_and_large,
    tech_risk,
)
from recap.weeks import holiday_names

SECTION_MARK = "@@ "
# From this many regional-bank reports in a week, the prose gives the tally and the range
# of surprises, not a sentence for each bank (the table has every one).
BANKS_IN_SUMMARY = 5
DEK = "dek"


def verb(value: float) -> str:
    """The first verb of the house scale for an index move: 'climbed' for +2.04%."""
    return words.verb(value)


def join_names(items: Iterable[str]) -> str:
    """['A', 'B', 'C'] -> 'A, B and C'."""
    return words.join(items)


def ordinal(n: int) -> str:
    """1 -> '1st', 11 -> '11th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def leading_sectors(
    period: PeriodAttribution, n: int = 3
) -> tuple[tuple[SectorContribution, ...], SectorContribution | None]:
    """The sectors that moved the index most in the direction of its move (up to ``n``),
    and the one that pushed hardest the other way (None when none did).

    The direction is the sign of the sum of contributions, so a falling index is led by
    the sectors that subtracted most.
    """
    rows = [s for s in period.sectors if s.contribution is not None]
    up = period.contributions_total >= 0
    same = [s for s in rows if (s.contribution or 0.0) * (1 if up else -1) > 0]
    other = [s for s in rows if (s.contribution or 0.0) * (1 if up else -1) < 0]
    same.sort(key=lambda s: -abs(s.contribution or 0.0))
    other.sort(key=lambda s: -abs(s.contribution or 0.0))
    # A contribution that prints as 0.00 pts is no driver either way.
    same = [s for s in same if round((s.contribution or 0.0) * 10000)]
    other = [s for s in other if round((s.contribution or 0.0) * 10000)]
    return tuple(same[:n]), (other[0] if other else None)


class Namer:
    """Index names as a reader meets them: full at first reference, short after."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._told: set[str] = set()

    def __call__(self, m: IndexMove) -> str:
        if m.symbol in self._seen:
            return m.later_name or m.name
        self._seen.add(m.symbol)
        return m.full_name or m.name

    def seen(self, m: IndexMove) -> bool:
        """True once the index has been named."""
        return m.symbol in self._seen

    def tell(self, *moves: IndexMove) -> str:
        """Mark the week's move of these indexes as told; returns '' for use in templates."""
        self._told.update(m.symbol for m in moves)
        return ""

    def told(self, m: IndexMove) -> bool:
        """True once the index's week move has been given."""
        return m.symbol in self._told


def ranked(members: Sequence[SectorMove], n: int) -> dict[str, Any]:
    """The top and bottom ``n`` of a best-first list, apart, with the sign each group shares
    (1 all rose, -1 all fell, 0 mixed): the template picks its rank words from the signs."""
    n = min(n, len(members) // 2)
    top = list(members[:n])
    bottom = list(reversed(members[-n:])) if n else []

    def sign(group: Sequence[SectorMove]) -> int:
        if group and all(m.week_return > 0 for m in group):
            return 1
        if group and all(m.week_return < 0 for m in group):
            return -1
        return 0

    return {"top": top, "top_sign": sign(top), "bottom": bottom, "bottom_sign": sign(bottom)}


def _helpers(recap: WeeklyRecap) -> dict[str, Any]:
    day = recap.week.end
    pick = words.week_number(day)

    def v(value: float, scale: str = words.INDEX) -> str:
        return words.verb(value, scale, pick)

    def choose(key: str, *options: str) -> str:
        return words.choose(options, day, key)

    return {
        "v": v,
        "choose": choose,
        "nm": Namer(),
        "ranked": ranked,
        "cap": words.cap,
        "ordinal_word": words.ordinal_word,
        "number_word": words.number_word,
        "join": words.join,
        "STOCK": words.STOCK,
        "BANKS_IN_SUMMARY": BANKS_IN_SUMMARY,
        "sector_leaders": lambda direction: sector_leaders(recap, direction),
        "headline_name": headline_name,
        "tech_risk": tech_risk(recap),
        "movers": earnings_movers(recap),
        "leading_sectors": leading_sectors,
        "min_coverage": MIN_COVERAGE,
    }


@lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> jinja2.Environment:
    # The report's environment (loader, StrictUndefined, number filters) plus the prose
    # filters. story.txt.j2 is not *.html.j2, so it is not autoescaped: it is plain text,
    # escaped by the HTML templates that show it.
    env = render.environment(templates_dir).overlay()
    env.filters.update(
        verb=verb,
        join_names=join_names,
        ordinal=ordinal,
        cap=words.cap,
        sector=words.sector_word,
        points=lambda x, digits=1: (
            formatting.pp(x, digits).lstrip("+-").replace(" pts", " percentage points")
        ),
    )
    return env


def _holidays(week: Any) -> dict[dt.date, str]:
    return {d: words.holiday(d, name) for d, name in holiday_names(week).items()}


def _render_story(
    recap: WeeklyRecap, config: RecapConfig, stories: Sequence[Story], headline: str
) -> str:
    env = _environment(config.templates_dir)
    small, large = small_and_large(recap)
    try:
        return env.get_template("narrative/story.txt.j2").render(
            recap=recap,
            stories=list(stories),
            dek_stories=dek_stories(stories, headline),
            headline=headline,
            small=small,
            large=large,
            holidays=_holidays(recap.week),
            next_holidays=_holidays(recap.week_ahead.week) if recap.week_ahead else {},
            **_helpers(recap),
        )
    except jinja2.TemplateError as e:
        line = getattr(e, "lineno", None)
        at = f", line {line}" if line else ""
        raise RenderError(f"template narrative/story.txt.j2{at}: {e}") from None


def _split(text: str) -> tuple[str, tuple[Paragraph, ...]]:
    dek = ""
    out: list[Paragraph] = []
    for chunk in text.split(SECTION_MARK)[1:]:
        section, _, body = chunk.partition("\n")
        body = " ".join(body.split()).replace(" ,", ",").replace(" .", ".").replace(" ;", ";")
        body = body.replace(" :", ":")
        if not body:
            continue
        if section.strip() == DEK:
            dek = words.cap(body)
        else:
            out.append(Paragraph(section=section.strip(), text=body))
    return dek, tuple(out)


def paragraphs(recap: WeeklyRecap, config: RecapConfig) -> tuple[Paragraph, ...]:
    """The story's paragraphs, tagged by section (the dek aside)."""
    stories = select_stories(recap)
    return _split(_render_story(recap, config, stories, recap.headline))[1]


def dek_stories(stories: Sequence[Story], headline: str) -> list[Story]:
    """The next two stories the headline and the lead leave untold. The lead tells the
    top story and, unless that is the market's move, the market's move beside it."""
    if not stories:
        return []
    top = stories[0]
    lead_tells = {"move", "quiet"} if top.kind not in ("move", "quiet") else set()
    same_index = {"record", "milestone", "move"} if top.kind in INDEX_KINDS else set()
    return [
        s
        for s in stories[1:]
        if not told(headline, s)
        and s.kind not in lead_tells
        and not (s.kind in same_index and s.subject == top.subject)
    ][:2]


def told(headline: str, story: Story) -> bool:
    """True when the headline tells ``story`` (the dek then tells the next ones)."""
    return any(p in headline for p in story.phrases) or (
        bool(story.risk) and f"{story.risk} Risks" in headline
    )


def write_story(
    recap: WeeklyRecap, config: RecapConfig, earlier: Sequence[Sequence[str]] = ()
) -> tuple[str, str, tuple[Paragraph, ...]]:
    """(headline, dek, paragraphs) for a recap whose facts are computed.

    ``earlier`` holds the headline options of the weeks before (at most four): the
    headline is none of them.
    """
    stories = select_stories(recap)
    headline = pick_headline(headline_options(stories, recap.week.end), earlier)
    dek, paras = _split(_render_story(recap, config, stories, headline))
    return headline, dek, paras


def options_for(recap: WeeklyRecap) -> tuple[str, ...]:
    """Every headline this week's facts allow (what later weeks must not repeat)."""
    return headline_options(select_stories(recap), recap.week.end)


__all__ = ["Namer", "join_names", "options_for", "ordinal", "paragraphs", "verb", "write_story"]
