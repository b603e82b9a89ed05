"""Email delivery: compose one message per subscriber, send them over one SMTP connection.

Composition is pure (a built week's bytes in, ``EmailMessage`` out): ``prepare`` checks and
inlines the week's email.html once, ``compose`` makes a recipient's message from it.
Sending (``send_batch``) is the only part that touches the network. Each message has:

    multipart/mixed
     +-- multipart/alternative
     |    +-- text/plain            email.txt, rendered from its own template
     |    +-- multipart/related
     |         +-- text/html        email.html, CSS inlined, cid: images
     |         +-- image/png ...    one part per cid: the HTML uses (Content-ID <name>)
     +-- application/pdf            recap-<week>.pdf, when [email] attach_pdf

Each recipient's row in the send log (``delivery/log.py``) says ``sending`` before DATA and
``sent`` after the server's 250: a re-run sends only to those not yet served, and never
again to one whose outcome is unknown (unless told to, with the same Message-ID). A 4xx
that outlasts the retries defers that recipient to the end of the batch instead of
stopping it; a 5xx to RCPT puts the address on the suppression list. The SMTP password
(RECAP_SMTP_PASSWORD) and the unsubscribe secret (RECAP_UNSUBSCRIBE_SECRET) are read from
the environment only and never printed or logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import logging
import re
import smtplib
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import css_inline

from recap.config import RecapConfig
from recap.delivery.edition import Edition, check_deliverable, week_label
from recap.delivery.fitness import content_ids, external_urls, unfit_reasons
from recap.delivery.log import DEFERRED, REJECTED, SENDING, SENT, DeliveryLog
from recap.delivery.smtp import (
    PASSWORD_ENV,
    OutcomeUnknown,
    Permanent,
    SmtpConnection,
    Transient,
    Unreachable,
    smtp_password,
)
from recap.delivery.subscribers import Subscriber, check_address
from recap.delivery.unsubscribe import make_token, read_secret
from recap.errors import DeliveryError

logger = logging.getLogger(__name__)

TLS_MODES = ("starttls", "ssl", "none")
GREETING_MARK = "<!-- greeting -->"
UNSUBSCRIBE_MARK = "<!-- unsubscribe -->"
URL_PLACEHOLDERS = ("{email}", "{token}")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class EmailSettings:
    """The validated [email] table."""

    host: str
    port: int
    user: str
    tls: str
    sender: str
    sender_name: str
    reply_to: str
    subject: str
    attach_pdf: bool
    unsubscribe_url: str
    unsubscribe_mailto: str
    max_per_minute: float
    retries: int
    backoff_seconds: float
    timeout_seconds: float

    @classmethod
    def from_config(cls, config: RecapConfig) -> EmailSettings:
        """Read and check [email]; ConfigError-like DeliveryError naming the bad key."""
        s = config.section("email")
        settings = cls(
            host=str(s["host"]),
            port=int(s["port"]),
            user=str(s["user"]),
            tls=str(s["tls"]).lower(),
            sender=str(s["from"]),
            sender_name=str(s["from_name"]),
            reply_to=str(s["reply_to"]),
            subject=str(s["subject"]),
            attach_pdf=bool(s["attach_pdf"]),
            unsubscribe_url=str(s["unsubscribe_url"]),
            unsubscribe_mailto=str(s["unsubscribe_mailto"]),
            max_per_minute=float(s["max_per_minute"]),
            retries=int(s["retries"]),
            backoff_seconds=float(s["backoff_seconds"]),
            timeout_seconds=float(s["timeout_seconds"]),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """DeliveryError naming the first [email] key that cannot work."""
        if not self.host.strip():
            raise DeliveryError("[email] host is empty; name the SMTP server to send through")
        if self.tls not in TLS_MODES:
            raise DeliveryError(
                f"[email] tls must be one of {', '.join(TLS_MODES)}, got {self.tls!r}"
            )
        if not self.sender:
            raise DeliveryError("[email] from is empty; it is the address messages come from")
        for key, value in (("from", self.sender), ("reply_to", self.reply_to)):
            if value and (reason := check_address(value)):
                raise DeliveryError(f"[email] {key}: {reason}")
        if not self.unsubscribe_url and not self.unsubscribe_mailto:
            raise DeliveryError(
                "[email] needs unsubscribe_url or unsubscribe_mailto: every message must "
                "say how to unsubscribe"
            )
        if self.unsubscribe_mailto and (reason := check_address(self.unsubscribe_mailto)):
            raise DeliveryError(f"[email] unsubscribe_mailto: {reason}")
        self._check_unsubscribe_url()
        if "{headline}" not in self.subject:
            raise DeliveryError("[email] subject must contain {headline}")
        try:
            self.subject.format(headline="", week="", week_end="")
        except (KeyError, IndexError, ValueError) as e:
            raise DeliveryError(f"[email] subject has an unknown placeholder: {e}") from None
        if not 0 < self.port < 65536:
            raise DeliveryError(f"[email] port must be 1-65535, got {self.port}")
        if self.max_per_minute < 0 or self.retries < 0 or self.backoff_seconds < 0:
            raise DeliveryError("[email] max_per_minute, retries and backoff_seconds must be >= 0")

    def _check_unsubscribe_url(self) -> None:
        url = self.unsubscribe_url
        if not url:
            return
        if not url.lower().startswith("https://"):
            raise DeliveryError("[email] unsubscribe_url must be an https:// address")
        unknown = [p for p in _PLACEHOLDER.findall(url) if p not in URL_PLACEHOLDERS]
        if unknown:
            raise DeliveryError(
                f"[email] unsubscribe_url has an unknown placeholder {unknown[0]} "
                f"(known: {', '.join(URL_PLACEHOLDERS)})"
            )
        if "{token}" in url and "{email}" not in url:
            raise DeliveryError(
                "[email] unsubscribe_url uses {token} without {email}: the token is checked "
                "against the address, so the URL must carry both"
            )

    @property
    def uses_token(self) -> bool:
        """Whether the unsubscribe URL carries a signed token."""
        return "{token}" in self.unsubscribe_url

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs and List-Id."""
        return self.sender.rpartition("@")[2] or "localhost"


# -- composition (pure) ----------------------------------------------------------------


@dataclass(frozen=True)
class Newsletter:
    """A week's email, checked and inlined once, from which each message is composed."""

    week: str
    subject: str
    html: str
    text: str
    images: Mapping[str, bytes]
    pdf: bytes | None
    headline: str


def unsubscribe_secret(settings: EmailSettings, environ: Mapping[str, str] | None = None) -> bytes:
    """The token secret when the unsubscribe URL uses {token}; b'' when it does not."""
    if not settings.uses_token:
        return b""
    return read_secret(
        environ,
        why="[email] unsubscribe_url uses {token}, and recap will not make a token "
        "without the secret",
    )


def inline_css(html: str) -> str:
    """Move <style> rules into style attributes (media queries stay in a <style> block)."""
    inliner = css_inline.CSSInliner(
        keep_style_tags=False,
        keep_at_rules=True,
        load_remote_stylesheets=False,
        apply_width_attributes=True,
    )
    try:
        return str(inliner.inline(html))
    except (css_inline.InlineError, ValueError) as e:
        raise DeliveryError(f"email.html: its CSS cannot be inlined ({e})") from None


def prepare(edition: Edition, settings: EmailSettings) -> Newsletter:
    """Check a built week's email files and make the parts every message shares."""
    check_deliverable(edition, "email")
    html = inline_css(edition.text("email.html"))
    charts = edition.charts
    problems = unfit_reasons(html, frozenset(charts))
    if problems:
        raise DeliveryError(
            f"email.html of the week ending {edition.week} is not fit to send: it contains "
            + "; ".join(problems)
        )
    pdf = edition.require("recap.pdf") if settings.attach_pdf else None
    subject = settings.subject.format(
        headline=edition.headline,
        week=week_label(edition.week_start, edition.week_end),
        week_end=edition.week,
    )
    return Newsletter(
        week=edition.week,
        subject=" ".join(subject.split()),
        html=html,
        text=edition.text("email.txt"),
        images={c: charts[c] for c in content_ids(html)},
        pdf=pdf,
        headline=edition.headline,
    )


def unsubscribe_links(
    settings: EmailSettings, address: str, secret: bytes = b""
) -> tuple[str, ...]:
    """The recipient's unsubscribe URLs: https first, then mailto (From when none is set)."""
    links = []
    if settings.unsubscribe_url:
        url = settings.unsubscribe_url.replace("{email}", urllib.parse.quote(address, safe=""))
        if settings.uses_token:
            if not secret:
                raise DeliveryError(
                    "refusing to put an unsubscribe token in a URL without the secret"
                )
            url = url.replace("{token}", make_token(address, secret))
        links.append(url)
    mailbox = settings.unsubscribe_mailto or settings.sender
    links.append(f"mailto:{mailbox}?subject=unsubscribe")
    return tuple(links)


def _greeting_html(name: str) -> str:
    return (
        '<table role="presentation" width="600" align="center" cellpadding="0" '
        'cellspacing="0" border="0" style="width:600px;max-width:100%;margin:0 auto;">'
        '<tr><td style="padding:16px 24px 0;font-family:Helvetica,Arial,sans-serif;'
        f'font-size:16px;color:#222222;">Hi {html_lib.escape(name)},</td></tr></table>'
    )


def _footer_html(link: str) -> str:
    return (
        '<table role="presentation" width="600" align="center" cellpadding="0" '
        'cellspacing="0" border="0" style="width:600px;max-width:100%;margin:0 auto;">'
        '<tr><td style="padding:16px 24px 24px;font-family:Helvetica,Arial,sans-serif;'
        'font-size:12px;color:#666666;text-align:center;">You receive this because you '
        f'subscribed. <a href="{html_lib.escape(link)}" style="color:#666666;">Unsubscribe</a>'
        "</td></tr></table>"
    )


def _personal_html(html: str, name: str, link: str) -> str:
    greeting = _greeting_html(name) if name else ""
    if GREETING_MARK in html:
        html = html.replace(GREETING_MARK, greeting, 1)
    elif greeting:
        m = _BODY_OPEN.search(html)
        html = html[: m.end()] + greeting + html[m.end() :] if m else greeting + html
    footer = _footer_html(link)
    if UNSUBSCRIBE_MARK in html:
        return html.replace(UNSUBSCRIBE_MARK, footer, 1)
    closes = list(_BODY_CLOSE.finditer(html))
    if closes:
        at = closes[-1].start()
        return html[:at] + footer + html[at:]
    return html + footer


def _personal_text(text: str, name: str, link: str) -> str:
    body = f"Hi {name},\n\n{text}" if name else text
    return f"{body.rstrip()}\n\n--\nYou receive this because you subscribed.\nUnsubscribe: {link}\n"


def message_id(week: str, address: str, domain: str) -> str:
    """A stable Message-ID per (week, recipient): a resent copy is recognisably the same."""
    digest = hashlib.sha256(f"{week}\0{address.lower()}".encode()).hexdigest()[:20]
    return f"<recap.{week}.{digest}@{domain}>"


def compose(
    newsletter: Newsletter,
    subscriber: Subscriber,
    settings: EmailSettings,
    now: dt.datetime,
    *,
    secret: bytes = b"",
) -> EmailMessage:
    """One recipient's message (see the module docstring for its structure)."""
    links = unsubscribe_links(settings, subscriber.email, secret)
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = newsletter.subject
    msg["From"] = formataddr((settings.sender_name, settings.sender))
    msg["To"] = formataddr((subscriber.name, subscriber.email))
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Date"] = format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(newsletter.week, subscriber.email, settings.domain)
    msg["List-Id"] = f"{settings.sender_name} <weekly-recap.{settings.domain}>"
    msg["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in links)
    if links[0].startswith("https://"):
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Recap-Week"] = newsletter.week
    msg.set_content(_personal_text(newsletter.text, subscriber.name, links[0]), cte="8bit")
    msg.add_alternative(
        _personal_html(newsletter.html, subscriber.name, links[0]), subtype="html", cte="8bit"
    )
    html_part = msg.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    for cid, png in newsletter.images.items():
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            filename=f"{cid}.png",
            disposition="inline",
        )
    if newsletter.pdf is not None:
        msg.add_attachment(
            newsletter.pdf,
            maintype="application",
            subtype="pdf",
            filename=f"recap-{newsletter.week}.pdf",
        )
    return msg


def eml_name(index: int, subscriber: Subscriber) -> str:
    """A safe file name for a recipient's .eml in a dry run."""
    safe = re.sub(r"[^A-Za-z0-9@._-]", "_", subscriber.email.lower())
    return f"{index:04d}-{safe}.eml"


# -- sending ---------------------------------------------------------------------------


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
        data = msg.as_bytes(policy=SMTP_POLICY)
        message_id = str(msg["Message-ID"])
        week, key = self.newsletter.week, sub.key
        attempt = 0
        while True:
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
            except (Transient, Unreachable) as e:
                attempt += 1
                if isinstance(e, Transient):
                    attempts = 0 if handed_over else 1
                    self.log.record(week, key, DEFERRED, detail=str(e), attempts=attempts)
                if attempt > retries:
                    if isinstance(e, Unreachable):
                        raise
                    return DEFERRED, str(e)
                wait = self.settings.backoff_seconds * 2 ** (attempt - 1)
                logger.warning(
                    "%s: %s; retry %d of %d in %.1f s", sub.email, e, attempt, retries, wait
                )
                self.sleep(wait)
                continue
            self.log.record(week, key, SENT, message_id=message_id, attempts=0)
            logger.info("sent the week ending %s to %s", week, sub.email)
            return SENT, ""


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
            report.stopped = f"sending stopped at {sub.email}: {e}"
            if final:
                left.extend(queue[i:])
            else:
                report.not_tried.extend(s.email for s, _ in queue[i:])
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


__all__ = [
    "PASSWORD_ENV",
    "EmailSettings",
    "Newsletter",
    "SendReport",
    "compose",
    "content_ids",
    "external_urls",
    "inline_css",
    "prepare",
    "send_batch",
    "smtp_password",
    "unsubscribe_secret",
    "write_dry_run",
]
