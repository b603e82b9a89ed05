"""Live builds: the companies a week's recap shows, under the names Yahoo gives them.

A snapshot's builds name companies from [names] in config, then the names file shipped
with the package (recap/data/names.csv). Live, Yahoo's shortName (through
sources/yahoo.py's seam) comes before the names file, for the companies the recap shows
and [names] does not name: the movers of both attributions, the earnings, the Week Ahead.
Pure: the lookup is handed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from recap.model import WeeklyRecap

NameLookup = Callable[[tuple[str, ...]], dict[str, str]]


def _periods(recap: WeeklyRecap) -> Iterator[Any]:
    for a in (recap.attribution, recap.sp500_attribution):
        if a is not None and a.method == "constituents":
            yield from (p for p in (a.week, a.ytd) if p is not None)


def shown_tickers(recap: WeeklyRecap) -> tuple[str, ...]:
    """Every company ticker the recap names, in a stable order."""
    out: list[str] = []
    for p in _periods(recap):
        out.extend(s.ticker for s in (*p.top, *p.bottom))
    out.extend(r.ticker for r in recap.earnings)
    if recap.week_ahead is not None:
        out.extend(u.ticker for u in recap.week_ahead.earnings)
    if recap.banks is not None:
        out.extend(r.ticker for r in (*recap.banks.reported, *recap.banks.large))
    return tuple(dict.fromkeys(out))


def _renamed(items: tuple[Any, ...], names: Mapping[str, str]) -> tuple[Any, ...]:
    return tuple(
        dataclasses.replace(x, name=names[x.ticker]) if x.ticker in names else x for x in items
    )


def with_live_names(
    recap: WeeklyRecap, lookup: NameLookup, config_names: Mapping[str, str]
) -> WeeklyRecap:
    """The recap with Yahoo's names for the companies it shows ([names] in config wins)."""
    wanted = tuple(t for t in shown_tickers(recap) if t not in config_names)
    names = lookup(wanted) if wanted else {}
    if not names:
        return recap

    def period(p: Any) -> Any:
        if p is None:
            return None
        return dataclasses.replace(p, top=_renamed(p.top, names), bottom=_renamed(p.bottom, names))

    def attribution(a: Any) -> Any:
        if a is None or a.method != "constituents":
            return a
        return dataclasses.replace(a, week=period(a.week), ytd=period(a.ytd))

    changes: dict[str, Any] = {
        "attribution": attribution(recap.attribution),
        "sp500_attribution": attribution(recap.sp500_attribution),
        "earnings": _renamed(recap.earnings, names),
    }
    if recap.week_ahead is not None:
        changes["week_ahead"] = dataclasses.replace(
            recap.week_ahead, earnings=_renamed(recap.week_ahead.earnings, names)
        )
    if recap.banks is not None:
        changes["banks"] = dataclasses.replace(
            recap.banks,
            reported=_renamed(recap.banks.reported, names),
            large=_renamed(recap.banks.large, names),
        )
    return dataclasses.replace(recap, **changes)


__all__ = ["NameLookup", "shown_tickers", "with_live_names"]
