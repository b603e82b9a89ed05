"""The only filesystem writer for reports: output/<YYYY-MM-DD>/, moved into place whole.

Files are written to a hidden temporary folder beside the target, then swapped in with
renames, so a failed build never leaves half a week and never harms the previous one.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from recap.errors import RecapError

logger = logging.getLogger(__name__)


class OutputError(RecapError):
    """The report folder could not be written."""


def week_dir(out_dir: Path, week_end: dt.date) -> Path:
    """Where a week's files live: OUT/<last-session-date>/."""
    return out_dir / week_end.isoformat()


def _safe_relpath(name: str) -> Path:
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise OutputError(f"refusing to write {name!r} outside the week's folder")
    return rel


def _swap(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``; the old ``target`` is removed only once replaced."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{staging.name[-8:]}")
        target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_week(out_dir: Path, week_end: dt.date, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` (relative name -> bytes) as OUT/<week_end>/, replacing it whole."""
    target = week_dir(out_dir, week_end)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{week_end.isoformat()}.", dir=out_dir))
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out_dir}: {e.strerror}") from None
    try:
        for name, data in files.items():
            path = staging / _safe_relpath(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        staging.chmod(0o755)
        _swap(staging, target)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        # Gone after a successful swap; after any failure, the half-written copy goes.
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("wrote %s", target)
    return target


def read_week(out_dir: Path, week_end: dt.date) -> dict[str, bytes] | None:
    """The files of an already built week, or None when it was never built."""
    target = week_dir(out_dir, week_end)
    if not (target / "recap.json").is_file():
        return None
    return {
        str(p.relative_to(target)): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()
    }
