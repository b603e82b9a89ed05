"""Write bars and earnings as a snapshot folder that SnapshotSource reads back unchanged.

The layout of ``../shared/data/market``: prices/<TICKER>.csv, earnings.csv, MANIFEST.csv.
The folder is written beside its destination and moved into place, so a failed export
never leaves half a snapshot.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from recap.errors import SourceError
from recap.settings import TICKER_PATTERN
from recap.sources.base import BAR_COLUMNS, EARNINGS_COLUMNS, PriceSource
from recap.sources.snapshot import PRICE_HEADER

MANIFEST_HEADER = ("ticker", "first", "last", "rows", "close_is", "source")


def _cell(value: object, whole: bool = False) -> str:
    """A CSV cell: empty for NaN; repr() round-trips floats exactly."""
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return ""
    if whole and number.is_integer():
        return str(int(number))
    return repr(number)


def price_csv(bars: pd.DataFrame) -> str:
    """One ticker's bars as prices/<TICKER>.csv text."""
    lines = [",".join(PRICE_HEADER)]
    values = bars.loc[:, list(BAR_COLUMNS)].to_numpy(dtype="float64")
    for ts, row in zip(bars.index, values, strict=True):
        cells = [_cell(v, whole=(col == "Volume")) for col, v in zip(BAR_COLUMNS, row, strict=True)]
        lines.append(",".join([pd.Timestamp(ts).date().isoformat(), *cells]))
    return "\n".join(lines) + "\n"


def earnings_csv(earnings: pd.DataFrame) -> str:
    """Earnings rows as earnings.csv text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EARNINGS_COLUMNS)
    ordered = earnings.sort_values(["date", "ticker"], kind="stable")
    dates = pd.to_datetime(ordered["date"]).dt.strftime("%Y-%m-%d")
    times = ordered["time"].fillna("").astype(str)
    numbers = [ordered[c].map(_cell) for c in ("eps_estimate", "eps_actual", "surprise_pct")]
    writer.writerows(zip(ordered["ticker"].astype(str), dates, times, *numbers, strict=True))
    return buf.getvalue()


def _close_is(bars: pd.DataFrame, source_name: str) -> str:
    if bars["Close"].isna().all():
        return "adjusted (close only)"
    # yfinance is asked for unadjusted bars; the sample has no dividends.
    return "raw" if source_name in ("yahoo", "sample") else "as given"


def manifest_csv(bars: Mapping[str, pd.DataFrame], source_name: str) -> str:
    """MANIFEST.csv text: per ticker its first and last date, rows and origin."""
    lines = [",".join(MANIFEST_HEADER)]
    for ticker in sorted(bars):
        frame = bars[ticker]
        first, last = frame.index.min().date(), frame.index.max().date()
        cells = (ticker, first.isoformat(), last.isoformat(), str(len(frame)))
        lines.append(",".join([*cells, _close_is(frame, source_name), source_name]))
    return "\n".join(lines) + "\n"


def write_snapshot(
    out_dir: Path,
    bars: Mapping[str, pd.DataFrame],
    earnings: pd.DataFrame,
    *,
    source_name: str,
    extra_files: Mapping[str, str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a snapshot folder atomically (temp folder, then rename); returns ``out_dir``."""
    out_dir = Path(out_dir)
    # Tickers become file names: one that is not a ticker's shape could write anywhere.
    for ticker in bars:
        if not re.fullmatch(TICKER_PATTERN, ticker):
            raise SourceError(
                f"refusing to save {ticker!r}: not a ticker (capital letters, digits, "
                "'.', '=', '-', up to 15, '^' first for an index)"
            )
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise SourceError(
            f"{out_dir} exists and is not empty; write the snapshot into a new or empty folder"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (tmp / "prices").mkdir()
        for ticker, frame in sorted(bars.items()):
            (tmp / "prices" / f"{ticker}.csv").write_text(price_csv(frame), encoding="utf-8")
        (tmp / "earnings.csv").write_text(earnings_csv(earnings), encoding="utf-8")
        (tmp / "MANIFEST.csv").write_text(manifest_csv(bars, source_name), encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    except OSError as e:
        raise SourceError(f"{out_dir}: snapshot could not be written ({e})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def export_snapshot(
    source: PriceSource,
    tickers: tuple[str, ...],
    since: dt.date,
    until: dt.date,
    out_dir: Path,
    *,
    overwrite: bool = False,
) -> Path:
    """Save ``source``'s bars and earnings for [since, until] as a snapshot folder."""
    bars = source.fetch_bars(tickers, since, until)
    earnings = source.fetch_earnings(tickers, since, until)
    return write_snapshot(out_dir, bars, earnings, source_name=source.name, overwrite=overwrite)
