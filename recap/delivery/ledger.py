"""Delivery records in their own SQLite file (send log, suppression list, publish log),
and the run locks beside it.

The file is ``config.state_path`` ([paths] state, else $XDG_STATE_HOME/recap/
delivery.sqlite): outside .cache/, so `make clean` or a run from another folder never
loses it (``delivery/state.py`` opens it, with the checks and the backup). The tables
are created here with ``CREATE TABLE IF NOT EXISTS``. Every write is committed when the
call returns. The file is checked (``PRAGMA integrity_check``) each time it is opened: a
damaged send log could send a week twice, so it is refused, never read. Not the cheaper
``quick_check``: it does not compare the indexes with the rows, and a damaged index of
the send log hides rows from ``WHERE week = ?`` (150 of 200 readers "not yet sent").
The check costs 0.15 s on 2,000 readers times 52 weeks.

- ``send_log``: one row per (week, recipient). ``sending`` is committed before DATA and
  ``sent`` after the server's 250, so a row left ``sending`` (a crash, a lost reply) means
  the outcome is unknown: a plain re-run does not send it again. ``deferred`` (4xx after
  every retry) and ``rejected`` (5xx) are tried again by a re-run.
- ``suppression``: addresses never to be mailed again, whatever the subscribers file
  says: ``unsubscribed`` (``recap unsubscribe``) or ``bounced`` (a 5xx to RCPT).
- ``publish_log``: one row per (site, week), replaced on each publish.

A run lock is the operating system's lock (``flock``) on a file beside the store,
``<store>.<name>.lock``: the kernel releases it when the process ends, however it ends
(``kill -9`` included), so there is no stale lock to detect or take over. The file keeps
the holder's pid, host and start time, for the message a second run prints; it stays in
place between runs (removing it while held would let two runs lock two files).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from recap.errors import DeliveryError, LockError

logger = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS send_log (
        week TEXT NOT NULL, recipient TEXT NOT NULL, status TEXT NOT NULL,
        message_id TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
        PRIMARY KEY (week, recipient)
    )""",
    """CREATE TABLE IF NOT EXISTS suppression (
        address TEXT PRIMARY KEY, reason TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '',
        added_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS publish_log (
        site TEXT NOT NULL, week TEXT NOT NULL, headline TEXT NOT NULL,
        post_path TEXT NOT NULL, published_at TEXT NOT NULL,
        PRIMARY KEY (site, week)
    )""",
)

SENDING = "sending"
SENT = "sent"
DEFERRED = "deferred"
REJECTED = "rejected"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def lock_path(store: Path, name: str) -> Path:
    """The file run lock ``name`` is taken on: ``<store>.<name>.lock``, beside the store."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", name)
    return store.with_name(f"{store.name}.{safe}.lock")


@contextmanager
def run_lock(store: Path, name: str) -> Iterator[None]:
    """Hold run lock ``name`` for the ``with`` block; LockError at once if another run has it.

    The lock is released when the block ends or the process dies, whichever comes first.
    """
    path = lock_path(store, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise LockError(f"cannot open the lock file {path}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
            who = (
                f"pid {holder[0]} on {holder[1]}, since {holder[2]}"
                if len(holder) == 3
                else f"see {path}"
            )
            raise LockError(
                f"another recap run holds the '{name}' lock ({who}); it is released when "
                "that run ends"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {_now()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SendRecord:
    """What the send log holds for one recipient of one week."""

    week: str
    recipient: str
    status: str
    message_id: str
    detail: str
    attempts: int
    updated_at: str


@dataclass(frozen=True)
class Suppression:
    """An address on the suppression list, why, and since when."""

    address: str
    reason: str
    detail: str
    added_at: str


def backup_path(path: Path) -> Path:
    """Where the last copy that passed its check is kept: ``<file>.bak`` beside it."""
    return path.with_name(f"{path.name}.bak")


def damaged(path: Path, problem: str) -> DeliveryError:
    """The error for a damaged delivery log: what is wrong, and how to restore it."""
    backup = backup_path(path)
    restore = (
        f"restore the last good copy (cp '{backup}' '{path}'; it is taken before every "
        "send and publish)"
        if backup.is_file()
        else f"restore it from a backup of {path.parent}"
    )
    return DeliveryError(
        f"{path}: the delivery log is damaged ({problem}); nothing was sent or recorded. "
        f"Its send log cannot be trusted to say who already has a week: {restore}, then "
        "run the command again"
    )


class DeliveryLog:
    """The send log, suppression list and publish log in one SQLite file; its run locks."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit: every write below is its own transaction, durable when it returns
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (sqlite3.DatabaseError, OSError) as e:
            raise DeliveryError(f"{self.path}: cannot open the delivery log ({e})") from None
        try:
            self._check()
            self._conn.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                self._conn.execute(statement)
        except sqlite3.OperationalError as e:  # locked, read-only, disk full
            self._conn.close()
            raise DeliveryError(f"{self.path}: cannot open the delivery log ({e})") from None
        except sqlite3.DatabaseError as e:  # "file is not a database", malformed pages
            self._conn.close()
            raise damaged(self.path, str(e)) from None
        except DeliveryError:
            self._conn.close()
            raise

    def _check(self) -> None:
        """DeliveryError (how to restore) unless SQLite's integrity_check finds it sound."""
        rows = [str(r[0]) for r in self._conn.execute("PRAGMA integrity_check(3)")]
        if rows != ["ok"]:
            lines = [ln for r in rows for ln in r.splitlines() if not ln.startswith("***")]
            raise damaged(self.path, "; ".join(lines[:3]))

    def backup(self) -> Path:
        """Copy the file, checked first, to ``backup_path`` atomically; returns that path."""
        try:
            self._check()
        except sqlite3.DatabaseError as e:
            raise damaged(self.path, str(e)) from None
        target = backup_path(self.path)
        partial = target.with_name(f"{target.name}.partial")
        try:
            with sqlite3.connect(partial) as copy:
                self._conn.backup(copy)
            copy.close()
            os.replace(partial, target)
        except (sqlite3.Error, OSError) as e:
            partial.unlink(missing_ok=True)
            raise DeliveryError(f"cannot back up the delivery log to {target} ({e})") from None
        return target

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (autocommit), for SQLite's own controls such as PRAGMAs."""
        return self._conn

    def __enter__(self) -> DeliveryLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _write(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        """One committed write; DeliveryError when the file cannot take it (full, locked)."""
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as e:
            raise DeliveryError(f"{self.path}: cannot write the delivery log ({e})") from None

    # -- send log ---------------------------------------------------------------------

    def sent_to(self, week: str) -> frozenset[str]:
        """Recipients (normalized addresses) the week was already delivered to."""
        rows = self._conn.execute(
            "SELECT recipient FROM send_log WHERE week = ? AND status = ?", (week, SENT)
        )
        return frozenset(r[0] for r in rows)

    def record(
        self,
        week: str,
        recipient: str,
        status: str,
        *,
        message_id: str = "",
        detail: str = "",
        attempts: int = 1,
    ) -> None:
        """Record the outcome for one recipient; a later outcome replaces an earlier one."""
        self._write(
            """INSERT INTO send_log (week, recipient, status, message_id, detail, attempts,
                                     updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (week, recipient) DO UPDATE SET
                 status = excluded.status, message_id = excluded.message_id,
                 detail = excluded.detail, attempts = send_log.attempts + excluded.attempts,
                 updated_at = excluded.updated_at""",
            (week, recipient, status, message_id, detail, attempts, _now()),
        )

    def statuses(self, week: str) -> dict[str, SendRecord]:
        """The send-log row of every recipient of a week, by recipient."""
        return {r.recipient: r for r in self.records(week)}

    def record_bounce(self, week: str, recipient: str, detail: str) -> None:
        """A permanent refusal of the address: rejected for the week and suppressed, at once."""
        self._write("BEGIN IMMEDIATE", ())
        try:
            self.record(week, recipient, REJECTED, detail=detail, attempts=1)
            self.suppress(recipient, BOUNCED, detail)
            self._write("COMMIT", ())
        except BaseException:
            self._conn.rollback()
            raise

    def records(self, week: str) -> tuple[SendRecord, ...]:
        """Every send-log row of a week, by recipient."""
        rows = self._conn.execute(
            """SELECT week, recipient, status, message_id, detail, attempts, updated_at
               FROM send_log WHERE week = ? ORDER BY recipient""",
            (week,),
        )
        return tuple(SendRecord(*r) for r in rows)

    # -- suppression list -------------------------------------------------------------

    def suppress(self, address: str, reason: str, detail: str = "") -> bool:
        """Add ``address`` (any case) to the suppression list; False when it was already there."""
        cursor = self._write(
            "INSERT OR IGNORE INTO suppression (address, reason, detail, added_at) "
            "VALUES (?, ?, ?, ?)",
            (address.strip().lower(), reason, detail, _now()),
        )
        return cursor.rowcount == 1

    def suppressions(self) -> dict[str, Suppression]:
        """Every suppressed address (lower case), with its reason."""
        rows = self._conn.execute(
            "SELECT address, reason, detail, added_at FROM suppression ORDER BY address"
        )
        return {r[0]: Suppression(*r) for r in rows}

    # -- publish log ------------------------------------------------------------------

    def record_publish(self, site: str, week: str, headline: str, post_path: str) -> None:
        """Record (or replace) the publication of a week on a site."""
        self._conn.execute(
            """INSERT OR REPLACE INTO publish_log (site, week, headline, post_path, published_at)
               VALUES (?, ?, ?, ?, ?)""",
            (site, week, headline, post_path, _now()),
        )

    def published(self, site: str) -> tuple[tuple[str, str, str], ...]:
        """(week, headline, published_at) of every week published on ``site``, newest first."""
        rows = self._conn.execute(
            "SELECT week, headline, published_at FROM publish_log WHERE site = ? "
            "ORDER BY week DESC",
            (site,),
        )
        return tuple((r[0], r[1], r[2]) for r in rows)

    # -- locks ------------------------------------------------------------------------

    def lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Run lock ``name`` on a file beside this log's store (see ``run_lock``)."""
        return run_lock(self.path, name)


__all__ = [
    "backup_path",
    "damaged",
    "BOUNCED",
    "DEFERRED",
    "REJECTED",
    "SENDING",
    "SENT",
    "UNSUBSCRIBED",
    "DeliveryLog",
    "SendRecord",
    "Suppression",
    "lock_path",
    "run_lock",
]
