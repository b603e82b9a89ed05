"""A week whose last session is missing from the indexes (recap/pipeline.py, _fetch_week):
soon after its close the build refuses, exit 75, so a job retries; later the week is
reported through the last session the data holds, and the masthead and data notes say so."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from recap import cli as cli_mod
from recap.cli import cli
from recap.errors import IncompleteWeekError
from recap.weeks import through, week_containing
from tests.test_price_guards import WEEK, Edited

FRIDAY = pd.Timestamp(WEEK)
JUST_AFTER = dt.datetime(2026, 1, 16, 23, 0, tzinfo=dt.UTC)  # 6 pm in New York
DAYS_LATER = dt.datetime(2026, 1, 20, 12, 0, tzinfo=dt.UTC)


class NoFriday(Edited):
    """The real snapshot without any close on Friday 2026-01-16 (every series)."""

    def fetch_bars(self, tickers, start, end):
        out = self.source.fetch_bars(tickers, start, end)
        return {t: b.drop(FRIDAY, errors="ignore") for t, b in out.items()}

    def fetch_closes(self, tickers, start, end):
        return self.source.fetch_closes(tickers, start, end).drop(FRIDAY, errors="ignore")


def _at(source, cfg, now):
    from recap import pipeline
    from recap.sources.opening import OpenSource

    return pipeline.build_week(
        OpenSource(source), cfg, week_date=WEEK, now=now, formats=("json", "email")
    )


def test_through_keeps_the_sessions_the_data_holds():
    week = through(week_containing(WEEK), dt.date(2026, 1, 15))
    assert (week.start, week.end, week.sessions) == (dt.date(2026, 1, 12), WEEK.replace(day=15), 4)
    assert week.missing_sessions == (WEEK,)
    assert week.base_date == dt.date(2026, 1, 9)


def test_soon_after_the_close_a_week_missing_its_friday_is_refused(
    snapshot_source, reference_config
):
    with pytest.raises(IncompleteWeekError) as caught:
        _at(NoFriday(snapshot_source), reference_config, JUST_AFTER)
    message = str(caught.value)
    assert message.startswith("the week ending 2026-01-16 is not complete in the snapshot")
    assert "end 2026-01-15, without Friday's; try again later" in message
    assert "\n" not in message


def test_later_the_week_is_reported_through_thursday(snapshot_source, reference_config):
    built = _at(NoFriday(snapshot_source), reference_config, DAYS_LATER)
    recap = built.recap
    assert recap.week.end == dt.date(2026, 1, 15) and recap.week.missing_sessions == (WEEK,)
    assert recap.data.last_bar == dt.date(2026, 1, 15)
    assert any(
        n.startswith(
            "The week is reported through Thursday's close (January 15, 2026): the data "
            "holds no close for Friday, January 16, 2026"
        )
        for n in recap.data.notes
    )
    # Thursday's closes, not Friday's.
    gspc = next(m for m in recap.indexes if m.symbol == "^GSPC")
    thursday = snapshot_source.fetch_bars(("^GSPC",), WEEK.replace(day=15), WEEK)
    assert gspc.close == thursday["^GSPC"]["Close"].loc["2026-01-15"]
    text = built.files["email.txt"].decode()
    assert (
        "closing prices of January 15, 2026 (through Thursday's close: no Friday close"
        in (text.splitlines()[1])
    )
    doc = json.loads(built.files["recap.json"])
    assert doc["week"]["missing_sessions"] == ["2026-01-16"]


def test_a_complete_week_has_no_missing_sessions(reference_recap):
    assert reference_recap.week.missing_sessions == ()
    assert not any("reported through" in n for n in reference_recap.data.notes)


def test_cli_exits_75_while_the_week_is_incomplete(
    market_dir, snapshot_source, tmp_path, monkeypatch
):
    """`recap build` (and `recap weekly`, through the same build) exits 75, EX_TEMPFAIL,
    with one line: a timer or cron job can tell "try again later" from a failure. The
    indexes and their ETFs lack Friday (an ETF with Friday's close stands in)."""
    from recap.sources.export import price_csv

    root = tmp_path / "snapshot"
    (root / "prices").mkdir(parents=True)
    for path in (market_dir / "prices").glob("*.csv"):
        if path.stem.startswith("^") or path.stem in ("SPY", "DIA", "QQQ", "IWM"):
            bars = snapshot_source.fetch_bars((path.stem,), dt.date(1990, 1, 2), WEEK)
            frame = bars[path.stem].drop(FRIDAY, errors="ignore")
            (root / "prices" / path.name).write_text(price_csv(frame))
        else:
            (root / "prices" / path.name).symlink_to(path)
    (root / "holdings").symlink_to(market_dir / "holdings")
    (root / "earnings.csv").symlink_to(market_dir / "earnings.csv")
    monkeypatch.setattr(cli_mod, "_now", lambda: JUST_AFTER)
    args = ["build", "--week", str(WEEK), "--data-dir", str(root), "--format", "json"]
    args += ["--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite")]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 75, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the week ending 2026-01-16 is not")


# -- a fund missing a session ----------------------------------------------------------------

SPDRS = ("XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY")


def _without_friday(bars):
    return bars.drop(FRIDAY, errors="ignore")


def test_funds_missing_friday_keep_their_rows_to_thursday(snapshot_source, reference_config):
    """Issue 21: sector funds lacking one session dropped the sector table entirely."""
    from tests.test_price_guards import _build

    source = Edited(snapshot_source, bars=dict.fromkeys(SPDRS, _without_friday))
    built = _build(source, reference_config)
    recap = built.recap
    assert recap.week.end == WEEK and recap.week.missing_sessions == ()
    rows = {m.ticker: m for m in recap.sectors.sectors}
    assert set(rows) == set(SPDRS)
    assert {m.through for m in rows.values()} == {dt.date(2026, 1, 15)}
    xlk = snapshot_source.fetch_bars(("XLK",), dt.date(2026, 1, 9), WEEK)["XLK"]["Close"]
    assert rows["XLK"].close == xlk.loc["2026-01-15"]
    assert rows["XLK"].week_return == pytest.approx(xlk.loc["2026-01-15"] / xlk.iloc[0] - 1)
    # The industry funds have the whole week.
    assert all(m.through is None for m in recap.sectors.industries)
    # Each row of the small-vs-large table has its large-cap figure again.
    assert all(c.large_week is not None for c in recap.sectors.small_caps if c.large_ticker)


def test_the_page_labels_a_short_row(snapshot_source, reference_config):
    from recap import pipeline
    from recap.sources.opening import OpenSource

    source = Edited(snapshot_source, bars={"XLK": _without_friday})
    built = pipeline.build_week(
        OpenSource(source), reference_config, week_date=WEEK, now=DAYS_LATER, formats=("html",)
    )
    page = built.files["recap.html"].decode()
    # the fund's row in the small- against large-cap sector table carries its own last day
    assert '<span class="tick">XLK · to Thu' in page
    assert '<span class="tick">XLF · PSCF</span>' in page
