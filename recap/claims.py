"""Typed claims: every figure the prose states, with what it is and where it came from.

A claim is one figure about one subject: the S&P 500's return over the week, what
industrial stocks added to the Russell 2000, a bank's reaction to its results. It carries
the figure as printed and its provenance (the series, the dates and the values read), so
that the checker can recompute it from the data (``verify``) and the page can show where
it came from (``tooltip``). The prose is written from claims (recap/storyplan.py), never
the other way round.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from recap import formatting as f


class Measure(StrEnum):
    """What a claim's figure measures (a closed set: the checker knows how to redo each)."""

    CLOSE = "close"  # a level on a date
    RETURN = "return"  # end / start - 1 over the period
    POINTS = "points"  # end - start, in index points
    SPREAD = "spread"  # one return minus another, in percentage points
    BELOW_HIGH = "below_high"  # 1 - close / highest close of the window
    CONTRIBUTION = "contribution"  # percentage points a sector or stock added to an index
    SHARE = "share"  # a share of the gains
    REACTION = "reaction"  # a stock's move around its earnings release
    SURPRISE = "surprise"  # (actual - estimate) / |estimate|
    EPS = "eps"  # earnings per share in dollars
    COUNT = "count"  # how many names
    STREAK = "streak"  # consecutive weeks or sessions
    LEVEL = "level"  # a round level crossed (a milestone)
    CORRELATION = "correlation"
    MULTIPLE = "multiple"


RECOMPUTED = frozenset(
    {Measure.CLOSE, Measure.RETURN, Measure.POINTS, Measure.SPREAD, Measure.BELOW_HIGH}
    | {Measure.REACTION}
)


@dataclass(frozen=True)
class Source:
    """One series read for a claim: its values on the start and end dates."""

    series: str  # a Yahoo symbol, or a file such as "holdings IWM 2025-11-05"
    end: dt.date
    end_value: float
    start: dt.date | None = None
    start_value: float | None = None

    def describe(self, name: str = "") -> str:
        """'Russell 2000: 2,677.74 on Jan 16 against 2,624.19 on Jan 9'."""
        who = name or self.series
        text = f"{who}: {f.price(self.end_value)} on {f.day(self.end)}"
        if self.start is not None and self.start_value is not None:
            text += f" against {f.price(self.start_value)} on {f.day(self.start)}"
        return text


@dataclass(frozen=True)
class Claim:
    """One figure the prose states about one subject."""

    subject: str  # as readers know it: "S&P 500", "Industrials", "Bloom Energy"
    kind: str  # "index", "sector", "stock", "basket", "fund", "bank", "breadth"
    key: str  # a stable id: the symbol, the sector's name
    measure: Measure
    period: str  # "week", "ytd", "day", "52w", "release", "3m"
    value: float
    text: str  # the figure as printed in the sentence
    sources: tuple[Source, ...] = ()

    @property
    def direction(self) -> int:
        """+1, -1, or 0 for a figure that prints as zero."""
        if self.text.strip("+-$%ptsbx ").replace("0", "").replace(".", "").replace(",", ""):
            return (self.value > 0) - (self.value < 0)
        return 0

    def tooltip(self) -> str:
        """Where the figure came from, in one line."""
        if not self.sources:
            return f"{self.subject}: {self.measure.value} ({self.period}) {self.text}"
        return "; ".join(
            s.describe(self.subject if i == 0 else "") for i, s in enumerate(self.sources)
        )

    def to_json(self, text: str) -> dict[str, object]:
        """The claim in recap.json: its words as printed and its provenance."""
        return {
            "text": text,
            "figure": self.text,
            "subject": self.subject,
            "kind": self.kind,
            "key": self.key,
            "measure": self.measure.value,
            "period": self.period,
            "value": self.value,
            "sources": [
                {
                    "series": s.series,
                    "start": s.start.isoformat() if s.start else None,
                    "start_value": s.start_value,
                    "end": s.end.isoformat(),
                    "end_value": s.end_value,
                }
                for s in self.sources
            ],
        }


# A close as the data holds it: (series, date) -> close, or None when it has none.
Closes = Callable[[str, dt.date], float | None]
TOLERANCE = 1e-9


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def recompute(claim: Claim, closes: Closes) -> float | None:
    """The claim's figure redone from the closes its sources name; None when the measure is
    not one a price series gives (a count, a contribution from a holdings file)."""
    if claim.measure not in RECOMPUTED or not claim.sources:
        return None
    values: list[tuple[float | None, float | None]] = []
    for s in claim.sources:
        end = closes(s.series, s.end)
        start = closes(s.series, s.start) if s.start is not None else None
        values.append((start, end))
    (start, end), *rest = values
    if end is None:
        return math.nan
    if claim.measure is Measure.CLOSE:
        return end
    if start is None:
        return math.nan
    if claim.measure in (Measure.RETURN, Measure.REACTION):
        return end / start - 1.0
    if claim.measure is Measure.POINTS:
        return end - start
    if claim.measure is Measure.BELOW_HIGH:
        # start: the highest close of the window; end: the close measured against it
        return max(0.0, 1.0 - end / start)
    if claim.measure is Measure.SPREAD and rest:
        (start2, end2) = rest[0]
        if start2 is None or end2 is None:
            return math.nan
        return (end / start - 1.0) - (end2 / start2 - 1.0)
    return None


def verify(claims: Iterable[Claim], closes: Closes) -> tuple[int, tuple[str, ...]]:
    """(how many figures were recomputed from the data, the mismatches named).

    A claim whose sources' values differ from the data, or whose value differs from what
    they give, is a mismatch. Its sign is held too: a figure is never told the wrong way.
    """
    checked = 0
    problems: list[str] = []
    for c in claims:
        redone = recompute(c, closes)
        if redone is None:
            continue
        checked += 1
        for s in c.sources:
            if not _same(closes(s.series, s.end), s.end_value):
                problems.append(
                    f"{c.subject} {c.measure.value}: {s.series} on {s.end} is not "
                    f"{s.end_value} in the data"
                )
            if s.start is not None and not _same(closes(s.series, s.start), s.start_value):
                problems.append(
                    f"{c.subject} {c.measure.value}: {s.series} on {s.start} is "
                    f"not {s.start_value} in the data"
                )
        if math.isnan(redone) or not math.isclose(redone, c.value, rel_tol=1e-7, abs_tol=1e-9):
            problems.append(
                f"{c.subject} {c.measure.value} ({c.period}): {c.value!r} in the model, "
                f"{redone!r} from the data"
            )
    return checked, tuple(problems)


__all__ = ["Claim", "Closes", "Measure", "Source", "recompute", "verify"]
