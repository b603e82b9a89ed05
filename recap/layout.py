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
    partial: str = ""  # the page's template, templates/sections/_<partial>.html.j2

    @property
    def template(self) -> str:
        """The page's partial for this section (the page includes them in this order)."""
        return f"sections/_{self.partial or self.key}.html.j2"


SECTIONS: tuple[Section, ...] = (
    Section(
        "moves", "Key Market Moves", ("indexes",), ("indexes", "small-vs-large"), partial="indexes"
    ),
    Section("beyond", "Beyond Stocks", (), ("markets",), partial="markets"),
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
    Section("ahead", "Week Ahead", ("week_ahead",), (), partial="week_ahead"),
    Section("conclusion", "Conclusion", ("conclusion",), ()),
)


def shown_sections(recap: WeeklyRecap) -> tuple[Section, ...]:
    """The sections this week's report shows, in order (see ``shown``)."""
    return shown(
        beyond=bool(recap.markets),
        risks=bool(recap.risks),
        week_ahead=bool(recap.week_ahead),
        conclusion=bool(recap.paragraphs("conclusion")),
    )


def shown(
    *, risks: bool, week_ahead: bool, conclusion: bool, beyond: bool = False
) -> tuple[Section, ...]:
    """The sections a week shows, in order: market moves, sectors and banks always (an
    empty one says so in one line); the risk spotlight, the week ahead and the conclusion
    only when the week has them, and so is Beyond Stocks (rates, oil, the dollar...)."""
    has = {"beyond": beyond, "risks": risks, "ahead": week_ahead, "conclusion": conclusion}
    return tuple(s for s in SECTIONS if has.get(s.key, True))


__all__ = ["SECTIONS", "Section", "shown", "shown_sections"]
