"""Words that carry numbers: verbs sized to a move, headline case, ordinals, holiday names,
and the week's choice among equivalent phrasings.

Verbs follow the house scale (EDITORIAL.md): for an index, under 0.25% "edged up", 0.25% to
1% "rose", 1% to 2.5% "climbed", 2.5% to 4% "jumped", over 4% "surged"; a single stock or
a basket of stocks moves on a scale three times as wide. The checker reads the same scale
back, so a verb never outgrows its figure.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Sequence

INDEX = "index"
STOCK = "stock"
SCALES = {INDEX: 1.0, STOCK: 3.0}
# Upper bounds of each band on the index scale (fractions); the last band is open.
BANDS = (0.0025, 0.01, 0.025, 0.04)
UP = (
    ("edged up", "edged higher"),
    ("rose", "gained", "added"),
    ("climbed", "advanced"),
    ("jumped", "rallied"),
    ("surged", "soared"),
)
DOWN = (
    ("edged down", "edged lower"),
    ("slipped", "eased", "fell"),
    ("fell", "declined", "dropped"),
    ("slid", "sank"),
    ("tumbled", "plunged"),
)
FLAT = "was unchanged"
# Present tense of each verb, for headlines: (singular subject, plural subject).
PRESENT = {
    "edged up": ("Edges Up", "Edge Up"),
    "edged higher": ("Edges Higher", "Edge Higher"),
    "rose": ("Rises", "Rise"),
    "gained": ("Gains", "Gain"),
    "added": ("Gains", "Gain"),
    "climbed": ("Climbs", "Climb"),
    "advanced": ("Advances", "Advance"),
    "jumped": ("Jumps", "Jump"),
    "rallied": ("Rallies", "Rally"),
    "surged": ("Surges", "Surge"),
    "soared": ("Soars", "Soar"),
    "edged down": ("Edges Down", "Edge Down"),
    "edged lower": ("Edges Lower", "Edge Lower"),
    "slipped": ("Slips", "Slip"),
    "eased": ("Eases", "Ease"),
    "fell": ("Falls", "Fall"),
    "declined": ("Declines", "Decline"),
    "dropped": ("Drops", "Drop"),
    "slid": ("Slides", "Slide"),
    "sank": ("Sinks", "Sink"),
    "tumbled": ("Tumbles", "Tumble"),
    "plunged": ("Plunges", "Plunge"),
    FLAT: ("Holds Steady", "Hold Steady"),
}
MINOR = frozenset(
    ("a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to")
)
ORDINAL_WORDS = (
    "",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)
NUMBER_WORDS: tuple[str, ...] = (
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)
NUMBER_WORDS += ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen")
NUMBER_WORDS += ("seventeen", "eighteen", "nineteen", "twenty")
# Holiday names as a reader says them; exchange_calendars' names on the left.
HOLIDAYS = {
    "Juneteenth National Independence Day": "Juneteenth",
    "President's Day": "Presidents Day",
    "Washington's Birthday": "Presidents Day",
    "July 4th": "Independence Day",
    "Christmas": "Christmas",
    "Thanksgiving": "Thanksgiving",
}


def band(value: float, scale: str = INDEX) -> int:
    """0 (under 0.25% for an index) to 4 (over 4%), on the given scale."""
    size = abs(value) / SCALES[scale]
    return next((i for i, limit in enumerate(BANDS) if size < limit), len(BANDS))


def verb_options(value: float, scale: str = INDEX) -> tuple[str, ...]:
    """Every verb that fits ``value`` on ``scale``; 'was unchanged' when it prints as 0.00%."""
    if round(value * 10000) == 0:
        return (FLAT,)
    return (UP if value > 0 else DOWN)[band(value, scale)]


def verb(value: float, scale: str = INDEX, pick: int = 0) -> str:
    """'climbed' for +2.04% on the index scale; ``pick`` chooses among equivalent verbs."""
    options = verb_options(value, scale)
    return options[pick % len(options)]


def fits(word: str, value: float) -> bool:
    """True when ``word`` is a verb of the scale that fits ``value`` on either scale."""
    return any(word in verb_options(value, s) for s in SCALES) or word == FLAT


SCALED_VERBS = frozenset(v for bands in (UP, DOWN) for group in bands for v in group)


def present(past: str, plural: bool = False) -> str:
    """'climbed' -> 'Climbs' (or 'Climb' for a plural subject such as 'Stocks')."""
    return PRESENT[past][1 if plural else 0]


def title(text: str) -> str:
    """Headline case that keeps acronyms: 'AI hardware' -> 'AI Hardware'."""
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):
        if i and w.lower() in MINOR:
            out.append(w.lower())
        else:
            out.append(w[:1].upper() + w[1:])
    return " ".join(out)


def cap(text: str) -> str:
    """First letter upper case, the rest untouched: 'the S&P 500' -> 'The S&P 500'."""
    return text[:1].upper() + text[1:]


SECTOR_ADJECTIVES = {
    "Industrials": "industrial",
    "Financials": "financial",
    "Utilities": "utility",
    "Information Technology": "technology",
}


def sector_word(name: str) -> str:
    """A sector as an adjective mid-sentence: 'Financials' -> 'financial' ('financial
    shares'), 'Real Estate' -> 'real estate'."""
    return SECTOR_ADJECTIVES.get(name, name.lower())


def ordinal_word(n: int) -> str:
    """3 -> 'third'; past ten, '11th'."""
    if 0 < n < len(ORDINAL_WORDS):
        return ORDINAL_WORDS[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def number_word(n: int) -> str:
    """3 -> 'three', 15 -> 'fifteen'; past twenty, digits."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def holiday(day: dt.date, name: str) -> str:
    """A short name for a market holiday: 'Juneteenth', 'the July 3 closure'.

    A holiday observed on another day than its own ("July 4th" on July 3) and a one-off
    closure ("a market holiday") are named by their date.
    """
    if name == "July 4th" and (day.month, day.day) != (7, 4):
        return f"the {day:%B} {day.day} closure"
    if name == "a market holiday":
        return f"the {day:%B} {day.day} closure"
    return HOLIDAYS.get(name, name)


def join(items: Iterable[str], last: str = "and") -> str:
    """['A', 'B', 'C'] -> 'A, B and C'."""
    names = [str(i) for i in items]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {last} " + names[-1]


def week_number(day: dt.date) -> int:
    """A number that goes up by one each week: consecutive weeks choose differently."""
    return day.toordinal() // 7


def choose(options: Sequence[str], day: dt.date, key: str = "") -> str:
    """One of ``options`` for the week of ``day``: the same week always gets the same one,
    the next week the next one. ``key`` keeps different sentence types out of step."""
    if not options:
        return ""
    return options[(week_number(day) + zlib.crc32(key.encode())) % len(options)]


def rotate(options: Sequence[str], day: dt.date, key: str = "") -> tuple[str, ...]:
    """``options`` starting from ``choose``'s pick, in order: fallbacks for a pick that
    cannot be used."""
    if not options:
        return ()
    start = (week_number(day) + zlib.crc32(key.encode())) % len(options)
    return tuple(options[start:]) + tuple(options[:start])
