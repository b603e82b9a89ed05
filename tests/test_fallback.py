"""The main job offline: Yahoo unreachable -> the local store -> generated sample data."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from recap import pipeline
from recap.config import read_config
from recap.sources import yahoo
from recap.store import Store

NOW = dt.datetime(2026, 1, 31, 18, tzinfo=dt.UTC)


def _unreachable(*args, **kwargs):
    raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")


@pytest.fixture
def offline(monkeypatch):
    """YahooSource whose download fails as it does with no network (the real seam)."""
    original = yahoo.YahooSource.from_config.__func__

    def from_config(cls, config, **seams):
        return original(
            cls, config, download=_unreachable, ticker_factory=_unreachable, sleep=lambda s: None
        )

    monkeypatch.setattr(yahoo.YahooSource, "from_config", classmethod(from_config))


def _config(tmp_path):
    return read_config(
        cwd=tmp_path,
        overrides={"cache_dir": tmp_path / "cache", "store": tmp_path / "store.sqlite"},
    )


def test_empty_store_falls_back_to_marked_sample_data(offline, tmp_path, caplog):
    config = _config(tmp_path)
    built = pipeline.build_week(
        pipeline.open_source(config, NOW), config, week_date=None, now=NOW, formats=("json", "html")
    )
    assert built.recap.data.source == "sample" and built.recap.data.is_sample
    assert built.recap.week.end == dt.date(2026, 1, 30)
    assert json.loads(built.files["recap.json"])["data"]["source"] == "sample"
    assert "SAMPLE DATA, NOT MARKET DATA" in built.files["recap.html"].decode()
    assert "could not be reached" in caplog.text


def test_store_is_used_when_yahoo_is_unreachable(offline, tmp_path, snapshot_source):
    config = _config(tmp_path)
    tickers = ("SPY", "DIA", "QQQ", "IWM")
    bars = snapshot_source.fetch_bars(tickers, dt.date(2024, 1, 1), dt.date(2026, 1, 16))
    with Store(config.store_path) as store:
        store.save_bars(bars, dt.date(2024, 1, 1), dt.date(2026, 1, 16))
    built = pipeline.build_week(
        pipeline.open_source(config, NOW), config, week_date=None, now=NOW, formats=("json",)
    )
    recap = built.recap
    assert recap.data.source == "store"
    assert recap.week.end == dt.date(2026, 1, 16)  # the latest week the store holds
    iwm = next(m for m in recap.indexes if m.symbol == "IWM")
    assert round(iwm.week_return, 4) == 0.0213


def test_an_offline_sample_build_never_replaces_a_real_week(offline, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from recap import cli

    monkeypatch.chdir(tmp_path)  # the sample dataset is made into ./.cache
    monkeypatch.setattr(cli, "_now", lambda: NOW)
    real = tmp_path / "output" / "2026-01-30"
    real.mkdir(parents=True)
    (real / "recap.json").write_text('{"data": {"source": "yahoo"}}')
    result = CliRunner().invoke(cli.cli, ["build", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "SAMPLE DATA, NOT MARKET DATA" in result.output and "sample-2026-01-30/" in result.output
    assert (real / "recap.json").read_text() == '{"data": {"source": "yahoo"}}'
    sample = json.loads((tmp_path / "output" / "sample-2026-01-30" / "recap.json").read_text())
    assert sample["data"]["source"] == "sample" and sample["week"]["end"] == "2026-01-30"
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == [
        "2026-01-30",
        "sample-2026-01-30",
    ]
