"""The only filesystem writer for reports: output/<YYYY-MM-DD>/, moved into place whole.

Files are written to a hidden folder beside the target (``.<week>.<pid>.<id>.new``), then
swapped in with two renames: the old folder aside (``.<week>.<pid>.<id>.old``), the new
one in. A failed build never leaves half a week and never harms the previous one. A
process killed part-way leaves those hidden folders; the next write or read in the same
output folder puts the old week back if the kill came between the two renames, and
removes the rest (only for processes that are gone).
A week built from generated sample data goes to OUT/sample-<YYYY-MM-DD>/, so it can never
replace (or be taken for) a real week.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from recap.errors import OutputError
from recap.pauses import pause_at

if TYPE_CHECKING:
    from recap.pipeline import BuiltWeek

logger = logging.getLogger(__name__)


def week_dir(out_dir: Path, week_end: dt.date, *, sample: bool = False) -> Path:
    """Where a week's files live: OUT/<last-session-date>/, or OUT/sample-<date>/ for a
    week built from sample data."""
    return out_dir / f"{'sample-' if sample else ''}{week_end.isoformat()}"


def _safe_relpath(name: str) -> Path:
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise OutputError(f"refusing to write {name!r} outside the week's folder")
    return rel


# .<week>.<pid>.<id>.new (staging) and .<week>.<pid>.<id>.old (the week it replaces),
# <week> being the folder's name (2026-01-16, or sample-2026-01-16);
# the older names, .<week>.<id> and .<week>.old-<id>, carry no pid.
_LEFTOVER = re.compile(
    r"^\.(?P<week>(?:sample-)?\d{4}-\d{2}-\d{2})\.(?:(?P<pid>\d+)\.\w+\.(?P<kind>new|old)"
    r"|(?P<legacy_old>old-)?\w+)$"
)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (this one, or anyone's): a leftover of a
    live process is its work in progress, not debris."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def recover(out_dir: Path) -> list[str]:
    """Tidy what killed writes left in ``out_dir``; returns what was done, for the log.

    A week whose folder is missing while its ``.old`` copy is there was killed between
    the two renames of the swap: the old folder goes back. Any other leftover of a
    process that is gone (a staging folder, an old copy already replaced) is removed.
    """
    done: list[str] = []
    if not out_dir.is_dir():
        return done
    for entry in sorted(out_dir.iterdir(), key=lambda p: p.name):
        match = _LEFTOVER.match(entry.name)
        if not match or not entry.is_dir():
            continue
        pid = int(match["pid"] or 0)
        if pid and process_alive(pid):
            continue  # a write in progress
        target = out_dir / match["week"]
        is_old = match["kind"] == "old" or bool(match["legacy_old"])
        try:
            if is_old and not target.exists():
                entry.rename(target)
                done.append(f"restored {target.name} (a write was killed mid-swap)")
                continue
            shutil.rmtree(entry)
            done.append(f"removed {entry.name}, left by a write that did not finish")
        except OSError as e:
            raise OutputError(f"cannot tidy {entry} in {out_dir}: {e.strerror or e}") from None
    for line in done:
        logger.warning("%s: %s", out_dir, line)
    return done


def _swap(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``; the old ``target`` is removed only once replaced."""
    old = None
    if target.exists():
        old = staging.with_name(staging.name.removesuffix(".new") + ".old")
        target.rename(old)
        pause_at("output-swap")  # the dangerous moment: the week has no folder
    try:
        staging.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_week(
    out_dir: Path, week_end: dt.date, files: Mapping[str, bytes], *, sample: bool = False
) -> Path:
    """Write ``files`` (relative name -> bytes) as OUT/<week_end>/ (OUT/sample-<week_end>/
    when ``sample``), replacing that folder whole."""
    target = week_dir(out_dir, week_end, sample=sample)
    recover(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".new", dir=out_dir)
        )
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out_dir}: {e.strerror}") from None
    try:
        for name, data in files.items():
            path = staging / _safe_relpath(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        staging.chmod(0o755)
        pause_at("output-staged")
        _swap(staging, target)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        # Gone after a successful swap; after any failure, the half-written copy goes.
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("wrote %s", target)
    return target


def write_built(out_dir: Path, built: BuiltWeek) -> Path:
    """Write a built week where it belongs: OUT/<week-end>/, or OUT/sample-<week-end>/
    when it was built from sample data."""
    recap = built.recap
    return write_week(out_dir, recap.week.end, built.files, sample=recap.data.is_sample)


def read_week(out_dir: Path, week_end: dt.date) -> dict[str, bytes] | None:
    """The files of an already built week, or None when it was never built."""
    recover(out_dir)
    target = week_dir(out_dir, week_end)
    if not (target / "recap.json").is_file():
        return None
    return {
        str(p.relative_to(target)): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()
    }
