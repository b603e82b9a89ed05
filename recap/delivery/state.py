"""Opening the delivery state (send log, suppression list, publish log) for a run.

The state lives in ``config.state_path``, apart from the store in .cache/ (which `make
clean` removes and which moves with the folder recap runs from). Opening it:

1. checks the file (``DeliveryLog`` runs ``PRAGMA integrity_check``; damaged: refused, with
   how to restore it);
2. the first time, brings over the delivery tables an older recap kept in the store, so
   an upgrade loses no send log and no unsubscribed address;
3. for a run that writes (send, publish, unsubscribe), keeps a copy of the checked file
   as ``<state>.bak`` before and after its work: the copy a damaged file is restored from.

``check_send_log`` refuses to email a week that a site shows as published when the send
log has no record of it: the week was most likely sent by a run whose send log is gone,
and sending again would mail every reader a second copy. ``--new-send-log`` says "I know".
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from recap.config import RecapConfig
from recap.delivery.ledger import DeliveryLog
from recap.errors import DeliveryError

logger = logging.getLogger(__name__)

_TABLES = ("send_log", "suppression", "publish_log")


def _import_from_store(state: DeliveryLog, store: Path) -> int:
    """Copy the delivery tables an older recap kept in the store; returns the rows copied."""
    try:
        source = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return 0
    copied = 0
    try:
        names = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
        for table in _TABLES:
            if table not in names:
                continue
            cursor = source.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
            columns = [d[0] for d in cursor.description]
            marks = ",".join("?" * len(columns))
            rows = cursor.fetchall()
            state.connection.executemany(
                f"INSERT OR IGNORE INTO {table} ({','.join(columns)}) VALUES ({marks})",  # noqa: S608
                rows,
            )
            copied += len(rows)
    except sqlite3.DatabaseError as e:
        raise DeliveryError(
            f"cannot bring the send log over from the store {store} ({e}); restore the store "
            f"from a backup, or move it aside to start a new send log in {state.path}"
        ) from None
    finally:
        source.close()
    return copied


def open_state(config: RecapConfig, *, write: bool = False) -> DeliveryLog:
    """The checked delivery log of ``config`` (see the module docstring)."""
    path = config.state_path
    fresh = not path.exists()
    log = DeliveryLog(path)
    try:
        store = config.store_path
        if fresh and store.is_file() and store.resolve() != path.resolve():
            copied = _import_from_store(log, store)
            if copied:
                logger.warning(
                    "brought %d delivery records over from %s into %s", copied, store, path
                )
        if write:
            log.backup()
    except DeliveryError:
        log.close()
        raise
    return log


@contextmanager
def writing_state(config: RecapConfig) -> Iterator[DeliveryLog]:
    """``open_state(write=True)`` for a ``with`` block, backed up again when it ends."""
    log = open_state(config, write=True)
    try:
        yield log
    finally:
        try:
            log.backup()
        except DeliveryError as e:  # the run's own outcome matters more than the copy
            logger.warning("%s", e)
        log.close()


def published_in_site(site: Path, archive_dir: str, week: str) -> bool:
    """Whether the site already holds the week (its archive folder has the week's facts)."""
    return (site / archive_dir / week / "recap.json").is_file()


def check_send_log(
    log: DeliveryLog, week: str, sites: Iterable[Path], archive_dir: str, *, new: bool
) -> None:
    """DeliveryError when a site shows ``week`` published but the send log knows nothing
    of it: neither a send nor that publish (see the module docstring)."""
    if new or log.records(week):
        return
    for site in sites:
        if not published_in_site(site, archive_dir, week):
            continue
        if any(w == week for w, _, _ in log.published(str(site.resolve()))):
            continue  # published by a run this log saw, and not sent yet: fine
        raise DeliveryError(
            f"the week ending {week} is already published in {site}, but the send log "
            f"{log.path} has no record of it: it was probably emailed by a run whose send "
            "log is gone (a cleaned folder, another machine), and sending now would give "
            "every reader a second copy. Restore that send log ([paths] state, or --state), "
            "or pass --new-send-log to send anyway"
        )


__all__ = ["check_send_log", "open_state", "published_in_site", "writing_state"]
