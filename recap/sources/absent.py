"""The store's negative cache: tickers Yahoo answered it does not carry, and when.

A ticker Yahoo does not carry (a 404, "possibly delisted") gets no coverage, so without
this table every run would ask for it again: on a repeat build, almost all the requests
(about 70 constituents of ~2,000). Each entry expires after ``max_age``: a listing can
come back (a new symbol, a spin-off that starts trading). A rate limit or an unreachable
network is never recorded here: that is a failure, asked again on the next run.

The table lives in the store's SQLite file, created here when first used (as the send
ledger keeps its own tables there), so the store's migrations are untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from recap.store import Store

_SCHEMA = """CREATE TABLE IF NOT EXISTS absent (
    ticker TEXT PRIMARY KEY, checked_at TEXT NOT NULL
)"""


def _stamp(when: dt.datetime) -> str:
    """UTC ISO text: compared as text, so every stamp is written the same way."""
    return when.astimezone(dt.UTC).isoformat()


class AbsentList:
    """Tickers the upstream said it does not carry, each with the time it said so."""

    def __init__(self, store: Store, max_age: dt.timedelta) -> None:
        self.store = store
        self.max_age = max_age
        with store.transaction() as conn:
            conn.execute(_SCHEMA)

    def fresh(self, tickers: Iterable[str], now: dt.datetime) -> set[str]:
        """Those of ``tickers`` found absent less than ``max_age`` before ``now``."""
        names = list(dict.fromkeys(tickers))
        if not names or self.max_age <= dt.timedelta(0):
            return set()
        since = _stamp(now - self.max_age)
        found: set[str] = set()
        conn = self.store.connection
        for i in range(0, len(names), 500):  # SQLite's limit on bound parameters
            part = names[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = conn.execute(
                f"SELECT ticker FROM absent WHERE ticker IN ({marks}) AND checked_at > ?",
                (*part, since),
            ).fetchall()
            found.update(r[0] for r in rows)
        return found

    def mark(self, tickers: Iterable[str], now: dt.datetime) -> None:
        """Record ``tickers`` as not carried, as of ``now``."""
        stamp = _stamp(now)
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO absent (ticker, checked_at) VALUES (?, ?)",
                [(t, stamp) for t in dict.fromkeys(tickers)],
            )

    def clear(self, tickers: Iterable[str]) -> None:
        """Forget ``tickers`` (they answered with data)."""
        with self.store.transaction() as conn:
            conn.executemany("DELETE FROM absent WHERE ticker = ?", [(t,) for t in tickers])


__all__ = ["AbsentList"]
