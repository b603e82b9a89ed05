"""The report's sections, one registry for every format: the page, the PDF, the email, its
text part and the blog post show the same sections, under the same names, with the same
charts in the same order. Pure: no I/O, no Jinja.
"""

from __future__ import annotations

from dataclasses import dataclass

from recap.model import WeeklyRecap


@dataclass(frozen=True)
class Section:
    """One section of the report as every format names and fills it."""

    key: str  # the page's anchor (its h2 id)
    title: str
    parts: tuple[str, ...]  # the narrative's paragraph sections it holds
    charts: tuple[str, ...]  # chart names, in the page's order
    empty: str = ""  # the one line shown when the section has nothing this week


SECTIONS: tuple[Section, ...] = (
    Section("moves", "Key Market Moves", ("indexes",), ("indexes", "small-vs-large")),
    Section(
        "sectors",
        "Sector Highlights and Drivers",
        ("attribution", "sectors"),
        ("attribution", "top-stocks", "sectors"),
        empty="No sector or theme data for this week.",
    ),
    Section(
        "banks",
        "Regional Banks",
        ("banks",),
        ("banks",),
        empty="The data holds no regional- or large-bank results for this week.",
    ),
    Section("risks", "Risk Spotlight", ("risks",), ()),
    Section("ahead", "Week Ahead", ("week_ahead",), ()),
    Section("conclusion", "Conclusion", ("conclusion",), ()),
)


def shown_sections(recap: WeeklyRecap) -> tuple[Section, ...]:
    """The sections this week's report shows, in order.

    Market moves, sectors and banks always show (an empty one says so in one line);
    the risk spotlight, the week ahead and the conclusion only when the week has them.
    """
    out = []
    for s in SECTIONS:
        if s.key == "risks" and not recap.risks:
            continue
        if s.key == "ahead" and not recap.week_ahead:
            continue
        if s.key == "conclusion" and not recap.paragraphs(*s.parts):
            continue
        out.append(s)
    return tuple(out)


__all__ = ["SECTIONS", "Section", "shown_sections"]
