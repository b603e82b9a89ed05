"""HTML benchmark: a cold `recap build --format html` against QuantStats' html tearsheet.

Both run as fresh processes on the same snapshot: recap builds the week of 2026-01-16;
QuantStats (``qs.reports.html(returns, benchmark, output=...)``) reports the Russell
2000's daily returns (^RUT) against the S&P 500's (^GSPC), read from the snapshot's price
files. Prints the median wall time of each and their ratio. Target: recap at most 0.5x.
QuantStats is a bench-only dependency (the ``bench`` extra; `make bench` installs it).
Prints figures; asserts nothing. Called by scripts/bench.py, or alone:

    python scripts/bench_html.py --data-dir ../shared/data/market
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEEK = "2026-01-16"
RUNS = 5
TARGET_RATIO = 0.5

QUANTSTATS = """
import sys
import pandas as pd
import quantstats as qs

def returns(ticker):
    frame = pd.read_csv(f"{sys.argv[1]}/prices/{ticker}.csv", index_col="Date", parse_dates=True)
    return frame["Close"].dropna().pct_change().dropna().rename(ticker)

qs.reports.html(returns("^RUT"), returns("^GSPC"), output=sys.argv[2],
                title="Russell 2000 vs S&P 500")
"""


def _run(cmd: list[str]) -> float:
    """Wall seconds of one child process (its output discarded; its failure ends the run)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_html: {' '.join(cmd[:4])} failed:\n{done.stderr.decode()[-3000:]}")
    return wall


def _median(label: str, walls: list[float]) -> float:
    wall = statistics.median(walls)
    print(f"{label:<34} median {wall:6.2f} s   runs: {', '.join(f'{w:.2f}' for w in walls)}")
    return wall


def main(data_dir: Path, runs: int = RUNS) -> None:
    """Cold html builds, then cold QuantStats tearsheets; print both and the ratio."""
    if importlib.util.find_spec("quantstats") is None:
        print("bench_html: QuantStats is not installed (pip install -e '.[bench]'); skipped")
        return
    with tempfile.TemporaryDirectory(prefix="recap-bench-html-") as tmp:
        build = [
            sys.executable,
            "-m",
            "recap",
            "build",
            "--week",
            WEEK,
            "--data-dir",
            str(data_dir),
            "--out",
            str(Path(tmp) / "out"),
            "--format",
            "html",
            "--store",
            str(Path(tmp) / "store.sqlite"),
        ]
        tearsheet = [sys.executable, "-c", QUANTSTATS, str(data_dir), str(Path(tmp) / "qs.html")]
        _run(build)  # warm the OS file cache (and the closes cache); not counted
        _run(tearsheet)
        env_note = f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
        print(f"html bench: {runs} runs each, cold processes ({env_note})")
        recap_wall = _median("recap build --format html", [_run(build) for _ in range(runs)])
        qs_wall = _median("QuantStats html (^RUT vs ^GSPC)", [_run(tearsheet) for _ in range(runs)])
    ratio = recap_wall / qs_wall
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"recap html / QuantStats html = {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".." / "shared" / "data" / "market")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    main(args.data_dir.resolve(), args.runs)
