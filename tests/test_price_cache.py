"""The columnar cache of a snapshot's closes: built once, reused, rebuilt for a changed file;
and constituent closes through the store (the live path's batching), with no network."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pandas as pd
import pytest

from recap.errors import SourceError
from recap.sources import snapshot
from recap.sources.base import close_series
from recap.sources.closes import fetch_closes
from recap.sources.price_cache import cache_path
from recap.sources.snapshot import SnapshotSource, read_price_csv

TICKERS = ("BE", "KTOS", "TTMI", "IWM", "ZION")
START, END = dt.date(2025, 11, 1), dt.date(2026, 1, 16)


@pytest.fixture
def mini(market_dir, tmp_path):
    """A small snapshot: five real price files copied into a temporary folder."""
    prices = tmp_path / "snap" / "prices"
    prices.mkdir(parents=True)
    for t in TICKERS:
        shutil.copy2(market_dir / "prices" / f"{t}.csv", prices / f"{t}.csv")
    return tmp_path / "snap"


@pytest.fixture
def fresh_process(monkeypatch):
    """As if in a new process: no closes cache loaded in memory yet."""
    monkeypatch.setattr(snapshot, "_CACHES", {})


def _open(root, cache_dir):
    snapshot._CACHES.clear()  # a new process each time
    return SnapshotSource(root, cache_dir=cache_dir)


def test_cache_is_built_once_then_reused(mini, tmp_path, fresh_process):
    cache = tmp_path / "cache"
    first = _open(mini, cache)
    frame = first.fetch_closes(TICKERS + ("NOPE",), START, END)
    assert first._closes.parsed == len(TICKERS)
    assert list(frame.columns) == list(TICKERS)  # a ticker without a file is left out
    path = cache_path(cache, mini / "prices")
    assert path.is_file()
    stamp = path.stat().st_mtime_ns
    second = _open(mini, cache)
    again = second.fetch_closes(TICKERS, START, END)
    assert second._closes.parsed == 0, "the cache was rebuilt instead of reused"
    assert path.stat().st_mtime_ns == stamp  # nothing rewritten
    pd.testing.assert_frame_equal(frame, again)
    # The same closes the CSV gives, ZION's adjusted close where Close is empty.
    bars = read_price_csv(mini / "prices" / "BE.csv")
    expected = bars["Close"].loc[str(START) : str(END)]
    assert frame["BE"].dropna().to_numpy().tolist() == expected.to_numpy().tolist()
    assert frame["ZION"].notna().sum() > 40


def test_a_changed_file_is_parsed_again(mini, tmp_path, fresh_process):
    cache = tmp_path / "cache"
    _open(mini, cache).fetch_closes(TICKERS, START, END)
    path = mini / "prices" / "BE.csv"
    text = path.read_text().replace("2026-01-16,,,,149.5,,", "2026-01-16,,,,150.5,,")
    assert "150.5" in text
    path.write_text(text)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    source = _open(mini, cache)
    frame = source.fetch_closes(TICKERS, START, END)
    assert source._closes.parsed == 1  # only the changed file
    assert frame.loc["2026-01-16", "BE"] == 150.5
    assert _open(mini, cache).fetch_closes(("BE",), START, END).loc["2026-01-16", "BE"] == 150.5


def test_the_bars_a_build_reads_come_from_their_own_cache(mini, tmp_path, fresh_process):
    """fetch_bars (the indexes and funds, every column) reads the same files the CSV
    reader gives, parsed once; a changed file is parsed again."""
    cache = tmp_path / "cache"
    first = _open(mini, cache)
    bars = first.fetch_bars(TICKERS, START, END)
    assert first._bars.parsed == len(TICKERS)
    for ticker, frame in bars.items():
        whole = read_price_csv(mini / "prices" / f"{ticker}.csv")
        pd.testing.assert_frame_equal(frame, whole.loc[str(START) : str(END)])
    assert cache_path(cache, mini / "prices", "bars").is_file()
    second = _open(mini, cache)
    again = second.fetch_bars(TICKERS, START, END)
    assert second._bars.parsed == 0, "the bars were parsed again instead of read back"
    for ticker in TICKERS:
        pd.testing.assert_frame_equal(bars[ticker], again[ticker])
    path = mini / "prices" / "BE.csv"
    path.write_text(path.read_text().replace("2026-01-16,,,,149.5,,", "2026-01-16,,,,150.5,,"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    third = _open(mini, cache)
    assert third.fetch_bars(("BE",), START, END)["BE"].loc["2026-01-16", "Close"] == 150.5
    assert third._bars.parsed == 1


def test_a_bad_file_is_named_and_the_cache_kept(mini, tmp_path, fresh_process):
    from recap.errors import SourceError

    cache = tmp_path / "cache"
    _open(mini, cache).fetch_closes(TICKERS, START, END)
    saved = cache_path(cache, mini / "prices").read_bytes()
    (mini / "prices" / "KTOS.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n2026-01-16,1,2\n"
    )
    with pytest.raises(SourceError, match=r"KTOS\.csv, line 2"):
        _open(mini, cache).fetch_closes(TICKERS, START, END)
    assert cache_path(cache, mini / "prices").read_bytes() == saved


def _break(path, edit):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(edit(lines)))


def _close_of(line, value):
    fields = line.split(",")
    fields[4] = value
    return ",".join(fields)


# How TTMI.csv is broken, and what read_price_csv says after the file's name.
BROKEN = {
    "fields": (
        lambda ls: [*ls[:4], "2024-01-05,1,2\n", *ls[5:]],
        ", line 5: expected 7 fields, found 3 (malformed or truncated line: '2024-01-05,1,2')",
    ),
    "number": (
        lambda ls: [*ls[:4], _close_of(ls[4], "1.2.3"), *ls[5:]],
        ", line 5: Close value '1.2.3' is not a valid number",
    ),
    "nan": (
        lambda ls: [*ls[:4], _close_of(ls[4], "NaN"), *ls[5:]],
        ", line 5: Close value 'NaN' is not a valid number",
    ),
    "date": (
        lambda ls: [*ls[:4], "2024-13-05" + ls[4][10:], *ls[5:]],
        ", line 5: Date value '2024-13-05' is not a valid date (YYYY-MM-DD)",
    ),
    "repeated": (
        lambda ls: [*ls[:5], ls[4], *ls[5:]],
        ": date 2024-01-05 appears more than once",
    ),
    "header": (
        lambda ls: ["Date,Close\n", *ls[1:]],
        ", line 1: header must be Date,Open,High,Low,Close,Adj Close,Volume",
    ),
}


@pytest.mark.parametrize("kind", ["closes", "bars"])
@pytest.mark.parametrize("broken", list(BROKEN))
def test_a_bad_file_among_clean_ones_is_named_as_before(
    mini, tmp_path, fresh_process, broken, kind
):
    """The clean files are parsed in one batch (price_batch.py); a bad one among them
    fails with read_price_csv's own message: the file, the line, the value."""
    edit, message = BROKEN[broken]
    path = mini / "prices" / "TTMI.csv"
    _break(path, edit)
    with pytest.raises(SourceError) as alone:
        read_price_csv(path)
    assert str(alone.value) == f"{path}{message}"
    source = _open(mini, tmp_path / "cache")
    with pytest.raises(SourceError) as batched:
        if kind == "closes":
            source.fetch_closes(TICKERS, START, END)
        else:
            source.fetch_bars(TICKERS, START, END)
    assert str(batched.value) == f"{path}{message}"


def test_of_two_bad_files_the_first_asked_for_is_named(mini, tmp_path, fresh_process):
    # IWM's short line is found by the batch's checks, TTMI's bad number only when the
    # batch is parsed, later: TTMI, asked for first, is still the one named.
    _break(mini / "prices" / "TTMI.csv", BROKEN["number"][0])
    _break(mini / "prices" / "IWM.csv", BROKEN["fields"][0])
    with pytest.raises(SourceError, match=r"TTMI\.csv, line 5: Close value '1\.2\.3' is not"):
        _open(mini, tmp_path / "cache").fetch_closes(TICKERS, START, END)


def test_files_the_batch_leaves_to_read_price_csv_read_the_same(
    mini, tmp_path, fresh_process, monkeypatch
):
    """Windows line ends, a blank last line, rows out of order: files read_price_csv
    accepts and the batch leaves to it; a byte-order mark the batch takes. The same bars."""
    alone = []
    real = snapshot.read_price_csv
    monkeypatch.setattr(snapshot, "read_price_csv", lambda p: alone.append(p.name) or real(p))
    prices = mini / "prices"
    crlf = (prices / "BE.csv").read_text().replace("\n", "\r\n")
    (prices / "BE.csv").write_bytes(crlf.encode())
    _break(prices / "KTOS.csv", lambda ls: [*ls, "\n"])
    _break(prices / "TTMI.csv", lambda ls: [ls[0], *reversed(ls[1:])])
    (prices / "ZION.csv").write_bytes(b"\xef\xbb\xbf" + (prices / "ZION.csv").read_bytes())
    source = _open(mini, tmp_path / "cache")
    bars = source.fetch_bars(TICKERS, START, END)
    closes = source.fetch_closes(TICKERS, START, END)
    # Once: the closes cache takes the files the bars cache already read from it.
    assert alone == ["BE.csv", "KTOS.csv", "TTMI.csv"]
    for ticker in TICKERS:
        whole = read_price_csv(prices / f"{ticker}.csv")
        pd.testing.assert_frame_equal(bars[ticker], whole.loc[str(START) : str(END)])
        expected = close_series(whole).loc[str(START) : str(END)]
        assert closes[ticker].dropna().tolist() == expected.dropna().tolist()


def test_an_unwritable_cache_folder_costs_time_not_the_build(mini, tmp_path, fresh_process, caplog):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    frame = _open(mini, blocked).fetch_closes(TICKERS, START, END)
    assert set(frame.columns) == set(TICKERS)
    assert "not saved" in caplog.text


class _Upstream:
    """A price source that answers from the real snapshot and records each call."""

    name = "yahoo"

    def __init__(self, market_dir):
        self.snapshot = SnapshotSource(market_dir)
        self.calls = []

    def fetch_bars(self, tickers, start, end):
        self.calls.append((tuple(tickers), start, end))
        return self.snapshot.fetch_bars(tickers, start, end)

    def fetch_earnings(self, tickers, start, end):
        return self.snapshot.fetch_earnings(tickers, start, end)


def test_constituents_come_through_the_store_in_chunks(market_dir, tmp_path):
    from recap.sources.cached import CachedSource
    from recap.sources.holdings import read_holdings_folder
    from recap.store import Store

    held = read_holdings_folder(market_dir / "holdings", "IWM")[0]
    tickers = held.tickers()[:300]
    upstream = _Upstream(market_dir)
    now = dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC)
    with Store(tmp_path / "store.sqlite") as store:
        live = CachedSource(upstream, store, now=now)
        frame = fetch_closes(live, tickers, START, END, progress=False)
        assert len(upstream.calls) == 2  # 300 tickers in chunks of 250
        assert 280 < frame.shape[1] <= 300
        assert frame.loc["2026-01-16", "BE"] == 149.5
        again = fetch_closes(CachedSource(upstream, store, now=now), tickers, START, END)
        # The second run asks for nothing: not what the store holds, nor the few that came
        # back empty (no data at all: delisted names), which the negative cache remembers.
        asked = {t for call in upstream.calls[2:] for t in call[0]}
        assert asked == set()
        gone = set(tickers) - set(frame.columns)
        assert 0 < len(gone) < 20 and live.absent.fresh(tickers, now) == gone
        pd.testing.assert_frame_equal(frame, again)


def test_caches_of_vanished_snapshots_are_removed(mini, tmp_path, fresh_process):
    cache = tmp_path / "cache"
    _open(mini, cache).fetch_closes(TICKERS[:2], START, END)
    gone = tmp_path / "gone" / "prices"
    shutil.copytree(mini / "prices", gone)
    _open(gone.parent, cache).fetch_closes(TICKERS[:1], START, END)
    assert cache_path(cache, gone).is_file()
    shutil.rmtree(gone.parent)
    # The next cache written clears the one whose snapshot folder is gone.
    _open(mini, cache).fetch_closes(TICKERS, START, END)
    assert sorted(p.name for p in cache.iterdir()) == [cache_path(cache, mini / "prices").name]
