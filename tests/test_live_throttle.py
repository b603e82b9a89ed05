"""The live path under throttling, through yfinance's own code and the replayed Yahoo
(tests/yahoo_replay.py): rate limits a retry overcomes, Retry-After, answers that are no
answers, the time-zone cache, the negative cache, restated history, a run killed midway.
Speed is measured by scripts/bench_live.py (`make bench`), never here."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from recap.config import read_config
from recap.sources.base import BAR_COLUMNS
from recap.sources.cached import CachedSource
from recap.sources.throttle import chart_verdict, retry_after_seconds
from recap.sources.yahoo import YahooSource, us_listings
from recap.store import Store
from tests.yahoo_replay import Replay, new_process

D = dt.date
UTC = dt.UTC
# Saturday after the week of 2026-01-05..09, and the Saturday after.
WEEK_ONE = dt.datetime(2026, 1, 10, 12, tzinfo=UTC)
WEEK_TWO = dt.datetime(2026, 1, 17, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def yahoo_dir(market_dir):
    folder = market_dir.parent / "yahoo"
    if not folder.is_dir():
        pytest.skip(f"recorded Yahoo answers not found at {folder}")
    return folder


@pytest.fixture
def replay(market_dir, yahoo_dir):
    """A replayed Yahoo up to the Friday of week one, and yfinance as a new process
    would find it (its tz cache folder restored afterwards)."""
    from yfinance import cache

    before = cache._TzDBManager.get_location()
    new_process()
    yield Replay(market_dir, yahoo_dir, WEEK_ONE.date() - dt.timedelta(days=1))
    new_process()
    cache.set_cache_location(before)


def _yahoo(replay, tmp_path, sleeps, **kw) -> YahooSource:
    return YahooSource(session=replay, sleep=sleeps.append, cache_dir=tmp_path / "cache", **kw)


def _probes(replay) -> list[str]:
    """Tickers whose time zone yfinance asked for (a chart request for range=1d)."""
    return [t for k, t, q in replay.asked if k == "chart" and q.get("range") == "1d"]


def _bars(replay) -> list[str]:
    return [t for k, t, q in replay.asked if k == "chart" and "period1" in q]


# -- rate limits -------------------------------------------------------------------------


def test_a_rate_limit_a_retry_overcame_never_fails_the_fetch(replay, tmp_path):
    """Two tickers Yahoo does not carry, the first refused once (both of yfinance's tries):
    the retry gets Yahoo's 'not found' for both. That was 'kept refusing requests after 4
    attempts', failing the weekly build."""
    sleeps: list[float] = []
    yahoo = _yahoo(replay, tmp_path, sleeps)
    replay.fail("chart", "ZZZA", 429, times=2)
    assert yahoo.fetch_bars(("ZZZA", "ZZZB"), D(2026, 1, 5), D(2026, 1, 9)) == {}
    assert yahoo.failures.bars == {}  # not carried: no failure
    assert sleeps == [2.0]  # one backoff, then the answer
    assert replay.count("chart", "ZZZA") >= 3


def test_a_ticker_still_refused_is_a_failure_and_the_rest_arrive(replay, tmp_path):
    sleeps: list[float] = []
    yahoo = _yahoo(replay, tmp_path, sleeps)
    replay.fail("chart", "NVDA", 429)
    got = yahoo.fetch_bars(("SPY", "NVDA"), D(2026, 1, 5), D(2026, 1, 9))
    assert list(got) == ["SPY"] and yahoo.failures.bars == {"NVDA": "rate limited"}
    assert sleeps == [2.0, 4.0, 8.0]


def test_retry_after_is_honoured_for_the_one_request(replay, tmp_path):
    sleeps: list[float] = []
    yahoo = _yahoo(replay, tmp_path, sleeps)
    replay.retry_after = "1"
    replay.fail("chart", "SPY", 429, times=1)
    got = yahoo.fetch_bars(("SPY", "QQQ"), D(2026, 1, 5), D(2026, 1, 9))
    assert sorted(got) == ["QQQ", "SPY"] and yahoo.failures.bars == {}
    # The server's wait, once, for that request: no backoff of the whole chunk.
    assert sleeps == [1.0] and yahoo.retry_after.waits == [1.0]
    assert replay.count("chart", "SPY") == 2


def test_a_retry_after_too_long_is_left_to_the_chunks_backoff(replay, tmp_path):
    sleeps: list[float] = []
    yahoo = _yahoo(replay, tmp_path, sleeps)
    replay.retry_after = "3600"
    replay.fail("chart", "SPY", 429, times=2)
    assert list(yahoo.fetch_bars(("SPY",), D(2026, 1, 5), D(2026, 1, 9))) == ["SPY"]
    assert sleeps == [2.0] and yahoo.retry_after.waits == []


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), (" 0 ", 0.0), ("Sat, 17 Jan 2026 12:00:30 GMT", 30.0), ("soon", None), ("", None)],
)
def test_retry_after_values(header, seconds):
    assert retry_after_seconds(header, WEEK_TWO) == seconds


# -- answers that are no answers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("html", "HTTP 200 with an HTML page instead of data"),
        ("empty", "HTTP 200 with an empty body"),
        ("truncated", "HTTP 200 with an unreadable body"),
        (502, "HTTP 502 with an HTML page instead of data"),
    ],
)
def test_an_answer_that_is_no_answer_is_a_failure_not_a_ticker_yahoo_lacks(
    replay, tmp_path, fault, reason
):
    yahoo = _yahoo(replay, tmp_path, [])
    replay.fail("chart", "SPY", fault)
    got = yahoo.fetch_bars(("SPY", "QQQ", "ZZZZ"), D(2026, 1, 5), D(2026, 1, 9))
    assert list(got) == ["QQQ"]
    # yfinance said "possibly delisted" of SPY; only ZZZZ got Yahoo's own "not found".
    assert yahoo.failures.bars == {"SPY": reason}


def test_chart_verdicts():
    assert chart_verdict(404, b'{"chart":{"result":null,"error":{"code":"Not Found"}}}') == (
        "not found"
    )
    assert chart_verdict(200, b'{"chart":{"result":[{}],"error":null}}') == "ok"
    assert chart_verdict(429, b"Too Many Requests") == "rate limited"
    assert chart_verdict(503, b'{"x": 1}') == "HTTP 503 with an unreadable body"


def test_the_indexes_answered_with_an_error_page_are_named_so(replay, tmp_path):
    """Not "the data source does not carry ^GSPC": what Yahoo sent is named."""
    from recap import pipeline
    from recap.errors import DataError

    for ticker in ("^GSPC", "SPY"):
        replay.fail("chart", ticker, "html")
    config = read_config(None, {"store": tmp_path / "s.sqlite", "cache_dir": tmp_path / "c"})
    store = Store(config.store_path)
    source = CachedSource(_yahoo(replay, tmp_path, []), store, now=WEEK_ONE)
    with pytest.raises(DataError) as caught:
        pipeline.fetch_market(source, config, pipeline.resolve_week(source, config, None, WEEK_ONE))
    message = str(caught.value)
    assert "S&P 500 (^GSPC or SPY)" in message
    assert "^GSPC, SPY (HTTP 200 with an HTML page instead of data)" in message
    with store:
        # Nothing stored as fetched for them, nothing in the negative cache.
        assert store.coverage("^GSPC") is None
        assert source.absent.fresh(("^GSPC", "SPY"), WEEK_ONE) == set()


# -- concurrency and the time-zone cache ---------------------------------------------------


def test_concurrency_is_the_projects_setting(tmp_path):
    calls: list[object] = []

    def download(tickers, **kw):
        calls.append(kw["threads"])
        return None

    config = read_config(None, {"cache_dir": tmp_path})
    assert config.yahoo.workers == 8 and config.yahoo.absent_days == 28
    YahooSource.from_config(config, download=download).fetch_bars(
        ("SPY",), D(2026, 1, 5), D(2026, 1, 9)
    )
    YahooSource(download=download, workers=3).fetch_bars(("SPY",), D(2026, 1, 5), D(2026, 1, 9))
    YahooSource(download=download, threads=False).fetch_bars(("SPY",), D(2026, 1, 5), D(2026, 1, 9))
    assert calls == [8, 3, False]


@pytest.mark.parametrize("workers", [8, 3])
def test_requests_in_flight_are_the_projects_workers(
    replay, tmp_path, market_dir, monkeypatch, workers
):
    """yfinance's own pool is sized by the core count whatever threads=N says (2 in
    flight on a 2-core machine): recap's setting is what holds."""
    import threading

    seen = {"now": 0, "most": 0}
    lock = threading.Lock()
    answer = Replay.request

    def request(self, *args, **kwargs):
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            return answer(self, *args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(Replay, "request", request)
    replay.latency = 0.3  # long enough for the threads to overlap on a loaded machine
    tickers = tuple(
        sorted(p.stem for p in (market_dir / "prices").glob("*.csv") if p.stem.isalpha())
    )
    yahoo = _yahoo(replay, tmp_path, [], workers=workers)
    got = yahoo.fetch_bars(tickers[100:124], D(2026, 1, 5), D(2026, 1, 9))
    assert len(got) == 24
    assert seen["most"] == workers


def test_us_listings_get_their_time_zone_without_asking(replay, tmp_path):
    yahoo = _yahoo(replay, tmp_path, [])
    wanted = ("SPY", "BRK-B", "NVDA", "^GSPC", "EURUSD=X", "BTC-USD", "ZZZZ")
    assert us_listings(wanted) == ("SPY", "BRK-B", "NVDA", "ZZZZ")
    got = yahoo.fetch_bars(wanted, D(2026, 1, 5), D(2026, 1, 9))
    assert {"SPY", "NVDA", "^GSPC"} <= set(got)
    # Only the symbols that are not plain US listings were probed for their time zone.
    assert sorted(set(_probes(replay))) == ["BTC-USD", "EURUSD=X", "^GSPC"]
    # The same bars as yfinance gets after asking: the dates are New York's sessions.
    days = [d.date() for d in got["SPY"].index]
    assert days == [D(2026, 1, d) for d in (5, 6, 7, 8, 9)]


# -- the store: negative cache, restated history, resume -----------------------------------


def _cached(replay, tmp_path, now, store, **kw) -> CachedSource:
    new_process()
    return CachedSource(_yahoo(replay, tmp_path, []), store, now=now, **kw)


def test_a_ticker_yahoo_does_not_carry_is_not_asked_again_until_its_entry_expires(replay, tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        first = _cached(replay, tmp_path, WEEK_ONE, store)
        first.fetch_bars(("SPY", "ZZZZ"), D(2025, 12, 1), D(2026, 1, 9))
        asked = replay.count("chart", "ZZZZ")
        assert asked >= 1 and first.absent.fresh(("ZZZZ", "SPY"), WEEK_ONE) == {"ZZZZ"}
        # A repeat an hour later: not asked.
        again = _cached(replay, tmp_path, WEEK_ONE + dt.timedelta(hours=1), store)
        assert list(again.fetch_bars(("SPY", "ZZZZ"), D(2025, 12, 1), D(2026, 1, 9))) == ["SPY"]
        assert replay.count("chart", "ZZZZ") == asked
        # A week on (the next weekly run): still not asked.
        replay.until = D(2026, 1, 16)
        week = WEEK_ONE + dt.timedelta(days=7)
        _cached(replay, tmp_path, week, store).fetch_bars(("ZZZZ",), D(2025, 12, 1), D(2026, 1, 16))
        assert replay.count("chart", "ZZZZ") == asked
        # 29 days on, the entry (28 days) has expired: asked again.
        later = WEEK_ONE + dt.timedelta(days=29)
        replay.until = D(2026, 1, 16)
        _cached(replay, tmp_path, later, store).fetch_bars(
            ("ZZZZ",), D(2025, 12, 1), D(2026, 1, 16)
        )
        assert replay.count("chart", "ZZZZ") > asked


def test_a_failure_never_enters_the_negative_cache(replay, tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        replay.fail("chart", "NVDA", 429)
        source = _cached(replay, tmp_path, WEEK_ONE, store)
        source.fetch_bars(("SPY", "NVDA"), D(2025, 12, 1), D(2026, 1, 9))
        assert source.failures.bars == {"NVDA": "rate limited"}
        assert source.absent.fresh(("NVDA",), WEEK_ONE) == set()
        assert store.coverage("NVDA") is None


def _tamper(store: Store, ticker: str, through: D, factor: float, column: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            f"UPDATE bars SET {column} = {column} * ? WHERE ticker = ? AND date <= ?",
            (factor, ticker, through.isoformat()),
        )


@pytest.mark.parametrize(
    ("ticker", "column", "factor"),
    [("NVDA", "close", 10.0), ("KRE", "adj_close", 0.99)],
    ids=["split", "dividend"],
)
def test_history_restated_since_the_last_run_is_fetched_again_whole(
    replay, tmp_path, market_dir, ticker, column, factor
):
    """The store holds NVDA as before a 10-for-1 split (or KRE before a dividend adjusted
    its closes); Yahoo now answers the restated history. The next week's run must not join
    new prices to old ones (NVDA -90%): the last stored bar is asked again, differs, and
    the whole history is fetched again."""
    start = D(2025, 11, 3)
    with Store(tmp_path / "store.sqlite") as store:
        _cached(replay, tmp_path, WEEK_ONE, store).fetch_bars(("NVDA", "KRE"), start, D(2026, 1, 9))
        _tamper(store, ticker, D(2026, 1, 9), factor, column)
        replay.until = D(2026, 1, 16)
        mark = len(replay.asked)
        source = _cached(replay, tmp_path, WEEK_TWO, store)
        got = source.fetch_bars(("NVDA", "KRE"), start, D(2026, 1, 16))
        assert source.refetched == [ticker]
        whole = [t for k, t, q in replay.asked[mark:] if k == "chart" and "period1" in q]
        assert sorted(whole) == sorted(["NVDA", "KRE", ticker])  # the check, then it whole
        truth = pd.read_csv(
            market_dir / "prices" / f"{ticker}.csv", index_col="Date", parse_dates=True
        )
        truth = truth.loc[(truth.index >= pd.Timestamp(start)) & (truth.index <= "2026-01-16")]
        for column in ("Close", "Adj Close"):
            assert got[ticker][column].tolist() == pytest.approx(
                truth[column].tolist(), nan_ok=True
            )
        assert store.coverage(ticker) == (start, D(2026, 1, 16))


def test_an_untouched_history_is_not_fetched_again(replay, tmp_path):
    start = D(2025, 11, 3)
    with Store(tmp_path / "store.sqlite") as store:
        _cached(replay, tmp_path, WEEK_ONE, store).fetch_bars(("NVDA", "SPY"), start, D(2026, 1, 9))
        replay.until = D(2026, 1, 16)
        mark = len(replay.asked)
        source = _cached(replay, tmp_path, WEEK_TWO, store)
        source.fetch_bars(("NVDA", "SPY"), start, D(2026, 1, 16))
        assert source.refetched == []
        firsts = {
            t: dt.datetime.fromtimestamp(int(q["period1"]), UTC).date()
            for k, t, q in replay.asked[mark:]
            if k == "chart" and "period1" in q
        }
        assert firsts == {"NVDA": D(2026, 1, 9), "SPY": D(2026, 1, 9)}  # one request each


KILLED_RUN = """
import datetime as dt, os, signal, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from recap.sources.cached import CachedSource
from recap.sources.closes import fetch_closes
from recap.sources.yahoo import YahooSource
from recap.store import Store
from tests.yahoo_replay import Replay

market = Path({market!r})
replay = Replay(market, market.parent / "yahoo", dt.date(2026, 1, 9))
def kill(number):
    if replay.count("chart") > {kill_after}:
        os.kill(os.getpid(), signal.SIGKILL)
replay.hook = kill
yahoo = YahooSource(session=replay, cache_dir=Path({cache!r}), chunk_size=50, workers=4)
now = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
source = CachedSource(yahoo, Store(Path({store!r})), now=now)
fetch_closes(source, tuple({tickers!r}), dt.date(2025, 12, 1), dt.date(2026, 1, 9))
print("finished")
"""


def test_a_run_killed_midway_keeps_what_it_fetched_and_the_next_resumes(
    replay, tmp_path, market_dir
):
    from recap.sources.closes import CHUNK, fetch_closes

    held = pd.read_csv(market_dir / "MANIFEST.csv")
    tickers = sorted(
        t for t in held["ticker"] if (market_dir / "prices" / f"{t}.csv").is_file() and t.isalpha()
    )[:400]
    script = KILLED_RUN.format(
        root=str(ROOT),
        market=str(market_dir),
        kill_after=CHUNK + 120,  # into the second batch of CHUNK tickers
        cache=str(tmp_path / "cache"),
        store=str(tmp_path / "store.sqlite"),
        tickers=tickers,
    )
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == -9 and "finished" not in run.stdout, run.stderr[-2000:]
    with Store(tmp_path / "store.sqlite") as store:
        kept = [t for t in tickers if store.coverage(t) is not None]
        # The first batch was committed before the kill; the one cut off left nothing half.
        assert len(kept) >= CHUNK - 10, len(kept)
        assert len(kept) < len(tickers)
        source = _cached(replay, tmp_path, WEEK_ONE, store)
        closes = fetch_closes(source, tuple(tickers), D(2025, 12, 1), D(2026, 1, 9))
        # The next run asks only for what the killed one had not stored.
        assert set(_bars(replay)) == set(tickers) - set(kept)
        assert len(closes.columns) == len(tickers)
        assert all(store.coverage(t) is not None for t in tickers)


# -- what the report says ------------------------------------------------------------------


class _Refusing:
    """The snapshot, with some tickers refused as a throttled Yahoo refuses them."""

    name = "yahoo"

    def __init__(self, inner, refused):
        from recap.sources.base import FetchFailures

        self.inner = inner
        self.refused = refused
        self.failures = FetchFailures()

    def fetch_bars(self, tickers, start, end):
        got = self.inner.fetch_bars(tuple(t for t in tickers if t not in self.refused), start, end)
        self.failures.bars.update({t: "rate limited" for t in tickers if t in self.refused})
        return got

    def fetch_earnings(self, tickers, start, end):
        return self.inner.fetch_earnings(tickers, start, end)


def _small_holdings(market_dir, rows=40):
    """The 2025-11-05 IWM file cut to its ``rows`` largest positions (the test's speed)."""
    import dataclasses

    from recap.sources.holdings import IndexHoldings, read_holdings_folder

    (nov, *_) = read_holdings_folder(market_dir / "holdings", "IWM")
    table = nov.table.sort_values("weight", ascending=False).head(rows).reset_index(drop=True)
    table["weight"] = table["weight"] / table["weight"].sum()
    return IndexHoldings(fund="IWM", files=(dataclasses.replace(nov, table=table),))


def _market(source):
    from recap import pipeline
    from recap.sources.base import empty_earnings

    closes = pd.DataFrame(index=pd.DatetimeIndex([], name="Date"))
    return pipeline.MarketData(
        closes=closes, earnings=empty_earnings(), holdings=None, source=source.name
    )


def test_constituents_still_refused_are_named_and_counted_unpriced(snapshot_source, market_dir):
    from recap import pipeline
    from recap.weeks import week_containing

    held = _small_holdings(market_dir)
    names = [t for t in held.files[0].table["ticker"] if t][:15]
    source = _Refusing(snapshot_source, set(names[:13]))
    config = read_config(None, {})
    market = pipeline.add_holdings(
        _market(source), source, config, week_containing(D(2026, 1, 16)), held
    )
    (note,) = [n for n in market.notes if n.startswith("Could not be fetched")]
    shown = ", ".join(names[:12])
    assert note == (
        "Could not be fetched from the yahoo source: 13 of the iShares Russell 2000 ETF "
        f"holdings' stocks, counted as unpriced in the attribution and breadth ({shown} "
        "(rate limited); and 1 more)."
    )
    assert not set(names[:13]) & set(market.constituents.columns)
    assert set(names[13:]) <= set(market.constituents.columns)


def test_holdings_dated_after_the_base_are_used_only_with_a_note(market_dir, snapshot_source):
    """A fresh store holds only a file from after the year's base: the YTD attribution
    says it carries that file's weights back (the week's base is after it: no note)."""
    from recap import drivers, pipeline
    from recap.sources.holdings import IndexHoldings
    from recap.weeks import week_containing

    held = _small_holdings(market_dir)
    week = week_containing(D(2026, 1, 16))
    config = read_config(None, {})
    market = pipeline.add_holdings(_market(snapshot_source), snapshot_source, config, week, held)
    constituents = market.constituents
    fund = (0.02, 0.05)
    _, notes = drivers._constituents(held, constituents, week, fund, {}, 5)
    assert not any("is dated on or before" in n for n in notes)  # Nov. 5 is before both bases
    early = week_containing(D(2025, 10, 10))
    _, notes = drivers._constituents(
        IndexHoldings(fund="IWM", files=held.files), constituents, early, fund, {}, 5
    )
    assert (
        "Attribution (year to date): no IWM holdings file is dated on or before December 31, "
        "2024, so the weights of the file of November 5, 2025 are used, carried back by price; "
        "stocks bought or sold in between are not reflected." in notes
    )
    assert any(n.startswith("Attribution (the week): no IWM holdings file") for n in notes)


# -- a store that cannot be used -----------------------------------------------------------


def _damaged(path: Path) -> None:
    """A store whose bars pages are overwritten on disk (its schema pages intact)."""
    import numpy as np

    days = pd.bdate_range("2020-01-01", periods=1500, name="Date")
    frame = pd.DataFrame({c: np.arange(1500.0) + 1 for c in BAR_COLUMNS}, index=days)
    with Store(path) as store:
        store.save_bars({f"T{i}": frame for i in range(20)}, days[0].date(), days[-1].date())
        store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 20 + 100, len(data) - 4096, 4096):
        data[offset : offset + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))


class _Nothing:
    name = "yahoo"

    def fetch_bars(self, tickers, start, end):
        return {}

    def fetch_earnings(self, tickers, start, end):
        raise AssertionError("not asked")


def test_a_damaged_store_is_one_line_saying_what_to_do(tmp_path):
    from recap.errors import StoreError

    path = tmp_path / "store.sqlite"
    _damaged(path)
    with Store(path) as store:
        source = CachedSource(_Nothing(), store, now=WEEK_ONE)
        with pytest.raises(StoreError) as caught:
            source.fetch_bars(("T1", "T2"), D(2020, 1, 1), D(2025, 1, 1))
    assert str(caught.value) == (
        f"{path}: the store is damaged (database disk image is malformed); move the file "
        "aside and run again (recap fetches what the store lacks)"
    )


def test_a_store_locked_by_another_run_is_one_line(tmp_path):
    import sqlite3

    from recap.errors import StoreError

    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        source = CachedSource(_Nothing(), store, now=WEEK_ONE)
        store.connection.execute("PRAGMA busy_timeout = 50")  # not the 30 s of a real run
        other = sqlite3.connect(path)
        other.execute("BEGIN IMMEDIATE")  # another run writing
        try:
            with pytest.raises(StoreError, match="the store is locked by another process"):
                source.fetch_bars(("SPY",), D(2026, 1, 3), D(2026, 1, 4))  # a weekend: a write
        finally:
            other.rollback()
            other.close()


def test_without_holdings_the_chart_note_does_not_blame_missing_prices(reference_recap):
    import dataclasses

    from recap import charts

    assert reference_recap.attribution.method == "constituents"
    said = "no prices for the small-cap index's own stocks this week"
    assert charts._why("top-stocks", reference_recap) == said
    estimate = dataclasses.replace(reference_recap.attribution, method="estimate")
    recap = dataclasses.replace(reference_recap, attribution=estimate)
    assert charts._why("top-stocks", recap) == (
        "no holdings file of the small-cap index, so no stock-level figures"
    )
    assert charts._why("sectors", recap) == "no sector fund closes for the week"
