"""The store's cache of company names Yahoo gave (shortName), and when.

A live build asks Yahoo for the names of the companies its recap shows (up to 80 quote
pages, one request each): without this table a repeat build asked for every one of them
again, most of a repeat's requests. A name is kept ``max_age`` (a company renamed is
picked up within that). A ticker Yahoo gave no name for is kept as such for
``MISS_AGE`` (the names file stands in meanwhile), so a repeat does not ask again at once.
The table lives in the store's SQLite file, created here when first used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from recap.store import Store

_SCHEMA = """CREATE TABLE IF NOT EXISTS company_names (
    ticker TEXT PRIMARY KEY, name TEXT NOT NULL, fetched_at TEXT NOT NULL
)"""
MAX_AGE = dt.timedelta(days=90)
MISS_AGE = dt.timedelta(days=7)

NameLookup = Callable[[tuple[str, ...]], dict[str, str]]


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def remembered(
    fetch: NameLookup, store: Store, now: dt.datetime, max_age: dt.timedelta = MAX_AGE
) -> NameLookup:
    """``fetch`` behind the store: names held and fresh are answered from it, the rest
    asked of ``fetch`` and kept."""
    with store.transaction() as conn:
        conn.execute(_SCHEMA)

    def lookup(tickers: tuple[str, ...]) -> dict[str, str]:
        wanted = tuple(dict.fromkeys(tickers))
        since = _stamp(now - max_age)
        missed_since = _stamp(now - MISS_AGE)
        held: dict[str, str] = {}
        conn = store.connection
        for i in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = conn.execute(
                f"SELECT ticker, name FROM company_names WHERE ticker IN ({marks}) "
                "AND fetched_at > (CASE WHEN name = '' THEN ? ELSE ? END)",
                (*part, missed_since, since),
            ).fetchall()
            held.update({str(t): str(n) for t, n in rows})
        missing = tuple(t for t in wanted if t not in held)
        got = fetch(missing) if missing else {}
        if missing:
            with store.transaction() as tx:
                tx.executemany(
                    "INSERT OR REPLACE INTO company_names (ticker, name, fetched_at) "
                    "VALUES (?, ?, ?)",
                    [(t, got.get(t, ""), _stamp(now)) for t in missing],
                )
        return {t: held.get(t) or got[t] for t in wanted if held.get(t) or t in got}

    return lookup


__all__ = ["MAX_AGE", "MISS_AGE", "NameLookup", "remembered"]
