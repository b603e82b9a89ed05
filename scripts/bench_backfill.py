"""Backfill benchmark: the 52 weeks to 2026-01-30 from the snapshot (html+pdf+json).

Runs `recap backfill` in a fresh process (as a user runs it) and prints the wall time,
the amortized time per week, the peak memory of the parent and of its largest worker,
and, when given, the ratio to a single cold `recap build`. Target: at most 0.5x a cold
build per week. Prints figures; asserts nothing. Called by scripts/bench.py, or alone:

    python scripts/bench_backfill.py --data-dir ../shared/data/market
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAST = dt.date(2026, 1, 30)
WEEKS = 52
FIRST = LAST - dt.timedelta(weeks=WEEKS - 1, days=4)  # the Monday 51 weeks before
TARGET_RATIO = 0.5
COLD_WEEK = "2026-01-16"


def _run(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS of the largest process (MiB), stdout+stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"bench_backfill: {' '.join(cmd[:4])} failed ({code}):\n{out}")
    # ru_maxrss of a waited child covers its largest descendant too (Linux: KiB).
    return wall, usage.ru_maxrss / 1024, out


def _cold_build(data_dir: Path, tmp: Path) -> float:
    cmd = [
        sys.executable,
        "-m",
        "recap",
        "build",
        "--week",
        COLD_WEEK,
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp / "cold"),
        "--store",
        str(tmp / "cold.sqlite"),
        "--format",
        "html,pdf,json",
    ]
    _run(cmd, ROOT)  # warm the OS file cache
    return min(_run(cmd, ROOT)[0] for _ in range(2))


def main(data_dir: Path | None = None, cold_build_seconds: float | None = None) -> None:
    """Run the backfill benchmark and print its figures."""
    if data_dir is None:
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument(
            "--data-dir", type=Path, default=ROOT / ".." / "shared" / "data" / "market"
        )
        parser.add_argument("--workers", type=int, default=2)
        args = parser.parse_args()
        data_dir, workers = args.data_dir, args.workers
    else:
        workers = 2
    data_dir = data_dir.resolve()
    if not (data_dir / "prices").is_dir():
        print(f"bench_backfill: skipped, no market snapshot at {data_dir}")
        return
    with tempfile.TemporaryDirectory(prefix="recap-bench-backfill-") as name:
        tmp = Path(name)
        if cold_build_seconds is None:
            cold_build_seconds = _cold_build(data_dir, tmp)
        (tmp / "recap.toml").write_text(f"[backfill]\nworkers = {workers}\n")
        cmd = [
            sys.executable,
            "-m",
            "recap",
            "backfill",
            "--from",
            FIRST.isoformat(),
            "--to",
            LAST.isoformat(),
            "--format",
            "html,pdf,json",
            "--no-progress",
            "--data-dir",
            str(data_dir),
            "--config",
            str(tmp / "recap.toml"),
            "--out",
            str(tmp / "out"),
            "--store",
            str(tmp / "store.sqlite"),
        ]
        wall, peak, out = _run(cmd, ROOT)
        built = sum(1 for p in (tmp / "out").iterdir() if p.is_dir() and p.name[:2] == "20")
    per_week = wall / max(built, 1)
    ratio = per_week / cold_build_seconds
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(
        f"recap backfill {FIRST} to {LAST}: {built} weeks built (html+pdf+json), "
        f"{workers} workers, {os.cpu_count()} cores"
    )
    print(f"backfill wall {wall:7.2f} s   per week {per_week:5.2f} s   peak {peak:7.1f} MiB")
    print(
        f"per week / cold build ({cold_build_seconds:.2f} s) = {ratio:.2f}x "
        f"({verdict} the {TARGET_RATIO}x target)"
    )
    failed = [line for line in out.splitlines() if line.startswith("failed:")]
    for line in failed:
        print(f"  {line}")


if __name__ == "__main__":
    main()
