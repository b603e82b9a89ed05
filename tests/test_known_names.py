"""Company names from Yahoo are kept in the store: a repeat build does not ask again."""

from __future__ import annotations

import datetime as dt

from recap.sources.known_names import MAX_AGE, MISS_AGE, remembered
from recap.store import Store

NOW = dt.datetime(2026, 1, 17, 12, tzinfo=dt.UTC)


def test_names_are_asked_once_then_answered_from_the_store(tmp_path):
    asked: list[tuple[str, ...]] = []

    def fetch(tickers):
        asked.append(tickers)
        return {t: f"{t} Corp" for t in tickers if t != "NONAME"}

    store = Store(tmp_path / "recap.sqlite")
    first = remembered(fetch, store, NOW)(("IONQ", "SITM", "NONAME"))
    assert first == {"IONQ": "IONQ Corp", "SITM": "SITM Corp"}
    # a later run, a new process: the same file; nothing asked again, not even the ticker
    # Yahoo named nothing for (the names file stands in for it)
    again = remembered(fetch, Store(tmp_path / "recap.sqlite"), NOW + dt.timedelta(days=3))
    assert again(("SITM", "IONQ", "NONAME")) == {"SITM": "SITM Corp", "IONQ": "IONQ Corp"}
    assert asked == [("IONQ", "SITM", "NONAME")]
    # after MISS_AGE the unnamed ticker is asked again, the named ones are not
    week = remembered(fetch, Store(tmp_path / "recap.sqlite"), NOW + MISS_AGE + dt.timedelta(1))
    week(("SITM", "IONQ", "NONAME"))
    assert asked[-1] == ("NONAME",)
    # past MAX_AGE a name is asked again (a company renamed is picked up)
    late = remembered(fetch, Store(tmp_path / "recap.sqlite"), NOW + MAX_AGE + dt.timedelta(days=1))
    late(("IONQ",))
    assert asked[-1] == ("IONQ",)
