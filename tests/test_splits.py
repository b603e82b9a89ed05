"""Splits a source missed (recap/analytics/splits.py): found on tiny frames, and planted in
the real week of 2026-01-12..16, where a certain one is repaired (the stock stays in every
figure, with a data note) and a possible one is left out for its week only. Real moves of
about half or five times in the snapshot are never taken for splits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from recap import pipeline
from recap.analytics import splits
from recap.config import read_config
from recap.errors import ConfigError
from recap.sources.holdings import IndexHoldings, read_holdings_folder
from recap.weeks import sessions_between, week_containing
from tests._delivery import NOW, config
from tests.test_price_guards import WEEK, Edited, _build, _text

SESSIONS = sessions_between(dt.date(2025, 9, 1), dt.date(2026, 1, 16))
SPLIT_DAY = pd.Timestamp("2026-01-14")  # the Wednesday of the reference week


def _walk(seed: int, daily: float = 0.02, start: float = 100.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, daily, len(SESSIONS))
    return pd.Series(np.round(start * np.exp(np.cumsum(steps)), 2), index=SESSIONS)


def _bars(seed: int) -> pd.DataFrame:
    close = _walk(seed)
    rng = np.random.default_rng(seed + 100)
    return pd.DataFrame(
        {
            "Open": close,
            "High": close * 1.01,
            "Low": close * 0.99,
            "Close": close,
            "Volume": rng.integers(900_000, 1_100_000, len(close)).astype(float),
        }
    )


def _unadjusted(bar: pd.DataFrame, ratio: float, *, volume: bool, ohlc: bool) -> pd.DataFrame:
    """What a source that missed a split from SPLIT_DAY on writes: closes divided by the
    ratio; open, high and low too when ``ohlc``, volume multiplied when ``volume``."""
    bar = bar.copy()
    after = bar.index >= SPLIT_DAY
    columns = ["Open", "High", "Low", "Close"] if ohlc else ["Close"]
    bar.loc[after, columns] = bar.loc[after, columns] / ratio
    if volume:
        bar.loc[after, "Volume"] = bar.loc[after, "Volume"] * ratio
    return bar


def _found(bars, **kwargs):
    closes = pd.DataFrame({t: b["Close"] for t, b in bars.items()})
    return splits.find_splits(closes, bars=bars, **kwargs)


# -- finding them --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "volume", "ohlc", "evidence"),
    [
        (10.0, True, True, ("volume",)),  # a split in every field but the adjustment
        (0.2, True, True, ("volume",)),  # a 1-for-5 reverse split: volume a fifth
        (10.0, False, False, ("range",)),  # only the close divided: outside the day's range
        (0.2, False, False, ("range",)),
        (10.0, True, False, ("volume", "range")),
    ],
)
def test_a_split_with_a_second_sign_is_certain(ratio, volume, ohlc, evidence):
    bars = {"STOCK": _unadjusted(_bars(1), ratio, volume=volume, ohlc=ohlc), "OTHER": _bars(2)}
    (found,) = _found(bars)
    assert (found.ticker, found.date, found.ratio) == ("STOCK", SPLIT_DAY.date(), ratio)
    assert found.repaired and found.evidence == evidence


@pytest.mark.parametrize("ratio", [10.0, 0.2, 4.0, 1 / 3])
def test_a_split_ratio_alone_is_a_possible_split(ratio):
    """Close only (the constituents): nothing but the ratio and the new level holding."""
    closes = pd.DataFrame({"STOCK": _walk(1), "OTHER": _walk(2)})
    closes.loc[SPLIT_DAY:, "STOCK"] /= ratio
    (found,) = splits.find_splits(closes)
    assert (found.ticker, found.date, found.ratio) == ("STOCK", SPLIT_DAY.date(), ratio)
    assert not found.repaired and found.evidence == ()


@pytest.mark.parametrize("ratio", [2.0, 0.5])
def test_a_halving_or_doubling_alone_is_a_real_move(ratio):
    closes = pd.DataFrame({"STOCK": _walk(1)})
    closes.loc[SPLIT_DAY:, "STOCK"] /= ratio
    assert splits.find_splits(closes) == ()


def test_a_move_undone_at_once_is_not_a_split():
    """A bad print goes back: the price checks flag it, not the split checks."""
    closes = pd.DataFrame({"STOCK": _walk(1)})
    closes.loc[SPLIT_DAY, "STOCK"] /= 10
    assert splits.find_splits(closes) == ()


def test_share_counts_confirm_a_split_or_rule_it_out():
    closes = pd.DataFrame({"STOCK": _walk(1), "OTHER": _walk(2)})
    closes.loc[SPLIT_DAY:, "STOCK"] /= 5
    span = (dt.date(2025, 11, 5), dt.date(2026, 1, 21))
    (found,) = splits.find_splits(closes, changes={"STOCK": [(*span, np.log(5.0) + 0.02)]})
    assert found.repaired and found.evidence == ("holdings",)
    # Shares held did not move: a real drop to a fifth (a failed trial), not a split.
    assert splits.find_splits(closes, changes={"STOCK": [(*span, 0.01)]}) == ()


def test_a_split_event_or_a_declared_split_makes_it_certain():
    closes = pd.DataFrame({"STOCK": _walk(1)})
    closes.loc[SPLIT_DAY:, "STOCK"] /= 10
    (found,) = splits.find_splits(closes, events={"STOCK": [(SPLIT_DAY.date(), 10.0)]})
    assert found.repaired and found.evidence == ("event",)
    (found,) = splits.find_splits(closes, declared={"STOCK": [(SPLIT_DAY.date(), 10.0)]})
    assert found.repaired and found.evidence == ("declared",)
    # A declared split the closes do not show (already adjusted) is not applied twice.
    clean = pd.DataFrame({"STOCK": _walk(1)})
    assert splits.find_splits(clean, declared={"STOCK": [(SPLIT_DAY.date(), 10.0)]}) == ()


def test_repair_divides_the_earlier_prices_by_the_ratio():
    bar = _bars(1)
    planted = _unadjusted(bar, 10.0, volume=False, ohlc=False)
    found = _found({"STOCK": planted})
    fixed = splits.repair_bars({"STOCK": planted}, found)["STOCK"]
    before = bar.index < SPLIT_DAY
    assert np.allclose(fixed.loc[before, "Close"], bar.loc[before, "Close"] / 10)
    assert np.allclose(fixed.loc[before, "Volume"], bar.loc[before, "Volume"] * 10)
    assert np.allclose(fixed.loc[~before, "Close"], bar.loc[~before, "Close"] / 10)
    # The later days' range the source left at the old scale is on the new one.
    assert np.allclose(fixed.loc[~before, "High"], bar.loc[~before, "High"] / 10)
    closes = splits.repair_closes(pd.DataFrame({"STOCK": planted["Close"]}), found)
    returns = closes["STOCK"].pct_change().dropna()
    assert np.allclose(returns, bar["Close"].pct_change().dropna())


@pytest.mark.parametrize(
    ("ratio", "words", "entry"),
    [(10.0, "10-for-1", "10"), (0.2, "1-for-5", "1/5"), (1.5, "3-for-2", "3/2")],
)
def test_ratio_words(ratio, words, entry):
    assert splits.ratio_words(ratio) == words and splits.ratio_entry(ratio) == entry


def test_the_close_outside_its_range_is_a_flag_by_itself():
    from recap.analytics.quality import check_ranges

    bar = _bars(1)
    bar.loc[SPLIT_DAY, "Close"] = bar.loc[SPLIT_DAY, "High"] * 1.05
    (flag,) = check_ranges({"STOCK": bar, "OTHER": _bars(2)}, ["STOCK", "OTHER"], SESSIONS[0])
    assert (flag.ticker, flag.date, flag.kind) == ("STOCK", SPLIT_DAY.date(), "range")
    assert "outside the day's range" in flag.reason


# -- [data] splits ---------------------------------------------------------------------------


def test_config_declares_splits(market_dir, tmp_path):
    toml = '[data]\nsplits = ["KLAC:2026-06-05:10", "XYZ:2026-03-02:1/5"]\n'
    cfg = config(tmp_path, market_dir, toml=toml)
    assert cfg.data.declared_splits == {
        "KLAC": ((dt.date(2026, 6, 5), 10.0),),
        "XYZ": ((dt.date(2026, 3, 2), 0.2),),
    }


@pytest.mark.parametrize("entry", ["KLAC:2026-06-05", "KLAC:2026-13-05:10", "KLAC:x:0", "k:1:1"])
def test_config_refuses_a_bad_split_entry(tmp_path, entry):
    path = tmp_path / "recap.toml"
    path.write_text(f'[data]\nsplits = ["{entry}"]\n')
    with pytest.raises(ConfigError, match=r"key 'data.splits\[0\]' must be \"TICKER:YYYY-MM-DD:"):
        read_config(path, cwd=tmp_path)


# -- planted in the real week ------------------------------------------------------------------


def _plant(ratio: float, *, volume: bool, ohlc: bool, day: str = "2026-01-14"):
    def edit(bars):
        after = bars.index >= pd.Timestamp(day)
        columns = ["Open", "High", "Low", "Close"] if ohlc else ["Close"]
        bars.loc[after, columns] = bars.loc[after, columns] / ratio
        if volume:
            bars.loc[after, "Volume"] = bars.loc[after, "Volume"] * ratio
        return bars

    return edit


def _member(recap, ticker):
    ai = next(w for w in recap.sectors.watchlists if w.name == "AI hardware")
    return next((m for m in ai.members if m.ticker == ticker), None)


@pytest.mark.parametrize(
    ("volume", "ohlc"),
    [
        (False, False),  # issue 21: today's build published "Nvidia (-89.93%)"
        (True, True),  # a split in every field, unadjusted
    ],
)
def test_nvidia_missed_split_is_repaired(snapshot_source, reference_config, volume, ohlc):
    real = _build(snapshot_source, reference_config).recap
    source = Edited(snapshot_source, bars={"NVDA": _plant(10.0, volume=volume, ohlc=ohlc)})
    built = _build(source, reference_config)
    recap = built.recap
    nvda = _member(recap, "NVDA")
    assert nvda is not None and nvda.week_return == pytest.approx(_member(real, "NVDA").week_return)
    assert recap.data.excluded == ()
    assert "Nvidia: 10-for-1 split on January 14, 2026; earlier prices adjusted." in (
        recap.data.notes
    )
    (event,) = [s for s in recap.data.splits if s.ticker == "NVDA"]
    assert (event.ticker, event.date, event.ratio, event.repaired) == (
        "NVDA",
        dt.date(2026, 1, 14),
        10.0,
        True,
    )
    assert event.evidence == (("volume",) if volume and ohlc else ("range",))
    assert "-89." not in _text(recap) and recap.headline == real.headline
    doc = json.loads(built.files["recap.json"])
    entry = next(s for s in doc["data"]["splits"] if s["ticker"] == "NVDA")
    assert entry["repaired"] is True and entry["ratio"] == 10.0


def test_an_index_funds_reverse_split_is_repaired(snapshot_source, reference_config):
    real = _build(snapshot_source, reference_config).recap
    source = Edited(snapshot_source, bars={"IWM": _plant(0.2, volume=True, ohlc=True)})
    recap = _build(source, reference_config).recap
    assert recap.attribution.week.index_return == pytest.approx(real.attribution.week.index_return)
    assert "IWM: 1-for-5 reverse split on January 14, 2026; earlier prices adjusted." in (
        recap.data.notes
    )
    assert recap.data.excluded == ()


def test_a_watchlist_stock_without_a_second_sign_is_left_out_that_week(
    snapshot_source, reference_config, caplog
):
    """KLA's prices five times higher from Wednesday, its volume as it was: nothing but
    the ratio and the new level holding says split, so it is a possible one."""

    def edit(bars):
        after = bars.index >= pd.Timestamp("2026-01-14")
        bars.loc[after, ["Open", "High", "Low", "Close"]] *= 5
        return bars

    recap = _build(Edited(snapshot_source, bars={"KLAC": edit}), reference_config).recap
    assert _member(recap, "KLAC") is None
    assert [(f.ticker, f.date, f.kind) for f in recap.data.excluded] == [
        ("KLAC", dt.date(2026, 1, 14), "split")
    ]
    note = next(n for n in recap.data.notes if n.startswith("KLA (KLAC)"))
    assert "a possible 1-for-5 split on January 14, 2026" in note
    assert "failed a check" not in note
    assert "+400" not in _text(recap)
    # The log offers the [data] splits line, never accept.
    hint = next(r.getMessage() for r in caplog.records if "KLAC left out" in r.getMessage())
    assert 'add "KLAC:2026-01-14:1/5" to [data] splits' in hint and "accept" not in hint


def test_a_possible_split_before_the_week_leaves_the_week_clean(
    snapshot_source, market_dir, tmp_path
):
    """The week after the possible split: the stock is back, its week return clean, and
    nothing reaches back across the split (no year-to-date)."""
    cfg = read_config(None, {"data_dir": market_dir}, cwd=market_dir)
    # Volume unchanged: nothing but the ratio shows the split.
    source = Edited(
        snapshot_source, bars={"KLAC": _plant(0.2, volume=False, ohlc=True, day="2026-01-07")}
    )
    recap = _build(source, cfg).recap
    real = _build(snapshot_source, cfg).recap
    kla = _member(recap, "KLAC")
    assert kla is not None
    assert kla.week_return == pytest.approx(_member(real, "KLAC").week_return)
    assert kla.ytd_return is None
    assert any(
        n.startswith("KLA (KLAC): a possible 1-for-5 split on January 7, 2026")
        for n in recap.data.notes
    )
    # [data] accept says the move was real: nothing is cut, and no note.
    toml = '[data]\naccept = ["KLAC:2026-01-07"]\n'
    accepted = _build(source, config(tmp_path, market_dir, toml=toml)).recap
    assert _member(accepted, "KLAC").ytd_return is not None
    assert not any("KLAC" in n and "split" in n for n in accepted.data.notes)


# -- constituents: close only ------------------------------------------------------------------


@pytest.fixture(scope="module")
def iwm_files(market_dir):
    return read_holdings_folder(market_dir / "holdings", "IWM")


def _market(source, market_dir, holdings, week_end=WEEK):
    cfg = read_config(None, {"data_dir": market_dir}, cwd=market_dir)
    week = week_containing(week_end)
    market = pipeline.fetch_market(source, cfg, week, holdings)
    return market, pipeline.compute_facts(market, week, cfg, NOW)


def _facts(source, market_dir, holdings, week_end=WEEK):
    return _market(source, market_dir, holdings, week_end)[1]


def _shares_times(files, ticker, ratio):
    """The holdings files with the later one's share count of ``ticker`` times ``ratio``
    (NaN: the file does not say)."""
    later = files[-1]
    table = later.table.copy()
    table.loc[table["ticker"] == ticker, "shares"] *= ratio
    return (*files[:-1], dataclasses.replace(later, table=table))


def _contributor(period, ticker):
    return next((s for s in (*period.top, *period.bottom) if s.ticker == ticker), None)


def test_a_constituent_split_confirmed_by_the_share_counts_is_repaired(
    snapshot_source, market_dir, iwm_files
):
    """Bloom Energy, the week's largest contributor, with a 10-for-1 split from Wednesday
    in its closes and in the fund's share count: repaired, still the largest."""
    held = IndexHoldings(fund="IWM", files=_shares_times(iwm_files, "BE", 10.0))
    source = Edited(snapshot_source, bars={"BE": _plant(10.0, volume=False, ohlc=False)})
    recap = _facts(source, market_dir, held)
    assert recap.attribution.week.top[0].ticker == "BE"
    assert ("BE", 10.0, True, ("holdings",)) in {
        (s.ticker, s.ratio, s.repaired, s.evidence) for s in recap.data.splits
    }
    assert any(
        "BE: 10-for-1 split on January 14, 2026; earlier prices adjusted" in n
        for n in recap.data.notes
    )
    real = _facts(snapshot_source, market_dir, IndexHoldings(fund="IWM", files=iwm_files))
    assert recap.attribution.week.top[0].contribution == pytest.approx(
        real.attribution.week.top[0].contribution
    )


@pytest.mark.parametrize("ratio", [10.0, 0.2])
def test_a_constituent_split_with_nothing_to_confirm_it_is_left_out(
    snapshot_source, market_dir, iwm_files, ratio
):
    # The fund's share counts cannot tell (the later file gives none for BE): with them,
    # the real ones rule a split out, as they do for the real falls below.
    held = IndexHoldings(fund="IWM", files=_shares_times(iwm_files, "BE", np.nan))
    source = Edited(snapshot_source, bars={"BE": _plant(ratio, volume=False, ohlc=False)})
    recap = _facts(source, market_dir, held)
    assert _contributor(recap.attribution.week, "BE") is None
    assert ("BE", dt.date(2026, 1, 14), "split") in {
        (f.ticker, f.date, f.kind) for f in recap.data.excluded
    }
    note = next(n for n in recap.data.notes if n.startswith("Possible splits left"))
    assert "BE (2026-01-14)" in note
    # The week after: no flag, but the weights of the November holdings cannot be carried
    # across a split nobody confirmed, so Bloom Energy is counted unpriced, and said so.
    later = _facts(source, market_dir, held, WEEK + dt.timedelta(7))
    assert "BE" not in {f.ticker for f in later.data.excluded}
    assert _contributor(later.attribution.week, "BE") is None
    note = next(n for n in later.data.notes if n.startswith("Possible splits in the"))
    assert f"BE ({splits.ratio_words(ratio)}, January 14, 2026)" in note
    real = _facts(
        snapshot_source,
        market_dir,
        IndexHoldings(fund="IWM", files=iwm_files),
        WEEK + dt.timedelta(7),
    )
    lost = real.attribution.week.coverage - later.attribution.week.coverage
    assert 0 < lost < 0.02  # Bloom Energy's weight, about 1%


# -- real moves stay real ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ticker", "week_end", "move"),
    [
        ("VRNS", dt.date(2025, 10, 31), -0.487),  # Varonis, 63.00 to 32.34 on its results
        ("AGIO", dt.date(2025, 11, 21), -0.509),  # Agios, 45.49 to 22.34 on a trial
        ("KRRO", dt.date(2025, 11, 14), -0.793),  # Korro Bio, about a fifth; shares held unchanged
    ],
)
def test_a_real_fall_near_a_split_ratio_is_not_a_split(
    snapshot_source, market_dir, iwm_files, ticker, week_end, move
):
    held = IndexHoldings(fund="IWM", files=iwm_files)
    market, recap = _market(snapshot_source, market_dir, held, week_end)
    assert ticker not in {s.ticker for s in recap.data.splits}
    assert ticker not in {f.ticker for f in recap.data.excluded}
    closes = market.constituents[ticker].dropna()
    day = closes.pct_change().idxmin()  # the fall, as the source gave it, in the figures
    assert day.date() > week_containing(week_end).base_date
    assert closes.pct_change()[day] == pytest.approx(move, abs=0.001)


def test_a_week_that_prices_none_of_them_says_nothing_of_them(
    snapshot_source, market_dir, iwm_files
):
    """The constituents start in 2024: a week of 2023 carries the 2025 holdings back, but
    prices none of the stocks whose 2024 moves look like splits, so no note names them."""
    held = IndexHoldings(fund="IWM", files=iwm_files)
    recap = _facts(snapshot_source, market_dir, held, dt.date(2023, 6, 16))
    assert not any("split" in n for n in recap.data.notes)
    assert not [f for f in recap.data.excluded if f.kind == "split"]


def test_klas_real_split_day_fits_the_ratio_with_its_own_move():
    """KLA's 10-for-1 day in held-out data: 2,131.10 to 192.92 on 19x the volume (a
    9.47% fall on top of the split) is certain; the same move without the volume is not a
    near-exact ratio, so not even a possible split."""
    bar = _bars(1)
    bar.loc[SPLIT_DAY:, ["Open", "High", "Low", "Close"]] *= (
        192.92
        / 2131.10
        * (
            bar["Close"].loc[: SPLIT_DAY - pd.Timedelta(days=1)].iloc[-1]
            / bar.loc[SPLIT_DAY, "Close"]
        )
    )
    heavy = bar.copy()
    heavy.loc[SPLIT_DAY, "Volume"] *= 19
    (found,) = _found({"KLAC": heavy})
    assert found.ratio == 10.0 and found.repaired and found.evidence == ("volume",)
    assert found.move == pytest.approx(192.92 / 2131.10 - 1)
    assert _found({"KLAC": bar}) == ()


def test_a_sources_split_events_reach_the_checks(snapshot_source, reference_config):
    """The seam for the live source: a ``split_events`` method (yfinance's ``actions``)."""

    class WithEvents(Edited):
        def split_events(self, tickers, start, end):
            asked.append(tuple(tickers))
            if "NVDA" in tickers and start <= dt.date(2026, 1, 14) <= end:
                return {"NVDA": ((dt.date(2026, 1, 14), 10.0),)}
            return {}

    asked = []

    # Every field adjusted but the volume's: only the source's event says split.
    def edit(bars):
        after = bars.index >= pd.Timestamp("2026-01-14")
        bars.loc[after, ["Open", "High", "Low", "Close"]] /= 10
        return bars

    recap = _build(WithEvents(snapshot_source, bars={"NVDA": edit}), reference_config).recap
    (event,) = [s for s in recap.data.splits if s.ticker == "NVDA"]
    assert event.repaired and event.evidence == ("event",)
    assert _member(recap, "NVDA") is not None
    # Asked for the content's stocks and for each index's own (the Russell 2000's and the
    # S&P 500's), never for index levels.
    assert len(asked) == 3 and not any(t.startswith("^") for batch in asked for t in batch)
