"""`make bench`, the live path: the shipped config (about 2,000 constituents from the
IWM holdings files) built from the replayed Yahoo (tests/yahoo_replay.py, yfinance's own
code over HTTP answered locally), with a latency per request and a share of the chart
requests answered 429 (with Retry-After), as Yahoo throttles.

Three runs, as the weekly job meets them: the first build on an empty store, a repeat
an hour later, and the next week. Each prints its wall time and its requests by kind.
Targets (issue 21): first build under 5 minutes at 200 ms and 10% 429s; a repeat under
30 s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)  # Saturday after 2026-01-05..09
TARGETS = {"first build": 300.0, "repeat": 30.0}


def _config(folder: Path, data: Path) -> object:
    from recap.config import read_config

    toml = folder / "recap.toml"
    # The holdings come from the stored files (the iShares download is not replayed).
    toml.write_text('[contribution]\nholdings_url = ""\n')
    held = folder / "cache" / "holdings"
    held.mkdir(parents=True)
    for path in sorted((data / "holdings").glob("IWM-*.csv")):
        shutil.copy(path, held / path.name)
    overrides = {
        "cache_dir": folder / "cache",
        "store": folder / "store.sqlite",
        "out_dir": folder / "out",
    }
    return read_config(toml, overrides, cwd=folder)


def _run(label: str, replay: object, config: object, now: dt.datetime) -> None:
    from recap import pipeline
    from tests.yahoo_replay import new_process

    new_process()
    replay.until = now.date() - dt.timedelta(days=1)  # type: ignore[attr-defined]
    mark = len(replay.asked)  # type: ignore[attr-defined]
    start, cpu = time.perf_counter(), time.process_time()
    opened = pipeline.open_source(config, now)  # type: ignore[arg-type]
    built = pipeline.build_week(opened, config, week_date=None, now=now, formats=("json",))  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    asked = replay.asked[mark:]  # type: ignore[attr-defined]
    kinds = collections.Counter(k for k, _, _ in asked)
    probes = sum(1 for k, _, q in asked if k == "chart" and q.get("range") == "1d")
    refused = sum(1 for n in built.recap.data.notes if n.startswith("Could not be fetched"))
    target = TARGETS.get(label)
    verdict = (
        "" if target is None else (" (within" if wall <= target else " (OVER") + f" {target:.0f} s)"
    )
    print(
        f"{label:<12} {wall:7.1f} s{verdict}, CPU {cpu:6.1f} s   {len(asked):5d} requests: "
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        + f"; tz probes {probes}; week {built.recap.week.end}; refused-notes {refused}"
    )


def main(
    data_dir: Path, latency: float = 0.2, throttle: float = 0.1, retry_after: str = "1"
) -> None:
    """The three live runs at the given latency and 429 share."""
    sys.path.insert(0, str(ROOT))
    from recap.sources.yahoo import YahooSource
    from tests.yahoo_replay import Replay

    data = data_dir.resolve()
    yahoo = data.parent / "yahoo"
    if not (data / "prices").is_dir() or not yahoo.is_dir():
        print(f"bench live: skipped, no snapshot or recorded Yahoo answers beside {data}")
        return
    logging.basicConfig(level=logging.ERROR)
    # On a shared machine the wall time is mostly the CPU share: say what the load was.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"recap bench live: replayed Yahoo, {latency * 1000:.0f} ms a request, "
        f"{throttle:.0%} of chart requests 429 (Retry-After {retry_after or 'none'})"
    )
    with tempfile.TemporaryDirectory(prefix="recap-bench-live-") as tmp:
        folder = Path(tmp)
        config = _config(folder, data)
        replay = Replay(data, yahoo, FIRST.date())
        replay.latency, replay.throttle = latency, throttle
        replay.retry_after = retry_after or None
        original = YahooSource.from_config.__func__  # type: ignore[attr-defined]

        def from_config(cls: type[YahooSource], config: object, **seams: object) -> YahooSource:
            return original(cls, config, session=replay)  # type: ignore[no-any-return]

        YahooSource.from_config = classmethod(from_config)  # type: ignore[assignment,method-assign]
        print(f"{'workers':<12} {config.yahoo.workers}")  # type: ignore[attr-defined]
        _run("first build", replay, config, FIRST)
        _run("repeat", replay, config, FIRST + dt.timedelta(hours=1))
        _run("next week", replay, config, FIRST + dt.timedelta(days=7))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".." / "shared" / "data" / "market")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--throttle", type=float, default=0.1, help="share of chart requests 429")
    parser.add_argument("--retry-after", default="1", help="Retry-After of a 429 ('' for none)")
    args = parser.parse_args()
    main(args.data_dir, args.latency, args.throttle, args.retry_after)
