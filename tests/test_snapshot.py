"""SnapshotSource on the real snapshot, its error paths, and snapshot export round trips."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from recap.errors import SourceError
from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS, close_series
from recap.sources.export import export_snapshot, price_csv, write_snapshot
from recap.sources.snapshot import SnapshotSource, read_earnings_csv, read_price_csv

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD = "2026-01-15,10.0,11.0,9.5,10.5,10.4,1000\n"


def _write(tmp_path, text, name="T.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_spy_close_on_reference_friday(snapshot_source):
    bars = snapshot_source.fetch_bars(("SPY",), dt.date(2026, 1, 12), dt.date(2026, 1, 16))
    assert bars["SPY"].loc["2026-01-16", "Close"] == pytest.approx(691.66)
    assert list(bars["SPY"].columns) == list(BAR_COLUMNS)
    assert bars["SPY"].index.name == "Date"


def test_zion_falls_back_to_adj_close(snapshot_source):
    bars = snapshot_source.fetch_bars(("ZION",), dt.date(2026, 1, 12), dt.date(2026, 1, 16))["ZION"]
    assert bars["Close"].isna().all()
    closes = close_series(bars)
    assert closes.notna().all()
    assert closes.equals(bars["Adj Close"])


def test_unknown_ticker_left_out(snapshot_source):
    bars = snapshot_source.fetch_bars(("SPY", "NOPE"), dt.date(2026, 1, 12), dt.date(2026, 1, 16))
    assert set(bars) == {"SPY"}


def test_holiday_has_no_bar(snapshot_source):
    bars = snapshot_source.fetch_bars(("SPY",), dt.date(2026, 1, 16), dt.date(2026, 1, 20))["SPY"]
    assert [d.date() for d in bars.index] == [dt.date(2026, 1, 16), dt.date(2026, 1, 20)]


def test_reference_week_earnings(snapshot_source):
    rows = snapshot_source.fetch_earnings(
        ("JPM", "PNC"), dt.date(2026, 1, 12), dt.date(2026, 1, 16)
    )
    assert list(rows.columns) == list(EARNINGS_COLUMNS)
    by_ticker = {r.ticker: r.date.date() for r in rows.itertuples()}
    assert by_ticker == {"JPM": dt.date(2026, 1, 13), "PNC": dt.date(2026, 1, 16)}


def test_not_a_snapshot_folder(tmp_path):
    with pytest.raises(SourceError, match="no prices/ subfolder"):
        SnapshotSource(tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (HEADER + GOOD + "2026-01-16,10.0,11.0\n", 3, "expected 7 fields"),
        (HEADER + GOOD + "2026-01-16,10.0,11.0,9.5,10", 3, "malformed or truncated"),
        (HEADER + "2026/01/15,10.0,11.0,9.5,10.5,10.4,1000\n", 2, "not a valid date"),
        (HEADER + GOOD + "2026-01-16,10.0,1x.0,9.5,10.5,10.4,1000\n", 3, "not a valid number"),
    ],
    ids=["malformed", "truncated-last-line", "bad-date", "bad-number"],
)
def test_price_csv_errors_name_file_and_line(tmp_path, text, line, what):
    path = _write(tmp_path, text)
    with pytest.raises(SourceError) as err:
        read_price_csv(path)
    assert str(path) in str(err.value)
    assert f"line {line}" in str(err.value)
    assert what in str(err.value)


def test_bad_header_is_line_1(tmp_path):
    path = _write(tmp_path, "Date,Close\n2026-01-15,1\n")
    with pytest.raises(SourceError, match=r"T\.csv, line 1: header"):
        read_price_csv(path)


def test_duplicate_date_named(tmp_path):
    path = _write(tmp_path, HEADER + GOOD + GOOD)
    with pytest.raises(SourceError, match=r"T\.csv: date 2026-01-15 appears more than once"):
        read_price_csv(path)


def test_nan_close_is_kept_as_nan(tmp_path):
    # An empty Close is not an error: the source did not carry it (ZION has none).
    path = _write(tmp_path, HEADER + "2026-01-15,,,,,10.4,\n" + GOOD.replace("15", "16", 1))
    bars = read_price_csv(path)
    assert bars["Close"].isna().tolist() == [True, False]
    assert close_series(bars).tolist() == [10.4, 10.5]


def test_literal_nan_close_is_rejected(tmp_path):
    path = _write(tmp_path, HEADER + "2026-01-15,10.0,11.0,9.5,NaN,10.4,1000\n")
    with pytest.raises(SourceError, match=r"line 2: Close value 'NaN' is not a valid number"):
        read_price_csv(path)


def test_earnings_csv_error_names_line(tmp_path):
    head = ",".join(EARNINGS_COLUMNS) + "\n"
    path = _write(
        tmp_path, head + "JPM,2026-01-13,06:45,4.8,5.0,4.1\nPNC,2026-01-1x,,,,\n", "e.csv"
    )
    with pytest.raises(SourceError, match=r"e\.csv, line 3: Date value '2026-01-1x'"):
        read_earnings_csv(path)


def test_price_csv_text_matches_snapshot_layout(market_dir):
    original = (market_dir / "prices" / "KRE.csv").read_text(encoding="utf-8")
    frame = read_price_csv(market_dir / "prices" / "KRE.csv")
    assert price_csv(frame) == original


def test_export_round_trip_from_real_snapshot(snapshot_source, tmp_path):
    tickers = ("SPY", "ZION", "KRE", "JPM", "PNC", "XLK", "NVDA")
    since, until = dt.date(2025, 6, 2), dt.date(2026, 1, 30)
    out = export_snapshot(snapshot_source, tickers, since, until, tmp_path / "snap")
    again = SnapshotSource(out)
    before = snapshot_source.fetch_bars(tickers, since, until)
    after = again.fetch_bars(tickers, since, until)
    assert set(after) == set(before) == set(tickers)
    for ticker in tickers:
        pd.testing.assert_frame_equal(after[ticker], before[ticker])
    pd.testing.assert_frame_equal(
        again.fetch_earnings(tickers, since, until),
        snapshot_source.fetch_earnings(tickers, since, until),
    )
    manifest = pd.read_csv(out / "MANIFEST.csv")
    assert manifest.set_index("ticker").loc["ZION", "close_is"] == "adjusted (close only)"
    assert not list(tmp_path.glob(".snap.*")), "temp folder left behind"


def test_write_snapshot_refuses_non_empty_folder(tmp_path):
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "keep.txt").write_text("x")
    empty = pd.DataFrame(columns=list(EARNINGS_COLUMNS))
    with pytest.raises(SourceError, match="not empty"):
        write_snapshot(tmp_path / "snap", {}, empty, source_name="t")
    assert (tmp_path / "snap" / "keep.txt").exists()


def test_export_refuses_a_ticker_that_is_a_path(tmp_path):
    """A '../../..' ticker once wrote prices outside --out."""
    bars = read_price_csv(_write(tmp_path, HEADER + GOOD))
    out = tmp_path / "deep" / "down" / "snap"
    with pytest.raises(
        SourceError, match=r"refusing to save '\.\./\.\./\.\./escaped': not a ticker"
    ):
        write_snapshot(
            out,
            {"SPY": bars, "../../../escaped": bars},
            pd.DataFrame(columns=list(EARNINGS_COLUMNS)),
            source_name="snapshot",
        )
    assert not out.exists()
    assert not list(tmp_path.rglob("escaped*"))


def test_recap_snapshot_refuses_a_path_in_a_watchlist(market_dir, tmp_path):
    from click.testing import CliRunner

    from recap.cli import cli

    toml = tmp_path / "recap.toml"
    toml.write_text('[watchlists]\nMine = ["NVDA", "../../../../tmp/owned"]\n')
    out = tmp_path / "snap"
    result = CliRunner().invoke(
        cli,
        [
            "snapshot",
            "--out",
            str(out),
            "--data-dir",
            str(market_dir),
            "--config",
            str(toml),
            "--since",
            "2026-01-02",
            "--until",
            "2026-01-16",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "key 'watchlists.Mine[1]' must be a ticker" in result.output
    assert not out.exists()
