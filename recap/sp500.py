"""Where the S&P 500's move came from, for one week: its own stocks' contributions, in
percentage points of return and in index points, for the week and the year to date.

Pure: config, holdings and frames in, the model and data notes out. The method is the
Russell 2000's (analytics/attribution.py), with weights from the IVV holdings files'
Market Value, points from the index's level, and the year to date chain-linked across
the holdings files dated in it (analytics/points.py). A period whose priced stocks
cover less than [sp500_attribution] min_coverage of the weight gives no figures: the
model keeps only its coverage, and a data note says why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import pandas as pd

from recap import formatting as f
from recap.analytics.points import attribute_points, pieces
from recap.config import RecapConfig
from recap.model import IndexAttribution, PeriodPoints, StockPoints, Week
from recap.sources.holdings import IndexHoldings
from recap.sources.symbols import reader_name
from recap.weeks import ytd_base_session


def _named(period: PeriodPoints, names: Mapping[str, str]) -> PeriodPoints:
    def tidy(stocks: tuple[StockPoints, ...]) -> tuple[StockPoints, ...]:
        return tuple(
            dataclasses.replace(x, name=reader_name(x.ticker, x.name, names)) for x in stocks
        )

    top = tidy(period.top)  # type: ignore[arg-type]  # attribute_points makes StockPoints
    bottom = tidy(period.bottom)  # type: ignore[arg-type]
    return dataclasses.replace(period, top=top, bottom=bottom)


def compute_sp500_attribution(
    closes: pd.DataFrame,
    constituents: pd.DataFrame | None,
    week: Week,
    config: RecapConfig,
    holdings: IndexHoldings | None,
) -> tuple[IndexAttribution | None, tuple[str, ...]]:
    """The S&P 500's attribution of the week and the year to date, and data notes."""
    c = config.sp500_attribution
    spec = config.index_by_role("large")
    if not c.etf or spec is None or holdings is None or not holdings.files:
        return None, ()
    index = spec.name
    if constituents is None or spec.symbol not in closes:
        return None, (f"No closes for the {index} or its stocks: its attribution is left out.",)
    levels = closes[spec.symbol].dropna()
    files = [(h.table, h.as_of) for h in holdings.files]
    sessions = pd.DatetimeIndex(levels.index)
    periods: dict[str, PeriodPoints | None] = {}
    coverage: dict[str, float | None] = {}
    notes: list[str] = []
    for key, base in (("week", week.base_date), ("ytd", ytd_base_session(week))):
        parts = pieces(files, sessions, base, week.end)
        found = attribute_points(parts, constituents, levels, top=c.top)
        coverage[key] = None if found is None else found.coverage
        periods[key] = None
        if found is None:
            continue
        label = "the week" if key == "week" else "the year to date"
        if found.coverage < c.min_coverage:
            notes.append(
                f"{index} attribution for {label}: its stocks with prices cover "
                f"{f.pct(found.coverage, 1)} of its weight in the {holdings.fund} holdings "
                f"of {f.long_date(found.holdings_as_of or base)}, under the "
                f"{f.pct(c.min_coverage, 0)} needed, so no figures are given."
            )
            continue
        periods[key] = _named(found, config.names)
        if key == "week":
            notes.append(
                f"{index} attribution: the {holdings.fund} holdings of "
                f"{f.long_date(found.holdings_as_of or base)} (weights by market value), "
                f"{f.pct(found.coverage, 2)} of the weight priced; the stocks' contributions "
                f"miss the index's week by {abs(found.residual_points):,.2f} points "
                "(the stocks' closes include dividends, the index's level does not; unpriced "
                "holdings are left out)."
            )
    if all(v is None for v in coverage.values()):
        return None, tuple(notes)
    return (
        IndexAttribution(
            index=index,
            fund=holdings.fund,
            method="constituents",
            week=periods["week"],
            ytd=periods["ytd"],
            min_coverage=c.min_coverage,
            week_coverage=coverage["week"],
            ytd_coverage=coverage["ytd"],
        ),
        tuple(notes),
    )


def heavyweights(holdings: IndexHoldings | None, day: dt.date, n: int) -> dict[str, float]:
    """The ``n`` largest members by weight in the holdings file current at ``day``
    (ticker -> weight, largest first): the companies whose earnings lead the Week Ahead."""
    held = holdings.pick(day) if holdings is not None else None
    if held is None or n <= 0:
        return {}
    table = held.table.loc[held.table["ticker"] != ""].nlargest(n, "weight")
    return {str(t): float(w) for t, w in zip(table["ticker"], table["weight"], strict=True)}


__all__ = ["compute_sp500_attribution", "heavyweights"]
