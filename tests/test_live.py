"""The live path as `make recap` runs it: yfinance's own code (yf.download, get_earnings_dates,
funds_data) over HTTP answered by tests/yahoo_replay.py, one SQLite store on disk, week
after week, with Yahoo's faults: a rate limit, a ticker that 404s, an earnings outage,
no network at all."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field

import msgspec
import pytest
from click.testing import CliRunner

from recap import cli, pipeline, render
from recap.config import read_config
from recap.sources.yahoo import YahooSource
from recap.store import Store
from tests._reference import CACHE_DIR
from tests.yahoo_replay import Replay, new_process

UTC = dt.UTC
D = dt.date
# Saturdays after two trading weeks: 2026-01-05..09, then 2026-01-12..16 (banks report).
WEEK_ONE = dt.datetime(2026, 1, 10, 12, tzinfo=UTC)
WEEK_TWO = dt.datetime(2026, 1, 17, 12, tzinfo=UTC)
# A smaller universe than the shipped one: the same paths, fewer pages to serve.
TOML = """
[watchlists]
"AI hardware" = ["NVDA", "TSM"]
"Regional banks" = ["PNC", "RF", "MTB", "ZION"]

[banks]
large = ["JPM"]

[sectors]
etfs = [
  { ticker = "XLF", name = "Financials", gics = "Financials" },
  { ticker = "XLK", name = "Technology", gics = "Information Technology" },
  { ticker = "XLI", name = "Industrials", gics = "Industrials" },
  { ticker = "XLE", name = "Energy", gics = "Energy" },
]
industries = [
  { ticker = "SMH", name = "VanEck Semiconductors", gics = "" },
  { ticker = "KRE", name = "Regional Banks", gics = "" },
]

[contribution]
# No iShares download here (test_ishares.py tests it through its HTTP seam): without
# holdings files the live path falls back to Yahoo's sector weights x small-cap funds.
holdings_url = ""
sector_funds = [
  { sector = "Information Technology", ticker = "PSCT" },
  { sector = "Industrials", ticker = "PSCI" },
]
"""
EARNINGS = ("NVDA", "TSM", "PNC", "RF", "MTB", "ZION", "JPM")


@dataclass
class Live:
    """The replayed Yahoo, the config of a `recap` without --data-dir, and the waits."""

    replay: Replay
    config: object
    sleeps: list[float] = field(default_factory=list)

    def build(self, now: dt.datetime, **kw) -> pipeline.BuiltWeek:
        """One `recap build` run at ``now``: a new process, Yahoo up to the day before."""
        new_process()
        self.replay.until = now.date() - dt.timedelta(days=1)
        kw.setdefault("formats", ("json",))
        opened = pipeline.open_source(self.config, now)
        return pipeline.build_week(opened, self.config, week_date=None, now=now, **kw)

    def store(self) -> Store:
        return Store(self.config.store_path)

    def charts_since(self, mark: int) -> list[tuple[str, D]]:
        """(ticker, first day asked) of every bar request after request number ``mark``."""
        out = []
        for kind, ticker, query in self.replay.asked[mark:]:
            if kind == "chart" and "period1" in query:
                day = dt.datetime.fromtimestamp(int(query["period1"]), UTC) - dt.timedelta(hours=5)
                out.append((ticker, day.date()))
        return out


@pytest.fixture(scope="module")
def yahoo_dir(market_dir):
    folder = market_dir.parent / "yahoo"
    if not folder.is_dir():
        pytest.skip(f"recorded Yahoo answers not found at {folder}")
    return folder


def _config(folder, data_dir=None):
    toml = folder / "recap.toml"
    toml.write_text(TOML)
    overrides = {
        "cache_dir": folder / "cache",
        "store": folder / "store.sqlite",
        "out_dir": folder / "out",
    }
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return read_config(toml, overrides, cwd=folder)


@pytest.fixture(scope="module")
def week_one(tmp_path_factory, market_dir, yahoo_dir):
    """The first run ever (empty store) at WEEK_ONE; later runs start from a copy of it."""
    from yfinance import cache

    folder = tmp_path_factory.mktemp("week-one")
    before = cache._TzDBManager.get_location()
    replay = Replay(market_dir, yahoo_dir, WEEK_ONE.date())
    live = Live(replay, _config(folder))
    with pytest.MonkeyPatch.context() as mp:
        _use_replay(mp, live)
        built = live.build(WEEK_ONE)
    cache.set_cache_location(before)
    return folder, built, len(replay.asked)


def _use_replay(mp, live: Live) -> None:
    original = YahooSource.from_config.__func__

    def from_config(cls, config, **seams):
        return original(cls, config, session=live.replay, sleep=live.sleeps.append)

    mp.setattr(YahooSource, "from_config", classmethod(from_config))


@pytest.fixture
def live(week_one, tmp_path, market_dir, yahoo_dir, monkeypatch):
    """A `recap` folder whose store holds what the first run fetched."""
    from yfinance import cache

    before = cache._TzDBManager.get_location()
    folder, _, _ = week_one
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    state = Live(Replay(market_dir, yahoo_dir, WEEK_ONE.date()), _config(tmp_path))
    _use_replay(monkeypatch, state)
    yield state
    new_process()
    cache.set_cache_location(before)


@pytest.fixture(scope="module")
def snapshot_week(tmp_path_factory, market_dir):
    """The reference week built from the snapshot with the same config, to compare."""
    folder = tmp_path_factory.mktemp("snapshot")
    # The snapshot's closes from the tests' shared columnar cache (as every snapshot build
    # in the tests reads them), not parsed again from ~1,900 files into a new one.
    config = msgspec.structs.replace(_config(folder, data_dir=market_dir), cache_dir=CACHE_DIR)
    opened = pipeline.open_source(config, WEEK_TWO)
    week = D(2026, 1, 16)
    return pipeline.build_week(opened, config, week_date=week, now=WEEK_TWO, formats=("json",))


def test_first_run_fills_the_store_from_yahoo(week_one):
    _, built, _ = week_one
    recap = built.recap
    assert recap.week.end == D(2026, 1, 9) and recap.data.source == "yahoo"
    assert [m.symbol for m in recap.indexes] == ["^GSPC", "^DJI", "^IXIC", "^RUT"]
    # yfinance raised AttributeError on TSM's page (only its blank row): a reason, no traceback.
    (tsm,) = recap.data.earnings_missing
    assert (tsm.ticker, tsm.reason, tsm.bank) == ("TSM", "the page could not be read", False)
    assert (
        "Earnings dates could not be fetched for TSM (the page could not be read), so next "
        "week's reports may be incomplete." in recap.data.notes
    )


def test_a_week_later_the_store_fetches_only_the_new_days(live, week_one, snapshot_week):
    mark = len(live.replay.asked)
    built = live.build(WEEK_TWO)
    recap = built.recap
    # The week comes from the calendar and the clock, not from the store's newest bar.
    assert recap.week.end == D(2026, 1, 16) and recap.data.source == "yahoo"
    asked = live.charts_since(mark)
    # Seen failing once in a full run, never since: the messages say what was asked.
    # From the last stored session (Friday the 9th), to check it against the stored bar.
    assert asked and {day for _, day in asked} == {D(2026, 1, 9)}, (asked, recap.data.notes)
    twice = sorted({t for t, _ in asked if sum(1 for u, _ in asked if u == t) > 1})
    assert twice == [], (twice, live.replay.asked[mark:], recap.data.notes)  # one request each
    with live.store() as store:
        assert store.coverage("^RUT") == (D(1990, 1, 2), D(2026, 1, 16))
    # The same figures as the snapshot of that week, through yfinance and the store.
    reference = snapshot_week.recap
    assert recap.indexes == reference.indexes
    assert recap.sectors.sectors == reference.sectors.sectors
    assert recap.banks == reference.banks
    assert [r.ticker for r in recap.banks.reported] == ["MTB", "PNC", "RF"]
    assert recap.banks.large[0].ticker == "JPM"
    assert recap.attribution.method == "estimate" and recap.market_breadth is None
    assert any(
        n.startswith("Contribution by sector is an estimate") and "Yahoo Finance fund data" in n
        for n in recap.data.notes
    )
    by = {s.sector: s for s in recap.attribution.week.sectors}
    small = {c.sector: c for c in reference.sectors.small_caps}
    assert by["Information Technology"].sector_return == small["Information Technology"].fund_week


def test_a_rate_limited_index_is_named_and_its_etf_stands_in(live):
    live.replay.fail("chart", "^DJI", 429)
    recap = live.build(WEEK_TWO).recap
    dow = recap.indexes[1]
    assert (dow.symbol, dow.is_proxy, dow.label) == (
        "DIA",
        True,
        "Dow Jones Industrial Average (DIA)",
    )
    assert dow.short_name == "Dow"
    assert (
        "Dow Jones Industrial Average: ^DJI could not be fetched (rate limited); the DIA ETF "
        "stands in." in recap.data.notes
    )
    assert not any("does not carry" in n for n in recap.data.notes)
    assert live.sleeps == [2.0, 4.0, 8.0]  # backoff, then the run goes on without it
    with live.store() as store:
        assert store.coverage("^DJI")[1] == D(2026, 1, 9)  # not marked as fetched
    live.replay.heal()
    again = live.build(WEEK_TWO + dt.timedelta(hours=1)).recap
    assert again.indexes[1].symbol == "^DJI"


def test_an_index_answered_with_an_error_page_is_not_called_uncarried(live):
    live.replay.fail("chart", "^DJI", "html")
    recap = live.build(WEEK_TWO).recap
    assert recap.indexes[1].symbol == "DIA"
    assert (
        "Dow Jones Industrial Average: ^DJI could not be fetched (HTTP 200 with an HTML page "
        "instead of data); the DIA ETF stands in." in recap.data.notes
    )
    assert not any("does not carry" in n for n in recap.data.notes)
    with live.store() as store:
        assert store.coverage("^DJI")[1] == D(2026, 1, 9)  # not marked as fetched


def test_a_ticker_that_404s_is_left_out_and_named(live):
    live.replay.fail("chart", "RF", 404)
    recap = live.build(WEEK_TWO).recap
    watch = next(w for w in recap.sectors.watchlists if w.name == "Regional banks")
    assert watch.missing == ("RF",)
    assert (
        "RF: prices in the data end 2026-01-09; left out of the Regional banks watchlist."
        in recap.data.notes
    )
    # A 404 is Yahoo not carrying the ticker, not a failure to fetch it.
    assert not any("could not be fetched from" in n for n in recap.data.notes)


def test_an_earnings_outage_builds_anyway_and_the_recovery_stores_them(live):
    live.replay.fail("earnings", "*", 429)
    recap = live.build(WEEK_TWO).recap
    assert recap.week.end == D(2026, 1, 16) and recap.indexes[3].symbol == "^RUT"
    assert [m.ticker for m in recap.data.earnings_missing] == list(EARNINGS)
    assert {m.reason for m in recap.data.earnings_missing} == {"rate limited"}
    assert recap.banks is None
    note = (
        "Earnings dates could not be fetched for PNC, RF, MTB, ZION and JPM, so any results "
        "they released this week are not shown here; the data notes say why."
    )
    assert recap.paragraphs("banks") == (note,)
    page = render.render_html(recap, (), live.config)  # the page, without its charts
    section = page.split('id="banks"')[1].split("</section>")[0]
    assert note in section and "No regional or large bank" not in section
    # One shared backoff, then no more pages: not 7 pages x 4 attempts.
    assert live.sleeps == [2.0, 4.0, 8.0]
    assert live.replay.count("earnings", "TSM") == 0
    with live.store() as store:
        # What did not arrive is not stored as "no earnings": coverage is still run one's.
        assert store.earnings_coverage("PNC")[1] == D(2026, 1, 16)
        assert store.earnings_coverage("PNC")[2] == WEEK_ONE
        assert (
            store.load_earnings(("PNC",), D(2026, 1, 12), D(2026, 1, 16))["eps_actual"].isna().all()
        )
    live.replay.heal()
    later = WEEK_TWO + dt.timedelta(hours=2)
    recovered = live.build(later).recap
    assert [r.ticker for r in recovered.banks.reported] == ["MTB", "PNC", "RF"]
    assert [m.ticker for m in recovered.data.earnings_missing] == ["TSM"]
    with live.store() as store:
        pnc = store.load_earnings(("PNC",), D(2026, 1, 12), D(2026, 1, 16))
        assert pnc["eps_actual"].tolist() == [4.88] and pnc["surprise_pct"].tolist() == [15.36]
        assert store.earnings_coverage("PNC")[2] == later


def test_offline_a_week_later_builds_the_stores_week_and_says_it_is_older(live, caplog):
    live.replay.offline = True
    recap = live.build(WEEK_TWO).recap
    assert recap.data.source == "store" and recap.week.end == D(2026, 1, 9)
    note = (
        "Yahoo Finance could not be reached; built from the local store, whose latest full "
        "week ends 2026-01-09, older than the latest complete week (ending 2026-01-16)."
    )
    assert note in recap.data.notes
    assert note in caplog.text  # and on the terminal


def test_cli_build_against_yahoo_prints_no_traceback(live, monkeypatch):
    live.replay.fail("earnings", "MTB", "blank")  # yfinance raises on this page
    new_process()
    live.replay.until = D(2026, 1, 16)
    monkeypatch.setattr(cli, "_now", lambda: WEEK_TWO)
    args = ["build", "--format", "json", "--config", str(live.config.sources[-1])]
    args += ["--store", str(live.config.store_path), "--out", str(live.config.out_dir)]
    result = CliRunner().invoke(cli.cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "2026-01-12 to 2026-01-16, yahoo" in result.output
    doc = (live.config.out_dir / "2026-01-16" / "recap.json").read_text()
    assert '"ticker": "MTB"' in doc and '"reason": "the page could not be read"' in doc


def test_the_weekly_job_offline_never_delivers_the_stores_older_week(live):
    from recap.delivery.jobs import run_weekly
    from recap.errors import WeekError

    live.replay.offline = True
    new_process()
    with pytest.raises(WeekError, match="week of 2026-01-12 to 2026-01-16 in the store source"):
        run_weekly(live.config, WEEK_TWO)
    assert not live.config.out_dir.exists()
