"""kill -9 of a real `recap` process at the dangerous moments of a write, then the next
run: the output folder and the site are consistent again, with nothing left behind.

RECAP_TEST_PAUSE_AT=<point> (recap/pauses.py) makes the process stop at that point and
say so on stderr, so the kill lands exactly there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import signal
import subprocess
import sys
import time

import feedparser
import pytest
from click.testing import CliRunner

from recap import output
from recap.cli import cli
from tests._delivery import tiny_week
from tests._reference import CACHE_DIR

WEEK = dt.date(2026, 1, 16)
EARLIER = dt.date(2026, 1, 9)


def _start(args, cwd, point):
    env = {**os.environ, "RECAP_TEST_PAUSE_AT": point}
    return subprocess.Popen(
        [sys.executable, "-m", "recap", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_when_paused(proc, point, timeout=120.0):
    """Wait for 'paused at <point>' on the process's stderr, then kill -9 it."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            line = proc.stderr.readline()
            seen.append(line)
            if line.strip() == f"paused at {point}":
                return
            if not line and proc.poll() is not None:
                break
    proc.kill()
    proc.communicate()
    pytest.fail(f"the process never paused at {point}: {''.join(seen)[-2000:]}")


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- the output folder ------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["output-swap", "output-staged"])
def test_a_build_killed_while_writing_leaves_the_old_week(market_dir, tmp_path, point):
    out, site = tmp_path / "out", tmp_path / "site"
    site.mkdir()
    before = _week_files(WEEK, "Built Before")
    output.write_week(out, WEEK, before)
    args = ["build", "--week", WEEK, "--data-dir", market_dir, "--out", out, "--format", "json"]
    # The snapshot's closes from the tests' shared columnar cache (./recap.toml of the run),
    # rather than ~1,900 files parsed into a new one before the write under test.
    (tmp_path / "recap.toml").write_text(f"[paths]\ncache_dir = {json.dumps(str(CACHE_DIR))}\n")
    proc = _start([*args, "--store", tmp_path / "store.sqlite"], tmp_path, point)
    _kill_when_paused(proc, point)
    if point == "output-swap":
        # Between the two renames: the week has no folder at all.
        assert not (out / WEEK.isoformat()).exists()
    _kill(proc)
    assert _leftovers(out)  # the killed write left its hidden folders

    # The next run that reads the output folder puts the old week back and tidies up.
    result = _publish(site, out, WEEK)
    assert result.exit_code == 0, result.output
    assert "Built Before" in result.output
    assert [p.name for p in out.iterdir() if p.is_dir()] == [WEEK.isoformat()]
    assert output.read_week(out, WEEK) == before


def test_a_read_tidies_too_and_a_live_write_is_left_alone(tmp_path):
    out = tmp_path / "out"
    output.write_week(out, WEEK, {"recap.json": b"{}"})
    target = out / WEEK.isoformat()
    # A swap cut short by a process that is gone, and a write still running (this one).
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    target.rename(out / f".{WEEK}.{gone.stdout.strip()}.abc.old")
    live = out / f".{WEEK}.{os.getpid()}.xyz.new"
    live.mkdir()
    assert output.read_week(out, WEEK) == {"recap.json": b"{}"}
    assert _leftovers(out) == [live.name]


# -- the site -----------------------------------------------------------------------------------


def _week_files(end: dt.date, headline: str) -> dict[str, bytes]:
    files = tiny_week()
    facts = json.loads(files["recap.json"])
    start = end - dt.timedelta(days=4)
    facts["week"].update(start=start.isoformat(), end=end.isoformat())
    facts["data"]["last_bar"] = end.isoformat()
    facts["headline"] = headline
    files["recap.json"] = json.dumps(facts).encode()
    return files


def _publish(site, out, week):
    return CliRunner().invoke(
        cli,
        [
            "publish",
            "--week",
            str(week),
            "--site",
            str(site),
            "--out",
            str(out),
            "--store",
            str(out / "store.sqlite"),
        ],
        catch_exceptions=False,
    )


@pytest.mark.parametrize("point", ["publish-commit", "publish-staged"])
def test_a_publish_killed_part_way_is_completed_by_the_next_run(tmp_path, point):
    out, site = tmp_path / "out", tmp_path / "site"
    site.mkdir()
    output.write_week(out, EARLIER, _week_files(EARLIER, "Stocks Slip Ahead of Earnings"))
    output.write_week(out, WEEK, _week_files(WEEK, "Small Caps Lead"))
    assert _publish(site, out, EARLIER).exit_code == 0

    args = ["publish", "--week", WEEK, "--site", site, "--out", out]
    proc = _start([*args, "--store", out / "store.sqlite"], tmp_path, point)
    _kill_when_paused(proc, point)
    post = site / "content/posts" / f"{WEEK}-weekly-recap.md"
    archive = site / "static/archive"
    if point == "publish-commit":
        # Half-published: the post is live, its archive copy and feed entry are not.
        assert post.is_file() and not (archive / WEEK.isoformat()).exists()
        assert WEEK.isoformat() not in (archive / "feed.xml").read_text()
    _kill(proc)
    assert _leftovers(site)

    # The next publish (of the earlier week again) completes the killed one first.
    result = _publish(site, out, EARLIER)
    assert result.exit_code == 0, result.output
    assert _leftovers(site) == []
    assert post.is_file()
    assert sorted(p.name for p in (site / "static/recap").iterdir()) == [
        EARLIER.isoformat(),
        WEEK.isoformat(),
    ]
    assert (archive / WEEK.isoformat() / "recap.html").is_file()
    feed = feedparser.parse((archive / "feed.xml").read_bytes())
    assert [e.title for e in feed.entries] == ["Small Caps Lead", "Stocks Slip Ahead of Earnings"]
    index = (archive / "index.html").read_text()
    assert index.index("Small Caps Lead") < index.index("Stocks Slip Ahead of Earnings")
