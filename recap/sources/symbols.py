"""Reference tables shipped in the package (recap/data/): iShares tickers -> Yahoo
symbols, and company names as the companies write them.

Read once per process; a broken shipped file is a DataError naming the file and line.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from recap.errors import DataError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SYMBOLS_FILE = DATA_DIR / "symbols.csv"
NAMES_FILE = DATA_DIR / "names.csv"


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, [])
    if tuple(header[: len(columns)]) != columns:
        raise DataError(f"{path}, line 1: expected the columns {','.join(columns)}")
    out = []
    for lineno, row in enumerate(reader, start=2):
        if len(row) < len(columns) or not all(v.strip() for v in row[: len(columns)]):
            raise DataError(f"{path}, line {lineno}: expected {len(columns)} non-empty fields")
        out.append(tuple(v.strip() for v in row[: len(columns)]))
    return out


@cache
def symbol_map() -> dict[str, str]:
    """iShares ticker -> Yahoo symbol, where the two differ by more than '.' -> '-'
    (class shares written without a separator, renamed companies)."""
    return dict(_rows(SYMBOLS_FILE, ("ishares", "yahoo")))  # type: ignore[arg-type]


@cache
def company_names() -> dict[str, str]:
    """Yahoo symbol -> the company's name as it writes it (IonQ, SiTime, D-Wave Quantum)."""
    return dict(_rows(NAMES_FILE, ("symbol", "name")))  # type: ignore[arg-type]


def reader_name(ticker: str, raw: str, names: Mapping[str, str]) -> str:
    """The name a reader knows: [names] in config, then the shipped names file, then the
    holdings file's name tidied by rule (holdings.company_name)."""
    from recap.sources.holdings import company_name

    return names.get(ticker) or company_names().get(ticker) or company_name(raw)


__all__ = ["company_names", "reader_name", "symbol_map"]
