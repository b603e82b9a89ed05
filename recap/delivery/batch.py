"""Send a week's newsletter to a subscriber list: who gets it, and what happened to each.

Each recipient's row in the send log (``delivery/ledger.py``) says ``sending`` before DATA and
``sent`` after the server's 250: a re-run sends only to those not yet served, and never
again to one whose outcome is unknown (unless told to, with the same Message-ID). A 4xx
that outlasts the retries defers that recipient to the end of the batch instead of
stopping it; a 5xx to RCPT puts the address on the suppression list.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recap.delivery.email import EmailSettings, Newsletter, compose, eml_name
from recap.delivery.ledger import DEFERRED, REJECTED, SENDING, SENT, DeliveryLog
from recap.delivery.smtp import (
    OutcomeUnknown,
    Permanent,
    SmtpConnection,
    Transient,
    Unreachable,
)
from recap.delivery.subscribers import Subscriber
from recap.errors import DeliveryError, Unrecorded
from recap.retry import retry_call

logger = logging.getLogger(__name__)


@dataclass
class SendReport:
    """What a batch did with each recipient; ``stopped`` says why it ended early, if it did."""

    week: str
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    suppressed: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (address, why)
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (address, last reply)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (address, reply)
    bounced: list[str] = field(default_factory=list)  # rejected at RCPT: now suppressed
    stopped: str = ""
    not_tried: list[str] = field(default_factory=list)
    # Delivered (250 seen) but the send log could not say so (a full disk): the log still
    # says "sending", so no re-run sends it again.
    unrecorded: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every recipient got the week, had it already, or is suppressed."""
        return not (self.unknown or self.deferred or self.rejected or self.stopped)


class _RateLimit:
    def __init__(
        self, per_minute: float, sleep: Callable[[float], None], clock: Callable[[], float]
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.sleep, self.clock = sleep, clock
        self.last: float | None = None

    def wait(self) -> None:
        if self.interval and self.last is not None:
            remaining = self.last + self.interval - self.clock()
            if remaining > 0:
                self.sleep(remaining)
        self.last = self.clock()


def _select(
    subscribers: Iterable[Subscriber],
    week: str,
    log: DeliveryLog | None,
    report: SendReport,
    *,
    resend: bool,
    resend_unknown: bool,
) -> list[Subscriber]:
    """Who this run sends to; the others are filed in the report as skipped, and why."""
    blocked = log.suppressions() if log is not None else {}
    rows = log.statuses(week) if log is not None else {}
    out = []
    for sub in subscribers:
        if sub.key in blocked:
            report.suppressed.append((sub.email, blocked[sub.key].reason))
            continue
        row = rows.get(sub.key)
        if row is not None and row.status == SENT and not resend:
            report.already_sent.append(sub.email)
        elif row is not None and row.status == SENDING and not (resend or resend_unknown):
            report.unknown.append(
                (sub.email, f"handed over at {row.updated_at}, and no 250 was seen")
            )
        else:
            out.append(sub)
    return out


def write_dry_run(
    newsletter: Newsletter,
    subscribers: Iterable[Subscriber],
    settings: EmailSettings,
    folder: Path,
    *,
    log: DeliveryLog | None,
    now: dt.datetime,
    secret: bytes = b"",
    resend: bool = False,
    resend_unknown: bool = False,
) -> SendReport:
    """Write one .eml per recipient a real run would send to; send nothing, log nothing."""
    report = SendReport(newsletter.week)
    pending = _select(
        subscribers, newsletter.week, log, report, resend=resend, resend_unknown=resend_unknown
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for i, sub in enumerate(pending, start=1):
            path = folder / eml_name(i, sub)
            path.write_bytes(compose(newsletter, sub, settings, now, secret=secret).as_bytes())
            report.written.append(path)
    except OSError as e:
        raise DeliveryError(f"cannot write the dry run into {folder}: {e.strerror}") from None
    return report


class _Batch:
    """One recipient at a time through one connection, every step written to the send log."""

    def __init__(
        self,
        newsletter: Newsletter,
        settings: EmailSettings,
        log: DeliveryLog,
        conn: SmtpConnection,
        *,
        now: dt.datetime,
        secret: bytes,
        sleep: Callable[[float], None],
        limit: _RateLimit,
    ) -> None:
        self.newsletter, self.settings, self.log, self.conn = newsletter, settings, log, conn
        self.now, self.secret, self.sleep, self.limit = now, secret, sleep, limit

    def deliver(self, sub: Subscriber, retries: int) -> tuple[str, str]:
        """(SENT|REJECTED|DEFERRED|SENDING, detail); SENDING means the outcome is unknown.

        Raises Unreachable when no session can be opened after the retries, and
        DeliveryError for a setting that cannot work: either ends the batch.
        """
        msg = compose(self.newsletter, sub, self.settings, self.now, secret=self.secret)
        data = msg.as_bytes()  # compose chose the policy (UTF-8 headers for SMTPUTF8)
        message_id = str(msg["Message-ID"])
        week, key = self.newsletter.week, sub.key

        def attempt() -> tuple[str, str]:
            handed_over = False

            def before_data() -> None:
                nonlocal handed_over
                self.log.record(week, key, SENDING, message_id=message_id, attempts=1)
                handed_over = True

            self.limit.wait()
            try:
                self.conn.send(data, sub.email, before_data)
            except Permanent as e:
                if e.stage == "RCPT":
                    self.log.record_bounce(week, key, str(e))
                else:
                    attempts = 0 if handed_over else 1
                    self.log.record(week, key, REJECTED, detail=str(e), attempts=attempts)
                return REJECTED, f"{e.stage}: {e}"
            except OutcomeUnknown as e:
                logger.warning("%s: outcome unknown: %s", sub.email, e)
                return SENDING, str(e)
            except Transient as e:
                attempts = 0 if handed_over else 1
                self.log.record(week, key, DEFERRED, detail=str(e), attempts=attempts)
                raise
            try:
                self.log.record(week, key, SENT, message_id=message_id, attempts=0)
            except DeliveryError as e:
                raise Unrecorded(str(e)) from None
            logger.info("sent the week ending %s to %s", week, sub.email)
            return SENT, ""

        try:
            return retry_call(
                attempt,
                retries=retries,
                backoff=self.settings.backoff_seconds,
                retry_on=(Transient, Unreachable),
                sleep=self.sleep,
                what=sub.email,
            )
        except Transient as e:  # Unreachable after the retries ends the batch
            return DEFERRED, str(e)


def _file(report: SendReport, sub: Subscriber, status: str, detail: str) -> None:
    if status == SENT:
        report.sent.append(sub.email)
    elif status == SENDING:
        report.unknown.append((sub.email, detail))
    elif status == DEFERRED:
        report.deferred.append((sub.email, detail))
    else:
        report.rejected.append((sub.email, detail))
        if detail.startswith("RCPT"):
            report.bounced.append(sub.email)


def _deliver_all(
    batch: _Batch,
    queue: list[tuple[Subscriber, str]],
    retries: int,
    report: SendReport,
    on_sent: Callable[[str], Any] | None,
    *,
    final: bool,
) -> list[tuple[Subscriber, str]]:
    """One pass over ``queue``, filing outcomes in ``report``; returns who is left deferred.

    On the first pass a deferred recipient is returned, not filed, to be tried again at
    the end. When the batch stops, the rest are filed as not tried (first pass) or
    returned as still deferred (final pass).
    """
    left: list[tuple[Subscriber, str]] = []
    for i, (sub, earlier) in enumerate(queue):
        try:
            status, detail = batch.deliver(sub, retries)
        except (Unreachable, DeliveryError) as e:
            rest = queue[i:]
            if isinstance(e, Unrecorded):
                report.sent.append(sub.email)
                report.unrecorded.append(sub.email)
                report.stopped = f"sending stopped after {sub.email} got the week: {e}"
                rest = queue[i + 1 :]
            else:
                report.stopped = f"sending stopped at {sub.email}: {e}"
            if final:
                left.extend(rest)
            else:
                report.not_tried.extend(s.email for s, _ in rest)
            return left
        if status == DEFERRED and not final:
            logger.warning("%s deferred (%s); one more try at the end", sub.email, detail)
            left.append((sub, detail))
            continue
        _file(report, sub, status, detail or earlier)
        if status == SENT and on_sent is not None:
            on_sent(sub.email)
    return left


def send_batch(
    newsletter: Newsletter,
    subscribers: Iterable[Subscriber],
    settings: EmailSettings,
    log: DeliveryLog,
    *,
    now: dt.datetime,
    password: str = "",
    secret: bytes = b"",
    resend: bool = False,
    resend_unknown: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
    on_sent: Callable[[str], Any] | None = None,
) -> SendReport:
    """Send the week to everyone not yet served and not suppressed, over one connection.

    A 4xx reply or a connection lost before DATA is retried with exponential backoff;
    a recipient still deferred after the retries waits for one more try at the end of
    the batch while the others go on. A 5xx to RCPT is a bounce (suppressed from now
    on); a connection lost after DATA leaves the outcome unknown and is not retried.
    When no session can be opened the batch stops and ``report.stopped`` says why.
    """
    report = SendReport(newsletter.week)
    pending = _select(
        subscribers, newsletter.week, log, report, resend=resend, resend_unknown=resend_unknown
    )
    if not pending:
        return report
    conn = SmtpConnection(settings, password, smtp_factory)
    limit = _RateLimit(settings.max_per_minute, sleep, clock)
    batch = _Batch(
        newsletter, settings, log, conn, now=now, secret=secret, sleep=sleep, limit=limit
    )
    try:
        first = [(sub, "") for sub in pending]
        later = _deliver_all(batch, first, settings.retries, report, on_sent, final=False)
        if later and not report.stopped:  # the deferred, once more, after everyone else
            later = _deliver_all(batch, later, 0, report, on_sent, final=True)
        report.deferred.extend((sub.email, detail) for sub, detail in later)
    finally:
        conn.close()
    return report


__all__ = ["SendReport", "send_batch", "write_dry_run"]
