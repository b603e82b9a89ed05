"""Headlines: many shapes from the week's top stories, never one of the last four weeks'.

``headline_options`` lists every headline the week's stories allow, best first: the top
story joined with the second (where both fit in 70 characters), the top story alone, the
top story with the third. Phrasings and joins rotate with the week, so weeks with similar
facts still read differently.

Never repeating: the week takes its first option that is not among *any* option of the
four weeks before (computed from their own facts by the pipeline). Each earlier week
published one of its options, so no headline can equal one of theirs, and no week's choice
depends on another week's choice: there is no chain to follow back. A headline dated by
its week ends the list, so a week always has one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from recap.stories import Story
from recap.words import PRESENT, rotate

MAX_LENGTH = 70
SECOND_MIN = 1.5  # a second story worth the headline's space
# A second story may join the first with "as" only when it tells part of the same move.
RELATED = frozenset({"theme", "rotation", "sweep", "drivers"})
INDEX_KINDS = frozenset(
    {"milestone", "record", "move", "spread", "quiet", "streak", "drawdown", "day"}
)
CONJUNCTIONS = (" as ", " While ", ", ", " and ")
# Each headline verb form, mapped to its verb: "Tumbles" and "Tumble" are one verb.
VERB_OF = {form.split()[0]: past.split()[0] for past, forms in PRESENT.items() for form in forms}


def _verbs(phrase: str) -> set[str]:
    return {VERB_OF[w] for w in (x.strip(",;:") for x in phrase.split()) if w in VERB_OF}


INDEX_WORDS = ("S&P", "Dow", "Nasdaq", "Russell", "Small Caps")


def _second_phrases(first: Story, second: Story) -> tuple[str, ...]:
    out = list(second.phrases)
    if second.risk:
        out.append(f"{second.risk} Risks Spotlighted")
    return tuple(out)


def _joins(first: Story, second: Story) -> tuple[str, ...]:
    if second.risk:
        return ("; ",)  # a risk is its own clause, never "as" or "while" the top story
    joins = ["; "]
    # "as" says the second tells part of the first: the drivers story is about small caps
    # alone, so it joins only a story about the small-cap index.
    about_small = second.kind != "drivers" or first.subject == second.index
    if (
        second.kind in RELATED
        and first.kind in INDEX_KINDS
        and first.direction
        and first.direction == second.direction
        and about_small
    ):
        joins.append(" as ")
    if first.direction and second.direction and first.direction != second.direction:
        joins.append(" While ")
    return tuple(joins)


def _clash(p1: str, p2: str, join: str) -> bool:
    """Two clauses that read badly together: a conjunction joining clauses that already
    have one, the same index named twice, the same verb twice, "Stocks" twice in one
    sentence."""
    joined = any(c in p for p in (p1, p2) for c in CONJUNCTIONS)
    if join.strip() in ("as", "While") and (p2.endswith("Spotlighted") or joined):
        return True
    if _verbs(p1) & _verbs(p2):
        return True
    if join.strip() in ("as", "While") and "Stocks" in p1.split() and "Stocks" in p2.split():
        return True  # "Stocks Climb as AI Hardware Stocks Rise"; a "; " keeps both clauses
    return any(name in p1 and name in p2 for name in INDEX_WORDS)


def _ordered(story: Story, day: dt.date, key: str) -> tuple[str, ...]:
    """The story's phrases for this week: rotated, but a strong first phrase stays first."""
    if story.strong and story.phrases:
        return (story.phrases[0], *rotate(story.phrases[1:], day, key))
    return rotate(story.phrases, day, key)


def _pairs(first: Story, second: Story, day: dt.date, key: str) -> list[str]:
    out: list[str] = []
    p2s = rotate(_second_phrases(first, second), day, key + "2")
    joins = rotate(_joins(first, second), day, key + "join")
    for p1 in _ordered(first, day, key + "1"):
        for join in joins:
            for p2 in p2s:
                # "Industrial Stocks Lead" says whom they lead only after "as" joins it
                # to a small-cap story; on its own it needs its object.
                bare = second.kind == "drivers" and "Small Caps" not in p2
                if not _clash(p1, p2, join) and not (bare and join != " as "):
                    out.append(f"{p1}{join}{p2}")
        if first.strong and p1 == first.phrases[0]:
            out.append(p1)  # the strong phrase alone beats a weaker one with company
    return out


def _same_subject(a: Story, b: Story) -> bool:
    return a.subject == b.subject and a.kind in INDEX_KINDS and b.kind in INDEX_KINDS


def headline_options(stories: Sequence[Story], day: dt.date) -> tuple[str, ...]:
    """Every headline the stories allow, best first, each at most 70 characters."""
    told = [s for s in stories if s.phrases or s.risk]
    if not told or not told[0].phrases:
        told = [s for s in told if s.phrases] or []
    if not told:
        return (dated("Stocks Close Out the Week", day),)
    first = told[0]
    if first.kind == "drivers":  # its short phrase needs a story to follow ("as ...")
        first = Story(**{**first.__dict__, "phrases": first.phrases[:2]})
    rest = [s for s in told[1:] if not _same_subject(first, s) and s.score >= SECOND_MIN]
    out: list[str] = []
    if rest:
        second = rest[0]
        if second.risk and second not in stories[:2]:
            # Only the week's two biggest stories may carry a risk into the headline.
            second = Story(**{**second.__dict__, "risk": ""})
        if second.phrases or second.risk:
            out += _pairs(first, second, day, "a")
    # a bare two-word headline ("Stocks Fall") says too little alone
    out += [p for p in _ordered(first, day, "alone") if len(p.split()) > 2]
    for other in rest[1:3]:
        if other.phrases:
            out += _pairs(first, Story(**{**other.__dict__, "risk": ""}), day, "b")
    fitting = [h for h in dict.fromkeys(out) if len(h) <= MAX_LENGTH]
    shortest = min(first.phrases, key=len)
    fitting.append(dated(shortest, day))
    return tuple(fitting)


AP_MONTHS: tuple[str, ...] = ("Jan.", "Feb.", "March", "April", "May", "June", "July")
AP_MONTHS += ("Aug.", "Sept.", "Oct.", "Nov.", "Dec.")


def dated(phrase: str, day: dt.date) -> str:
    """'Week to Jan. 16: Stocks Slide': unique to its week, the last resort."""
    return f"Week to {AP_MONTHS[day.month - 1]} {day.day}: {phrase}"


def pick_headline(options: Sequence[str], earlier: Iterable[Iterable[str]]) -> str:
    """The first option that is no option of an earlier week (the dated one at worst)."""
    blocked = {h for week in earlier for h in week}
    return next((h for h in options if h not in blocked), options[-1])


__all__ = ["MAX_LENGTH", "dated", "headline_options", "pick_headline"]
