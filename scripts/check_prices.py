"""Run the price checks over every series of a snapshot, as weekly builds read them.

    .venv/bin/python scripts/check_prices.py --data-dir ../shared/data/market \
        --from 2025-02-07 --to 2026-01-30

Prints each flag, a count by kind, and how long check_prices took (median of 5) on the
whole frame: the indexes' full history and 400 days before the first week for the rest.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import statistics
import time
from pathlib import Path

import pandas as pd

from recap import pipeline
from recap.analytics.quality import check_prices
from recap.config import read_config
from recap.sources.base import closes_frame
from recap.sources.snapshot import SnapshotSource
from recap.weeks import CALENDAR_START, sessions_between, week_containing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/market"))
    parser.add_argument("--from", dest="first", default="2025-02-07")
    parser.add_argument("--to", dest="last", default="2026-01-30")
    args = parser.parse_args()
    config = read_config(None, {"data_dir": args.data_dir}, cwd=args.data_dir)
    source = SnapshotSource(args.data_dir)
    first = week_containing(dt.date.fromisoformat(args.first))
    last = week_containing(dt.date.fromisoformat(args.last))
    names = sorted(p.stem for p in (args.data_dir / "prices").glob("*.csv"))
    indexes = pipeline.index_tickers(config)
    bars = source.fetch_bars(
        tuple(n for n in names if n not in indexes),
        first.start - dt.timedelta(days=pipeline.CONTENT_LOOKBACK_DAYS),
        last.end,
    )
    bars.update(source.fetch_bars(indexes, dt.date.fromisoformat(CALENDAR_START), last.end))
    closes = closes_frame(bars)
    volumes = pd.concat(
        {t: b["Volume"] for t, b in bars.items() if b["Volume"].notna().any()}, axis=1, sort=True
    )
    sessions = sessions_between(closes.index.min().date(), last.end)
    funds = pipeline.steady_series(config)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        flags = check_prices(closes, volumes, sessions, funds=funds)
        timings.append(time.perf_counter() - started)
    for flag in flags:
        print(f"{flag.kind:12} {flag}")
    print(dict(collections.Counter(f.kind for f in flags)))
    print(
        f"{closes.shape[1]} series, {closes.shape[0]} dates: check_prices took "
        f"{statistics.median(timings):.2f} s (median of 5)"
    )


if __name__ == "__main__":
    main()
