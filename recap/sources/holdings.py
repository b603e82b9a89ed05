"""An index ETF's holdings files (the iShares layout): its constituents, their sectors
and weights, dated by the file's "Fund Holdings as of" line.

iShares writes nine header lines (fund name, "Fund Holdings as of", ...), then a
table with Ticker, Name, Sector, Asset Class, Market Value, Weight (%), ... and a legal
footer. Only equity rows count; weights are normalized over them. A file is refused, naming
it, when it cannot be whole: its rows' weights (every asset class) do not add up to about
100% (a download or copy cut short), an equity weight is negative, a line repeats an
earlier one exactly, or it holds far fewer positions than the file before it. A folder
of dated files (``IWM-2025-11-05.csv``, ``IWM-2026-01-21.csv``, ...) is a history of holdings: the
attribution picks, for each period, the file that was current at its start.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from recap.errors import DataError
from recap.sources.symbols import symbol_map

# iShares names a few sectors differently from the Select Sector SPDRs (GICS names).
SECTOR_ALIASES = {"Communication": "Communication Services"}
REQUIRED = ("Ticker", "Sector", "Asset Class", "Weight (%)")
# Rows iShares lists without a market (rights, CVRs, delisted shells): never priced.
UNLISTED = "NO MARKET"
DATED_FILE = re.compile(r"^(?P<fund>[A-Za-z0-9]+)-(?P<date>\d{4}-\d{2}-\d{2})\.csv$")
# iShares files add up to 99.8-100.0% (cash and futures included): a file short of
# this lost rows. The real files hold 99.78-99.98%.
WEIGHT_TOTAL_RANGE = (97.0, 103.0)
# A fund's position count moves by a few percent between files; a file with under this
# share of the previous file's positions is cut short, whatever its weights say.
MIN_POSITIONS_SHARE = 0.8


@dataclass(frozen=True)
class Holdings:
    """Sector weights of an index ETF, with where they came from."""

    fund: str
    as_of: dt.date | None
    source: str
    sector_weights: tuple[tuple[str, float], ...]  # (GICS sector, fraction), largest first
    positions: int


@dataclass(frozen=True, eq=False)
class HoldingsFile:
    """One dated holdings file: the fund's equity positions.

    ``table`` has one row per position: ``ticker`` (the Yahoo symbol, "" when the
    position has no market), ``name``, ``sector``, ``weight`` (fractions summing to 1)
    and ``shares`` (the Quantity column; NaN without one).
    """

    fund: str  # the fund's name as the file gives it, e.g. "iShares Russell 2000 ETF"
    as_of: dt.date
    source: str  # the file's name, e.g. "IWM-2025-11-05.csv"
    table: pd.DataFrame = field(repr=False)

    @property
    def positions(self) -> int:
        """Number of equity positions."""
        return len(self.table)

    def sector_weights(self) -> tuple[tuple[str, float], ...]:
        """Weights summed by sector, largest first."""
        sums = self.table.groupby("sector", sort=True)["weight"].sum()
        return normalized({str(k): float(v) for k, v in sums.items()})

    def tickers(self) -> tuple[str, ...]:
        """The Yahoo symbols of the listed positions, in file order."""
        # tolist first: iterating a column of strings boxes each one, 20x slower
        return tuple(t for t in self.table["ticker"].tolist() if t)


@dataclass(frozen=True)
class IndexHoldings:
    """What the attribution has to go on for one index ETF: dated holdings files
    (oldest first) or, without them, only sector weights (Yahoo's fund data, config)."""

    fund: str  # the ETF's ticker, e.g. "IWM"
    files: tuple[HoldingsFile, ...] = ()
    weights: Holdings | None = None

    def pick(self, base: dt.date) -> HoldingsFile | None:
        """The latest file dated on or before ``base``; the earliest when none is that old."""
        if not self.files:
            return None
        before = [f for f in self.files if f.as_of <= base]
        return before[-1] if before else self.files[0]


def _as_of(text: str) -> dt.date | None:
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _number(text: str) -> float:
    return float(text.replace(",", "").strip())


def _quantity(text: str) -> float:
    """A share count; NaN when the cell holds none (the count is only ever evidence)."""
    try:
        return _number(text)
    except ValueError:
        return float("nan")


def yahoo_symbol(ticker: str) -> str:
    """iShares ticker -> Yahoo symbol: 'BRK.B' -> 'BRK-B', 'BRKB' -> 'BRK-B' and renamed
    companies by recap/data/symbols.csv; '-' (no ticker) -> ''."""
    t = ticker.strip().upper()
    if not t or t == "-" or not re.fullmatch(r"[A-Z0-9.\-/ ]+", t):
        return ""
    return symbol_map().get(t) or re.sub(r"[./ ]", "-", t)


def parse_holdings(
    text: str, where: str, fallback_date: dt.date | None = None, *, exact: bool = False
) -> HoldingsFile:
    """The equity positions of an iShares holdings CSV; DataError naming ``where`` and the line.

    ``exact``: weights from Market Value (each row's over the equity rows' sum) rather
    than Weight (%), which has two decimals: a large error on the hundreds of positions
    under 0.05%.
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header_at = next((i for i, r in enumerate(rows) if r[:1] == ["Ticker"]), None)
    if header_at is None:
        raise DataError(f"{where}: no 'Ticker,Name,Sector,...' header line (not an iShares file?)")
    fund = rows[0][0].strip() if rows and rows[0] else where
    as_of = None
    for r in rows[:header_at]:
        if len(r) >= 2 and r[0].strip().lower() == "fund holdings as of":
            as_of = _as_of(r[1])
    as_of = as_of or fallback_date
    if as_of is None:
        raise DataError(f"{where}: no 'Fund Holdings as of' date in the header lines")
    header = [h.strip() for h in rows[header_at]]
    missing = [n for n in REQUIRED if n not in header]
    if missing:
        raise DataError(f"{where}, line {header_at + 1}: missing column(s) {', '.join(missing)}")
    col = {n: header.index(n) for n in header}
    out: dict[str, list[str]] = {"ticker": [], "name": [], "sector": []}
    weights: list[float] = []
    all_weights = 0.0
    seen: dict[tuple[str, ...], int] = {}
    shares: list[float] = []  # Quantity: a split shows as the count times its ratio
    for lineno, r in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if len(r) < len(header):
            continue
        if r[col["Asset Class"]].strip() != "Equity":
            with contextlib.suppress(ValueError):  # the legal footer, a blank line
                all_weights += _number(r[col["Weight (%)"]])
            continue
        key = "Market Value" if exact and "Market Value" in col else "Weight (%)"
        try:
            weight = _number(r[col[key]])
        except ValueError:
            what = "market value" if key == "Market Value" else "weight"
            raise DataError(
                f"{where}, line {lineno}: {what} {r[col[key]]!r} is not a number"
            ) from None
        if weight < 0:
            raise DataError(
                f"{where}, line {lineno}: weight {r[col['Weight (%)']].strip()} is negative "
                "(a fund holds no negative share of a stock)"
            )
        line = tuple(c.strip() for c in r)
        if line in seen:
            raise DataError(
                f"{where}, line {lineno}: repeats line {seen[line]} exactly (a duplicated row "
                "would count its weight twice)"
            )
        seen[line] = lineno
        # the file's own percentages add up to about 100, whichever column weighs the rows
        with contextlib.suppress(ValueError):
            all_weights += _number(r[col["Weight (%)"]])
        listed = "Exchange" not in col or not r[col["Exchange"]].upper().startswith(UNLISTED)
        ticker = yahoo_symbol(r[col["Ticker"]]) if listed else ""
        sector = r[col["Sector"]].strip()
        out["ticker"].append(ticker)
        out["name"].append(r[col["Name"]].strip() if "Name" in col else ticker)
        out["sector"].append(SECTOR_ALIASES.get(sector, sector))
        weights.append(weight)
        shares.append(_quantity(r[col["Quantity"]]) if "Quantity" in col else float("nan"))
    total = sum(weights)
    if not weights or total <= 0:
        raise DataError(f"{where}: no equity holdings with a weight")
    low, high = WEIGHT_TOTAL_RANGE
    if not low <= all_weights <= high:
        raise DataError(
            f"{where}: the weights add up to {all_weights:.2f}%, not about 100%: the file is "
            f"not whole ({len(weights)} equity rows read); download it again"
        )
    table = pd.DataFrame({**out, "weight": [w / total for w in weights], "shares": shares})
    table = _merge_repeats(table)
    return HoldingsFile(fund=fund, as_of=as_of, source=Path(where).name, table=table)


def _merge_repeats(table: pd.DataFrame) -> pd.DataFrame:
    """One row per listed ticker (a ticker listed twice gets the sum of its weights)."""
    listed = table.loc[table["ticker"] != ""]
    if not listed["ticker"].duplicated().any():
        return table.reset_index(drop=True)
    merged = listed.groupby("ticker", sort=False).agg(
        name=("name", "first"),
        sector=("sector", "first"),
        weight=("weight", "sum"),
        shares=("shares", "sum"),
    )
    merged = merged.reset_index()
    return pd.concat([merged, table.loc[table["ticker"] == ""]], ignore_index=True)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the holdings file ({e})") from None


def read_holdings_file(path: Path, *, exact: bool = False) -> HoldingsFile:
    """One holdings CSV; a dated name (IWM-2025-11-05.csv) stands in for a missing date line."""
    match = DATED_FILE.match(path.name)
    fallback = dt.date.fromisoformat(match["date"]) if match else None
    return parse_holdings(_read_text(path), str(path), fallback, exact=exact)


def read_holdings_folder(
    folder: Path, fund: str, *, exact: bool = False
) -> tuple[HoldingsFile, ...]:
    """Every holdings file of ``fund`` in ``folder`` (dated files and <fund>.csv), oldest
    first, one per as-of date (a dated file wins over the undated copy); ``exact``: weights
    from Market Value (parse_holdings)."""
    if not folder.is_dir():
        return ()
    paths = sorted(p for p in folder.glob(f"{fund}-*.csv") if DATED_FILE.match(p.name))
    plain = folder / f"{fund}.csv"
    if plain.is_file():
        paths.append(plain)
    by_date: dict[dt.date, HoldingsFile] = {}
    for path in paths:
        held = _read_once(path, exact)
        by_date.setdefault(held.as_of, held)
    files = tuple(by_date[d] for d in sorted(by_date))
    for before, after in zip(files, files[1:], strict=False):
        check_positions(after, before, str(folder / after.source))
    return files


def check_positions(held: HoldingsFile, previous: HoldingsFile | None, where: str) -> None:
    """DataError when ``held`` has far fewer positions than the file before it."""
    if previous is None or held.positions >= MIN_POSITIONS_SHARE * previous.positions:
        return
    raise DataError(
        f"{where}: {held.positions} positions, where {previous.source} "
        f"(as of {previous.as_of}) had {previous.positions}: the file looks cut short; "
        "download it again"
    )


# Files already parsed by this process, by path, size and time: a backfill reads each
# holdings file once, not once per week.
_PARSED: dict[tuple[Path, int, int, bool], HoldingsFile] = {}


def _read_once(path: Path, exact: bool = False) -> HoldingsFile:
    try:
        st = path.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read the holdings file ({e.strerror})") from None
    key = (path.resolve(), st.st_size, st.st_mtime_ns, exact)
    if key not in _PARSED:
        _PARSED[key] = read_holdings_file(path, exact=exact)
    return _PARSED[key]


def read_holdings(path: Path) -> Holdings:
    """Sector weights from an iShares holdings CSV; DataError naming the file and line."""
    held = read_holdings_file(path)
    return Holdings(
        fund=held.fund,
        as_of=held.as_of,
        source=f"{held.fund} holdings file",
        sector_weights=held.sector_weights(),
        positions=held.positions,
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


_SUFFIXES = frozenset(
    {"INC", "CORP", "CORPORATION", "CO", "LTD", "PLC", "LLC", "LP", "SA", "NV", "AG", "THE"}
    | {"SERIES", "VOTING"}
)
# Abbreviations iShares writes for want of room.
_SPELLED = {"HOLDNGS": "HOLDINGS", "HLDGS": "HOLDINGS", "INTL": "INTERNATIONAL"}
CUT_AT = 34
_ACRONYMS = frozenset({"REIT", "ETF", "USA", "US", "AI"})
_SMALL_WORDS = frozenset({"AND", "OF", "THE", "FOR", "IN", "ON", "AT", "DE"})


def company_name(raw: str) -> str:
    """'BLOOM ENERGY CLASS A CORP' -> 'Bloom Energy'; 'TTM TECHNOLOGIES INC' -> 'TTM Technologies'.

    iShares writes names in capitals with legal suffixes and share classes; the report
    wants the name a reader knows. Short words without a vowel stay capitals (TTM, UMB).
    """
    words = raw.replace(",", " ").split()
    if len(raw.strip()) >= CUT_AT and len(words) > 1:
        words.pop()  # iShares cuts names at 34 characters: the last word may be part of one
    text = " ".join(words)
    text = re.sub(r"\bCLASS [A-Z]\b|\bCL [A-Z]\b", " ", text.upper())
    words = [_SPELLED.get(w, w) for w in text.split()]
    while len(words) > 1 and (words[-1] in _SUFFIXES or words[-1] in ("CLASS", "CL")):
        words.pop()
    out = []
    for i, w in enumerate(words):
        if any(c.isdigit() for c in w) or w in _ACRONYMS or not re.search(r"[AEIOUY]", w):
            out.append(w)
        elif i and w in _SMALL_WORDS:
            out.append(w.lower())
        else:
            out.append("-".join(part.capitalize() for part in w.split("-")))
    return " ".join(out) or raw.strip()
