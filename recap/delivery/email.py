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

The send log (``delivery/log.py``) is written as each message is accepted, so a re-run
after a crash sends only to those not yet served. The SMTP password is read from the
environment variable RECAP_SMTP_PASSWORD only and never printed or logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import ipaddress
import logging
import os
import re
import smtplib
import ssl
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
from recap.delivery.log import REJECTED, SENT, DeliveryLog
from recap.delivery.subscribers import Subscriber, check_address
from recap.errors import DeliveryError

logger = logging.getLogger(__name__)

PASSWORD_ENV = "RECAP_SMTP_PASSWORD"
TLS_MODES = ("starttls", "ssl", "none")
GREETING_MARK = "<!-- greeting -->"
UNSUBSCRIBE_MARK = "<!-- unsubscribe -->"
_CID = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)
_URL = re.compile(r"""https?://[^\s"'<>)]+""", re.IGNORECASE)
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_FORBIDDEN = {
    "a script": re.compile(r"<script\b", re.IGNORECASE),
    "an SVG image": re.compile(r"<svg\b|\.svg\b|image/svg", re.IGNORECASE),
    "a remote stylesheet": re.compile(r"<link\b[^>]*stylesheet", re.IGNORECASE),
    "an event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
}


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
        if self.tls not in TLS_MODES:
            raise DeliveryError(
                f"[email] tls must be one of {', '.join(TLS_MODES)}, got {self.tls!r}"
            )
        for key, value in (("from", self.sender), ("reply_to", self.reply_to)):
            if value and (reason := check_address(value)):
                raise DeliveryError(f"[email] {key}: {reason}")
        if self.unsubscribe_mailto and (reason := check_address(self.unsubscribe_mailto)):
            raise DeliveryError(f"[email] unsubscribe_mailto: {reason}")
        if self.unsubscribe_url and not self.unsubscribe_url.lower().startswith("https://"):
            raise DeliveryError("[email] unsubscribe_url must be an https:// address")
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


def external_urls(html: str) -> list[str]:
    """Every http(s) URL in ``html`` (attributes, CSS or text)."""
    return _URL.findall(html)


def content_ids(html: str) -> list[str]:
    """The Content-IDs the HTML refers to with cid:, in order, without repeats."""
    return list(dict.fromkeys(m.group(1) for m in _CID.finditer(html)))


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
    problems = [what for what, pattern in _FORBIDDEN.items() if pattern.search(html)]
    urls = external_urls(html)
    if urls:
        problems.append("external URLs (" + ", ".join(sorted(set(urls))[:5]) + ")")
    charts = edition.charts
    cids = content_ids(html)
    missing = [c for c in cids if c not in charts]
    if missing:
        problems.append("cid: images without a chart PNG (" + ", ".join(missing) + ")")
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
        images={c: charts[c] for c in cids},
        pdf=pdf,
        headline=edition.headline,
    )


def unsubscribe_links(settings: EmailSettings, address: str) -> tuple[str, ...]:
    """The recipient's unsubscribe URLs: https first, then mailto (From when none is set)."""
    links = []
    if settings.unsubscribe_url:
        links.append(settings.unsubscribe_url.replace("{email}", urllib.parse.quote(address)))
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
    newsletter: Newsletter, subscriber: Subscriber, settings: EmailSettings, now: dt.datetime
) -> EmailMessage:
    """One recipient's message (see the module docstring for its structure)."""
    links = unsubscribe_links(settings, subscriber.email)
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


class _Transient(Exception):
    """A 4xx reply or a dropped connection: worth another try."""


class _Permanent(Exception):
    """A 5xx reply for this recipient or message: recorded, the batch goes on."""


@dataclass
class SendReport:
    """What a batch did: delivered, skipped as already sent, refused, written (dry run)."""

    week: str
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def smtp_password(settings: EmailSettings, environ: Mapping[str, str] | None = None) -> str:
    """The SMTP password from RECAP_SMTP_PASSWORD; '' when no user is configured."""
    if not settings.user:
        return ""
    value = (os.environ if environ is None else environ).get(PASSWORD_ENV, "")
    if not value:
        raise DeliveryError(
            f"[email] user is set but the environment variable {PASSWORD_ENV} is empty; "
            "export the SMTP password there (it is never read from a file)"
        )
    if settings.tls == "none" and not _is_loopback(settings.host):
        raise DeliveryError(
            f"refusing to send the SMTP password to {settings.host} without TLS; "
            "set [email] tls to 'starttls' or 'ssl'"
        )
    return value


class SmtpConnection:
    """One SMTP session for a batch, reopened after a dropped connection."""

    def __init__(
        self,
        settings: EmailSettings,
        password: str,
        factory: Callable[..., smtplib.SMTP] | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        self._factory = factory
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self._factory is not None:
            smtp = self._factory(s.host, s.port, timeout=s.timeout_seconds)
        elif s.tls == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        try:
            smtp.ehlo()
            if s.tls == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, self._password)
        except smtplib.SMTPAuthenticationError as e:
            smtp.close()
            raise DeliveryError(
                f"the SMTP server {s.host} refused the login for {s.user} ({e.smtp_code})"
            ) from None
        except smtplib.SMTPNotSupportedError:
            smtp.close()
            raise DeliveryError(
                f"the SMTP server {s.host}:{s.port} does not offer STARTTLS; use tls = 'ssl', "
                "or 'none' for a local relay"
            ) from None
        except (smtplib.SMTPException, OSError):
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage, recipient: str) -> None:
        """Send one message to one recipient; raises _Transient or _Permanent."""
        if self._smtp is None:
            s = self.settings
            try:
                self._smtp = self._open()
            except (smtplib.SMTPException, OSError) as e:
                raise _Transient(f"cannot connect to {s.host}:{s.port}: {e}") from None
        try:
            self._smtp.send_message(msg, from_addr=self.settings.sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as e:
            code, reply = next(iter(e.recipients.values()), (550, b""))
            raise _classify(code, reply) from None
        except smtplib.SMTPSenderRefused as e:
            if 400 <= e.smtp_code < 500:
                raise _Transient(f"{e.smtp_code} {_text(e.smtp_error)}") from None
            raise DeliveryError(
                f"the SMTP server refused the sender {self.settings.sender} "
                f"({e.smtp_code} {_text(e.smtp_error)}); check [email] from"
            ) from None
        except smtplib.SMTPResponseException as e:
            if e.smtp_code == 421:  # the server is closing the connection
                self.close()
            raise _classify(e.smtp_code, e.smtp_error) from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as e:
            self.close()
            raise _Transient(
                f"connection to {self.settings.host}:{self.settings.port}: {e}"
            ) from None

    def close(self) -> None:
        """Say QUIT if the server is still there; forget the session either way."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _classify(code: int, reply: bytes | str) -> Exception:
    detail = f"{code} {_text(reply)}"
    return _Transient(detail) if 400 <= code < 500 else _Permanent(detail)


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


def _pending(
    subscribers: Iterable[Subscriber], done: frozenset[str], resend: bool, report: SendReport
) -> list[Subscriber]:
    out = []
    for sub in subscribers:
        if not resend and sub.key in done:
            report.already_sent.append(sub.email)
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
    resend: bool = False,
) -> SendReport:
    """Write one .eml per recipient a real run would send to; send nothing, log nothing."""
    report = SendReport(newsletter.week)
    done = log.sent_to(newsletter.week) if log is not None else frozenset()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for i, sub in enumerate(_pending(subscribers, done, resend, report), start=1):
            path = folder / eml_name(i, sub)
            path.write_bytes(compose(newsletter, sub, settings, now).as_bytes())
            report.written.append(path)
    except OSError as e:
        raise DeliveryError(f"cannot write the dry run into {folder}: {e.strerror}") from None
    return report


def send_batch(
    newsletter: Newsletter,
    subscribers: Iterable[Subscriber],
    settings: EmailSettings,
    log: DeliveryLog,
    *,
    now: dt.datetime,
    password: str = "",
    resend: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    smtp_factory: Callable[..., smtplib.SMTP] | None = None,
    on_sent: Callable[[str], Any] | None = None,
) -> SendReport:
    """Send the week to everyone not yet served, over one connection, logging as it goes.

    A 4xx reply or a dropped connection is retried with exponential backoff; a 5xx reply
    for one recipient is logged and the batch goes on. When the server stays away the run
    stops with a DeliveryError saying who got it and that a re-run sends to the rest.
    """
    report = SendReport(newsletter.week)
    pending = _pending(subscribers, log.sent_to(newsletter.week), resend, report)
    if not pending:
        return report
    conn = SmtpConnection(settings, password, smtp_factory)
    limit = _RateLimit(settings.max_per_minute, sleep, clock)
    try:
        for sub in pending:
            msg = compose(newsletter, sub, settings, now)
            attempt = 0
            while True:
                limit.wait()
                try:
                    conn.send(msg, sub.email)
                except _Permanent as e:
                    logger.warning("%s refused permanently: %s", sub.email, e)
                    log.record(newsletter.week, sub.key, REJECTED, detail=str(e), attempts=1)
                    report.rejected.append((sub.email, str(e)))
                    break
                except _Transient as e:
                    attempt += 1
                    if attempt > settings.retries:
                        raise DeliveryError(
                            f"sending stopped at {sub.email}: {e} (gave up after "
                            f"{settings.retries} retries). {len(report.sent)} sent in this run, "
                            f"{len(report.already_sent)} earlier; the send log records who got "
                            "it, so running the same command again sends only to the rest."
                        ) from None
                    wait = settings.backoff_seconds * 2 ** (attempt - 1)
                    logger.warning(
                        "%s: %s; retry %d of %d in %.1f s",
                        sub.email,
                        e,
                        attempt,
                        settings.retries,
                        wait,
                    )
                    sleep(wait)
                    continue
                log.record(
                    newsletter.week, sub.key, SENT, message_id=str(msg["Message-ID"]), attempts=1
                )
                report.sent.append(sub.email)
                logger.info("sent the week ending %s to %s", newsletter.week, sub.email)
                if on_sent is not None:
                    on_sent(sub.email)
                break
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
    "write_dry_run",
]
