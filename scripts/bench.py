"""`make bench`: cold `recap build` of 2026-01-16 against a WeasyPrint floor, a cold html
build against QuantStats' html tearsheet (scripts/bench_html.py), then backfill, then the
live path through the replayed Yahoo under throttling (scripts/bench_live.py).

Each run is a fresh process (a cold build, as a user runs it); wall time and peak RSS
come from os.wait4 per child. The floor is a process that imports the same libraries
and renders the same recap.html to PDF with WeasyPrint. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
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
TARGET_RATIO = 1.3

FLOOR = """
import sys
import click, jinja2, pandas, matplotlib, yfinance, exchange_calendars, weasyprint
matplotlib.use("Agg")
import matplotlib.pyplot
html = open(sys.argv[1], encoding="utf-8").read()
weasyprint.HTML(string=html, base_url=sys.argv[2]).write_pdf(sys.argv[3])
"""


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        sys.exit(f"bench: {' '.join(cmd[:4])} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024


def _summary(label: str, runs: list[tuple[float, float]]) -> tuple[float, float]:
    wall = statistics.median(w for w, _ in runs)
    peak = max(m for _, m in runs)
    spread = ", ".join(f"{w:.2f}" for w, _ in runs)
    print(f"{label:<28} median {wall:6.2f} s   peak {peak:7.1f} MiB   runs: {spread}")
    return wall, peak


def main() -> None:
    """Run the build benchmark, then the backfill benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".." / "shared" / "data" / "market")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--skip-html", action="store_true")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--skip-live", action="store_true")
    args = parser.parse_args()
    data = args.data_dir.resolve()
    if not (data / "prices").is_dir():
        print(f"bench: skipped, no market snapshot at {data}")
        return
    recap = [sys.executable, "-m", "recap"]
    with tempfile.TemporaryDirectory(prefix="recap-bench-") as tmp:
        out = Path(tmp) / "out"
        build = [
            *recap,
            "build",
            "--week",
            WEEK,
            "--data-dir",
            str(data),
            "--out",
            str(out),
            "--format",
            "html,pdf,json",
            "--store",
            str(Path(tmp) / "store.sqlite"),
        ]
        _run(build)  # warm the OS file cache; not counted
        html = out / WEEK / "recap.html"
        floor_cmd = [
            sys.executable,
            "-c",
            FLOOR,
            str(html),
            html.parent.as_uri() + "/",
            str(Path(tmp) / "floor.pdf"),
        ]
        print(f"recap bench: week {WEEK}, {args.runs} runs each, cold processes")
        build_wall, build_peak = _summary(
            "recap build html+pdf+json", [_run(build) for _ in range(args.runs)]
        )
        floor_wall, floor_peak = _summary(
            "floor (imports + PDF)", [_run(floor_cmd) for _ in range(args.runs)]
        )
        ratio = build_wall / floor_wall
        verdict = "within" if ratio <= TARGET_RATIO else "OVER"
        print(
            f"build / floor = {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target); "
            f"memory {build_peak / floor_peak:.2f}x"
        )
    sys.path.insert(0, str(ROOT / "scripts"))
    if not args.skip_html:
        from bench_html import main as html_main

        html_main(data, args.runs)
    if not args.skip_backfill:
        from bench_backfill import main as backfill_main

        backfill_main(data_dir=data, cold_build_seconds=build_wall)
    if not args.skip_live:
        from bench_live import main as live_main

        live_main(data)


if __name__ == "__main__":
    main()
