"""An index ETF's holdings file (the iShares layout) read into sector weights.

iShares writes nine header lines (fund name, "Fund Holdings as of", ...), then a
table with Ticker, Name, Sector, Asset Class, Weight (%), ... and a legal footer.
Only equity rows count; weights are normalized over them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from recap.errors import DataError

# iShares names a few sectors differently from the Select Sector SPDRs (GICS names).
SECTOR_ALIASES = {"Communication": "Communication Services"}


@dataclass(frozen=True)
class Holdings:
    """Sector weights of an index ETF, with where they came from."""

    fund: str
    as_of: dt.date | None
    source: str
    sector_weights: tuple[tuple[str, float], ...]  # (GICS sector, fraction), largest first
    positions: int


def _as_of(text: str) -> dt.date | None:
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _number(text: str) -> float:
    return float(text.replace(",", "").strip())


def read_holdings(path: Path) -> Holdings:
    """Sector weights from an iShares holdings CSV; DataError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the holdings file ({e})") from None
    rows = list(csv.reader(io.StringIO(text)))
    header_at = next((i for i, r in enumerate(rows) if r[:1] == ["Ticker"]), None)
    if header_at is None:
        raise DataError(f"{path}: no 'Ticker,Name,Sector,...' header line (not an iShares file?)")
    fund = rows[0][0].strip() if rows and rows[0] else path.stem
    as_of = None
    for r in rows[:header_at]:
        if len(r) >= 2 and r[0].strip().lower() == "fund holdings as of":
            as_of = _as_of(r[1])
    header = [h.strip() for h in rows[header_at]]
    need = ("Sector", "Asset Class", "Weight (%)")
    missing = [n for n in need if n not in header]
    if missing:
        raise DataError(f"{path}, line {header_at + 1}: missing column(s) {', '.join(missing)}")
    col = {n: header.index(n) for n in need}
    totals: dict[str, float] = {}
    positions = 0
    for lineno, r in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if len(r) < len(header) or r[col["Asset Class"]].strip() != "Equity":
            continue
        try:
            weight = _number(r[col["Weight (%)"]]) / 100.0
        except ValueError:
            raise DataError(
                f"{path}, line {lineno}: weight {r[col['Weight (%)']]!r} is not a number"
            ) from None
        sector = r[col["Sector"]].strip()
        sector = SECTOR_ALIASES.get(sector, sector)
        totals[sector] = totals.get(sector, 0.0) + weight
        positions += 1
    weights = normalized(totals)
    if positions == 0 or not weights:
        raise DataError(f"{path}: no equity holdings with a weight")
    return Holdings(
        fund=fund,
        as_of=as_of,
        source=f"{fund} holdings file",
        sector_weights=weights,
        positions=positions,
    )


def holdings_file(folder: Path, fund: str, as_of: dt.date) -> Path | None:
    """The latest ``<fund>-YYYY-MM-DD.csv`` on or before ``as_of`` (else the earliest),
    or ``<fund>.csv`` when no file is dated; None when there is neither."""
    dated: list[tuple[dt.date, Path]] = []
    for path in folder.glob(f"{fund}-*.csv"):
        try:
            dated.append((dt.date.fromisoformat(path.stem[len(fund) + 1 :]), path))
        except ValueError:
            continue
    if dated:
        dated.sort()
        usable = [p for d, p in dated if d <= as_of]
        return usable[-1] if usable else dated[0][1]
    plain = folder / f"{fund}.csv"
    return plain if plain.is_file() else None


def normalized(totals: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """Sector totals scaled to sum to 1, largest first; empty when they sum to nothing."""
    total = sum(totals.values())
    if total <= 0:
        return ()
    return tuple(sorted(((s, w / total) for s, w in totals.items()), key=lambda x: -x[1]))
