"""The prose: headline, dek and a paragraph or more per section, written from the facts.

Headline and dek are chosen by rules over the facts (below). The paragraphs come from
templates/narrative/story.txt.j2, which gets the recap and a few helpers; every number
goes through recap.formatting, and every direction word comes from the sign of the
number it describes (``verb``), so the checker can hold the prose to the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from recap import formatting, render
from recap.analytics.attribution import MIN_COVERAGE
from recap.analytics.indexes import move_for_role
from recap.config import RecapConfig
from recap.errors import RenderError
from recap.model import IndexMove, Paragraph, PeriodAttribution, SectorContribution, WeeklyRecap
from recap.weeks import holiday_names

SECTION_MARK = "@@ "
# Week moves, by size: (at least, verb). Checked top to bottom; zero is "was flat".
UP_VERBS = ((0.02, "surged"), (0.01, "climbed"), (0.005, "rose"), (0.0, "edged up"))
DOWN_VERBS = ((-0.02, "tumbled"), (-0.005, "fell"), (0.0, "slipped"))
SURGE = 0.02
LEAD_MARGIN = 0.01  # small caps "lead" large caps by at least a percentage point
QUIET = 0.005
NEAR_HIGH = 0.02
TECH_VOLATILITY = 2.0  # semis volatility as a multiple of the market's


def verb(value: float) -> str:
    """'surged' for +2.13%, 'slipped' for -0.35%, 'was flat' when it rounds to 0.00%."""
    if round(value * 10000) == 0:
        return "was flat"
    if value > 0:
        return next(v for limit, v in UP_VERBS if value >= limit)
    return next(v for limit, v in DOWN_VERBS if value <= limit)


def headline_verb(value: float) -> str:
    """Present tense for headlines: 'Surges', 'Climbs', 'Slips'."""
    return {
        "surged": "Surges",
        "climbed": "Climbs",
        "rose": "Rises",
        "edged up": "Edges Up",
        "was flat": "Holds Steady",
        "slipped": "Slips",
        "fell": "Falls",
        "tumbled": "Tumbles",
    }[verb(value)]


def join_names(items: Iterable[str]) -> str:
    """['A', 'B', 'C'] -> 'A, B and C'."""
    names = [str(i) for i in items]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


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


def _role(recap: WeeklyRecap, config: RecapConfig, role: str) -> IndexMove | None:
    return move_for_role(recap.indexes, config, role)


def _tech_risk(recap: WeeklyRecap) -> bool:
    """The AI-hardware basket surged and ran well ahead of the market, in a trade that
    swings at least twice as hard as the market."""
    risks = recap.risks
    if risks is None:
        return False
    surged = (risks.basket_week or 0.0) >= SURGE
    ahead = (risks.basket_vs_large_week or 0.0) >= LEAD_MARGIN
    return surged and ahead and (risks.volatility_ratio or 0.0) >= TECH_VOLATILITY


def headline(recap: WeeklyRecap, config: RecapConfig) -> str:
    """The week's two biggest stories, by rules over the facts."""
    small, large = _role(recap, config, "small"), _role(recap, config, "large")
    moves = [m.week_return for m in recap.indexes]
    first: str
    if (
        small
        and large
        and small.week_return >= SURGE
        and (small.week_return - large.week_return >= LEAD_MARGIN)
    ):
        first = f"{small.name} {headline_verb(small.week_return)}"
    elif small and small.record_close and small.week_return > 0:
        first = f"{small.name} Closes at a Record"
    elif all(m < 0 for m in moves):
        first = "Stocks " + ("Tumble" if min(moves) <= -SURGE else "Slide")
    elif all(m > 0 for m in moves):
        first = "Stocks " + ("Rally" if max(moves) >= SURGE else "Climb")
    elif all(abs(m) < QUIET for m in moves):
        near = all(m.pct_below_52w_high <= NEAR_HIGH for m in recap.indexes)
        first = "Quiet Week Ends Near Highs" if near else "Stocks Drift in a Quiet Week"
    else:
        first = "Stocks Mixed"
    second = ""
    banks = recap.banks
    if _tech_risk(recap):
        second = "Tech Risks Spotlighted"
    elif recap.risks is not None and recap.risks.concentration_flagged:
        second = "Concentration Risks Spotlighted"
    elif banks is not None and banks.classification == "mixed" and banks.reported:
        second = "Bank Earnings Diverge"
    elif banks is not None and banks.classification == "broadly lower" and banks.reported:
        return f"{first} as Banks Drag"
    elif recap.sectors is not None and recap.sectors.leaders:
        second = f"{recap.sectors.leaders[0].name} Leads"
    return f"{first}; {second}" if second else first


def dek(recap: WeeklyRecap, config: RecapConfig) -> str:
    """One line under the headline: the small-vs-large story and the top sector."""
    small, large = _role(recap, config, "small"), _role(recap, config, "large")
    parts: list[str] = []
    if small and large and recap.small_vs_large:
        spread = recap.small_vs_large.spread
        shown = formatting.pp(abs(spread), 1).lstrip("+-")
        if shown.startswith("0.0 "):
            parts.append("small caps kept pace with large caps")
        else:
            ahead = "beat" if spread > 0 else "trailed"
            parts.append(f"small caps {ahead} large caps by {shown}")
    if recap.sectors and recap.sectors.leaders:
        lead = recap.sectors.leaders[0]
        parts.append(f"{lead.name} led the sectors at {formatting.signed(lead.week_return)}")
    if recap.banks and recap.banks.reported:
        parts.append(
            f"{len(recap.banks.reported)} regional "
            f"bank{'s' if len(recap.banks.reported) != 1 else ''} reported"
        )
    text = "; ".join(parts)
    return (text[:1].upper() + text[1:] + ".") if text else ""


@lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> jinja2.Environment:
    # The report's environment (loader, StrictUndefined, number filters) plus the prose
    # filters. story.txt.j2 is not *.html.j2, so it is not autoescaped: it is plain text,
    # escaped by the HTML templates that show it.
    env = render.environment(templates_dir).overlay()
    env.filters.update(verb=verb, join_names=join_names, ordinal=ordinal)
    return env


def paragraphs(recap: WeeklyRecap, config: RecapConfig) -> tuple[Paragraph, ...]:
    """Render the story template and split it into tagged paragraphs."""
    env = _environment(config.templates_dir)
    try:
        text = _story(env, recap, config)
    except jinja2.TemplateError as e:
        line = getattr(e, "lineno", None)
        at = f", line {line}" if line else ""
        raise RenderError(f"template narrative/story.txt.j2{at}: {e}") from None
    out: list[Paragraph] = []
    for chunk in text.split(SECTION_MARK)[1:]:
        section, _, body = chunk.partition("\n")
        body = " ".join(body.split()).replace(" ,", ",").replace(" .", ".").replace(" ;", ";")
        if body:
            out.append(Paragraph(section=section.strip(), text=body))
    return tuple(out)


def _story(env: jinja2.Environment, recap: WeeklyRecap, config: RecapConfig) -> str:
    return env.get_template("narrative/story.txt.j2").render(
        recap=recap,
        small=_role(recap, config, "small"),
        large=_role(recap, config, "large"),
        others=[
            m
            for m in recap.indexes
            if m not in (_role(recap, config, "small"), _role(recap, config, "large"))
        ],
        holidays=holiday_names(recap.week),
        next_holidays=holiday_names(recap.week_ahead.week) if recap.week_ahead else {},
        leading_sectors=leading_sectors,
        min_coverage=MIN_COVERAGE,
    )


def write_story(recap: WeeklyRecap, config: RecapConfig) -> tuple[str, str, tuple[Any, ...]]:
    """(headline, dek, paragraphs) for a recap whose facts are computed."""
    return headline(recap, config), dek(recap, config), paragraphs(recap, config)
