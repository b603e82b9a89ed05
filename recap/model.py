"""The immutable model passed along the pipeline: one WeeklyRecap per week.

Every figure the reports show lives here, computed once. Returns are unrounded
fractions (0.0213 is +2.13%); formatting happens only in the template filters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

SCHEMA_VERSION = 1


def _help(text: str) -> Any:
    return field(metadata={"help": text})


@dataclass(frozen=True)
class Week:
    """One NYSE trading week."""

    start: dt.date = _help("First session of the week")
    end: dt.date = _help("Last session of the week; the output folder is named after it")
    sessions: int = _help("Number of sessions in the week")
    base_date: dt.date = _help("Last session before the week: the base of week returns")
    session_dates: tuple[dt.date, ...] = _help("Every session of the week, in order")
    early_closes: tuple[dt.date, ...] = _help("Sessions of the week that closed early")
    holidays: tuple[dt.date, ...] = _help("Weekdays of the week on which the exchange was shut")

    def __post_init__(self) -> None:
        object.__setattr__(self, "session_dates", tuple(self.session_dates))
        object.__setattr__(self, "early_closes", tuple(self.early_closes))
        object.__setattr__(self, "holidays", tuple(self.holidays))


@dataclass(frozen=True)
class IndexMove:
    """How one index (or its ETF proxy) moved over the week."""

    name: str = _help("Name of what the numbers track, e.g. 'Nasdaq-100' for QQQ")
    symbol: str = _help("Symbol whose closes were used, e.g. '^RUT' or 'IWM'")
    index_symbol: str = _help("The index's own Yahoo symbol, e.g. '^RUT'")
    is_proxy: bool = _help("True when an ETF stood in for the index")
    close: float = _help("Close on the week's last session")
    week_return: float = _help("close(end) / close(base_date) - 1")
    ytd_return: float | None = _help("close(end) / close(last session of prior year) - 1")
    ytd_base_date: dt.date | None = _help("Session whose close is the YTD base")
    high_52w: float = _help("Highest close in the 52 weeks to the week's end")
    pct_below_52w_high: float = _help("1 - close / high_52w; 0.0 at a 52-week closing high")
    record_close: bool | None = _help(
        "Close above every earlier close held; None when under a year of history"
    )
    record_sessions: tuple[dt.date, ...] = _help("Sessions of the week that set a record close")
    history_start: dt.date = _help("First date of the history the source holds")

    @property
    def label(self) -> str:
        """'Russell 2000 (IWM)' for a proxy, 'S&P 500' for the index itself."""
        return f"{self.name} ({self.symbol})" if self.is_proxy else self.name


@dataclass(frozen=True)
class SmallVsLarge:
    """Small caps against large caps: the Russell 2000's week return minus the S&P 500's."""

    small_symbol: str = _help("Symbol used for small caps")
    large_symbol: str = _help("Symbol used for large caps")
    spread: float = _help("Small-cap week return minus large-cap week return")
    positive_streak_weeks: int = _help(
        "Consecutive weeks, ending this one, in which the spread was positive (0 if not)"
    )


@dataclass(frozen=True)
class DataInfo:
    """Where the numbers came from."""

    source: str = _help("'yahoo', 'snapshot', 'store' or 'sample'")
    last_bar: dt.date = _help("Latest session with a bar among the tickers used")
    notes: tuple[str, ...] = _help("Data notes shown in the report: proxies, gaps, missing tickers")

    @property
    def is_sample(self) -> bool:
        """True when built from generated sample data, which must never be delivered."""
        return self.source == "sample"


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of prose, tagged with the report section it belongs to."""

    section: str = _help("Section key, e.g. 'indexes', 'sectors', 'banks', 'conclusion'")
    text: str = _help("The paragraph as plain text")


@dataclass(frozen=True)
class WeeklyRecap:
    """Everything a week's reports show, computed once and never changed."""

    week: Week = _help("The trading week covered")
    generated_at: dt.datetime = _help("When the recap was built (UTC)")
    data: DataInfo = _help("Source and freshness of the data")
    indexes: tuple[IndexMove, ...] = _help("The index table, in config order")
    small_vs_large: SmallVsLarge | None = _help("Russell 2000 minus S&P 500, when both are present")
    headline: str = _help("The week's headline")
    dek: str = _help("One-line summary under the headline")
    narrative: tuple[Paragraph, ...] = _help("Prose for every section, written from the facts")

    def __post_init__(self) -> None:
        object.__setattr__(self, "indexes", tuple(self.indexes))
        object.__setattr__(self, "narrative", tuple(self.narrative))

    def paragraphs(self, section: str) -> tuple[str, ...]:
        """The narrative paragraphs of one section."""
        return tuple(p.text for p in self.narrative if p.section == section)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def recap_to_dict(recap: WeeklyRecap) -> dict[str, Any]:
    """The recap as plain JSON-ready data (recap.json, schema 1)."""
    out: dict[str, Any] = {"schema": SCHEMA_VERSION}
    for f in fields(recap):
        out[f.name] = _plain(getattr(recap, f.name))
    out["data"]["is_sample"] = recap.data.is_sample
    for entry, move in zip(out["indexes"], recap.indexes, strict=True):
        entry["label"] = move.label
    out["narrative"] = [p["text"] for p in out["narrative"]]
    out["narrative_sections"] = [p.section for p in recap.narrative]
    return out
