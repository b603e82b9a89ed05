"""The live holdings path: the iShares download through a fake HTTP seam (the real files'
bytes), stored by as-of date so a history builds up; failures fall back to what is stored."""

from __future__ import annotations

import datetime as dt

import pytest

from recap.config import read_config
from recap.errors import DataError, SourceError
from recap.sources.ishares import download_holdings, holdings_folder, refresh_holdings


class FakeGet:
    """Answers each call with the next scripted body (bytes) or raises it (exception)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.urls = []

    def __call__(self, url, timeout):
        self.urls.append((url, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def files(market_dir):
    folder = market_dir / "holdings"
    return {
        "nov": (folder / "IWM-2025-11-05.csv").read_bytes(),
        "jan": (folder / "IWM-2026-01-21.csv").read_bytes(),
    }


def _config(tmp_path):
    return read_config(cwd=tmp_path, overrides={"cache_dir": tmp_path / "cache"})


def test_download_is_stored_by_its_as_of_date(tmp_path, files):
    cfg = _config(tmp_path)
    get = FakeGet(files["jan"])
    held = refresh_holdings(cfg, get=get)
    url, timeout = get.urls[0]
    assert "ishares.com" in url and "fileType=csv" in url and timeout == 30
    assert [f.as_of for f in held.files] == [dt.date(2026, 1, 21)]
    stored = holdings_folder(cfg) / "IWM-2026-01-21.csv"
    assert stored.is_file()
    assert held.files[0].positions == 1952 and "BE" in held.files[0].tickers()


def test_a_history_builds_up_week_by_week(tmp_path, files):
    cfg = _config(tmp_path)
    refresh_holdings(cfg, get=FakeGet(files["nov"]))
    held = refresh_holdings(cfg, get=FakeGet(files["jan"]))
    assert [f.as_of for f in held.files] == [dt.date(2025, 11, 5), dt.date(2026, 1, 21)]
    assert held.pick(dt.date(2026, 1, 9)).as_of == dt.date(2025, 11, 5)
    # The same file again changes nothing on disk.
    stored = holdings_folder(cfg) / "IWM-2026-01-21.csv"
    stamp = stored.stat().st_mtime_ns
    refresh_holdings(cfg, get=FakeGet(files["jan"]))
    assert stored.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    "answer",
    [
        SourceError("https://www.ishares.com/...: cannot be reached (timed out)", offline=True),
        b"<!DOCTYPE html><html><body>Service unavailable</body></html>",
        b"\xff\xfe\x00garbage",
    ],
    ids=["offline", "error-page", "not-text"],
)
def test_a_failed_download_keeps_the_stored_history(tmp_path, files, caplog, answer):
    cfg = _config(tmp_path)
    refresh_holdings(cfg, get=FakeGet(files["nov"]))
    held = refresh_holdings(cfg, get=FakeGet(answer))
    assert [f.as_of for f in held.files] == [dt.date(2025, 11, 5)]
    assert sorted(p.name for p in holdings_folder(cfg).iterdir()) == ["IWM-2025-11-05.csv"]
    note = "The IWM holdings file could not be downloaded from iShares ("
    assert note in caplog.text
    assert "the latest stored file, of November 5, 2025, is used instead." in caplog.text


def test_nothing_stored_and_nothing_downloaded_is_none_and_said(tmp_path, caplog):
    cfg = _config(tmp_path)
    notes: list[str] = []
    got = refresh_holdings(cfg, get=FakeGet(SourceError("offline", offline=True)), notes=notes)
    assert got is None
    # Never "using the stored files" when there are none.
    assert notes == [
        "The IWM holdings file could not be downloaded from iShares (offline); no earlier "
        "download is stored, so no stock-level figures use it."
    ]
    assert "stored files" not in caplog.text


def test_an_error_page_is_named(tmp_path):
    get = FakeGet(b"<html>Sorry</html>")
    with pytest.raises(DataError, match="IWM holdings from https://x.example/h.csv: no 'Ticker"):
        download_holdings("https://x.example/h.csv", "IWM", tmp_path, get=get)
    assert not any(tmp_path.iterdir())


def test_the_sp500_fund_downloads_beside_iwm_with_exact_weights(tmp_path, market_dir):
    """[sp500_attribution]'s IVV file: its own URL, stored by its as-of date beside IWM's,
    weights from Market Value; the build reads the stored files (pipeline)."""
    from recap import pipeline
    from recap.sources.ishares import refresh_fund

    cfg = _config(tmp_path)
    c = cfg.sp500_attribution
    body = (market_dir / "holdings" / "IVV-2025-11-18.csv").read_bytes()
    get = FakeGet(body)
    held = refresh_fund(cfg, c.etf, c.holdings_url, c.timeout_seconds, exact=True, get=get)
    assert "ishares-core-sp-500-etf" in get.urls[0][0]
    assert [f.as_of for f in held.files] == [dt.date(2025, 11, 18)]
    assert (holdings_folder(cfg) / "IVV-2025-11-18.csv").is_file()
    table = held.files[0].table.set_index("ticker")
    # NVDA's Market Value over the equity rows' sum (7.84%), not the rounded 7.82% of the
    # fund's assets that Weight (%) gives.
    assert round(table.loc["NVDA", "weight"] * 100, 2) == 7.84
    assert abs(held.files[0].table["weight"].sum() - 1) < 1e-12
    assert {"BRK-B", "FISV", "MRSH", "BNY"} <= set(table.index)
    stored = pipeline.sp500_holdings_for(cfg)
    assert stored is not None and stored.files[0].as_of == dt.date(2025, 11, 18)
