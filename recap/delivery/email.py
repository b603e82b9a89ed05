"""Email delivery: compose one message per subscriber, send them over one SMTP connection.

Composition is pure (a built week's bytes in, ``EmailMessage`` out): ``prepare`` checks and
inlines the week's email.html once, ``compose`` makes a recipient's message from it.
Sending is ``delivery/batch.py``'s job. Each message has:

    multipart/mixed
     +-- multipart/alternative
     |    +-- text/plain            email.txt, rendered from its own template
     |    +-- multipart/related
     |         +-- text/html        email.html, CSS inlined, cid: images
     |         +-- image/png ...    one part per cid: the HTML uses (Content-ID <name>)
     +-- application/pdf            recap-<week>.pdf, when [email] attach_pdf

The SMTP password (RECAP_SMTP_PASSWORD) and the unsubscribe secret
(RECAP_UNSUBSCRIBE_SECRET) are read from the environment only and never printed or logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from pathlib import Path

from recap.config import RecapConfig
from recap.delivery.edition import Edition, check_deliverable
from recap.delivery.fitness import content_ids, external_urls, unfit_reasons
from recap.delivery.smtp import PASSWORD_ENV, smtp_password
from recap.delivery.subscribers import Subscriber, check_address
from recap.delivery.unsubscribe import make_token, read_secret
from recap.errors import DeliveryError, RenderError
from recap.formatting import week_span
from recap.render import inline_css as _inline
from recap.render import render_template

logger = logging.getLogger(__name__)
SMTP_LINE = 998  # octets a line may hold, CRLF aside (RFC 5321, 4.5.3.1.6)

TLS_MODES = ("starttls", "ssl", "none")
GREETING_MARK = "<!-- greeting -->"
UNSUBSCRIBE_MARK = "<!-- unsubscribe -->"
URL_PLACEHOLDERS = ("{email}", "{token}")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.S)
_AT_BLOCK = re.compile(r"@[^{;]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}")


# Headers written on one line (a line may be 998 characters long; each of these is
# bounded well below that: the subject by the config, names by MAX_NAME, URLs by checks).
UNFOLDED_HEADERS = frozenset({"subject", "from", "to", "reply-to", "list-id", "list-unsubscribe"})


class MessagePolicy(EmailPolicy):
    """SMTP's policy (CRLF, lines folded at 78), except for UNFOLDED_HEADERS.

    Python's folder leaves a space at the end of the line it breaks before an encoded
    word, such as the one the week label's en dash needs (a double space in the
    subject); folding a quoted display name drops its quotes, so "Smith, John" reads
    as two addresses; and a long List-Unsubscribe URL comes out as encoded words,
    which no client reads as the <https://...> form RFC 2369 and 8058 require.
    """

    def fold(self, name: str, value: str) -> str:
        """The header as text; UNFOLDED_HEADERS on one line."""
        if name.lower() in UNFOLDED_HEADERS:
            return str(EmailPolicy.fold(self.clone(max_line_length=998), name, value))
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        """The header as bytes; UNFOLDED_HEADERS on one line."""
        if name.lower() in UNFOLDED_HEADERS:
            return EmailPolicy.fold_binary(self.clone(max_line_length=998), name, value)
        return super().fold_binary(name, value)


MESSAGE_POLICY = MessagePolicy(linesep="\r\n")  # what email.policy.SMTP sets
# RFC 6531: a recipient with non-ASCII letters before the @ gets headers in raw UTF-8,
# over a session that says SMTPUTF8 (delivery/smtp.py).
MESSAGE_POLICY_UTF8 = MESSAGE_POLICY.clone(utf8=True)


def needs_smtputf8(address: str) -> bool:
    """Whether ``address`` has non-ASCII characters (RFC 6531)."""
    return not address.isascii()


def _mailbox(name: str, address: str) -> str | Address:
    """The To header's value: an Address, which quotes a name with commas or colons.
    Address refuses a non-ASCII local part, so one is put in after quoting."""
    if not needs_smtputf8(address):
        return Address(display_name=name, addr_spec=address)
    local, _, domain = address.rpartition("@")
    placeholder = "recap-placeholder"
    return str(Address(display_name=name, username=placeholder, domain=domain)).replace(
        f"{placeholder}@", f"{local}@"
    )


@dataclass(frozen=True)
class EmailSettings:
    """The validated [email] table, and the templates folder (the greeting and footer)."""

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
    templates_dir: Path

    @classmethod
    def from_config(cls, config: RecapConfig) -> EmailSettings:
        """Read and check [email]; ConfigError-like DeliveryError naming the bad key."""
        e = config.email  # typed and range-checked when the config loaded
        settings = cls(
            host=e.host,
            port=e.port,
            user=e.user,
            tls=e.tls,
            sender=e.sender,
            sender_name=e.from_name,
            reply_to=e.reply_to,
            subject=e.subject,
            attach_pdf=e.attach_pdf,
            unsubscribe_url=e.unsubscribe_url,
            unsubscribe_mailto=e.unsubscribe_mailto,
            max_per_minute=float(e.max_per_minute),
            retries=e.retries,
            backoff_seconds=float(e.backoff_seconds),
            timeout_seconds=float(e.timeout_seconds),
            templates_dir=config.templates_dir,
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
    """The email's CSS inlined, DeliveryError when it cannot be."""
    try:
        return _inline(html)
    except RenderError as e:
        raise DeliveryError(str(e)) from None


def needs_inlining(html: str) -> bool:
    """True when a <style> block still holds rules outside @media (css-inline keeps
    those). A build saves email.html inlined, exactly as sent; an older build did not."""
    return any("{" in _AT_BLOCK.sub("", css) for css in _STYLE.findall(html))


def prepare(edition: Edition, settings: EmailSettings) -> Newsletter:
    """Check a built week's email files and make the parts every message shares."""
    check_deliverable(edition, "email")
    html = edition.text("email.html")
    if needs_inlining(html):
        html = inline_css(html)
    charts = edition.email_images
    problems = unfit_reasons(html, frozenset(charts))
    if problems:
        raise DeliveryError(
            f"email.html of the week ending {edition.week} is not fit to send: it contains "
            + "; ".join(problems)
        )
    pdf = edition.require("recap.pdf") if settings.attach_pdf else None
    # Each recipient's greeting and footer come from templates: rendered once here, so a
    # broken one stops the run before anything is published or sent.
    personal_html(settings, html, "Reader", "https://example.org/unsubscribe")
    personal_text(settings, "", "Reader", "https://example.org/unsubscribe")
    subject = settings.subject.format(
        headline=edition.headline,
        week=week_span(edition.week_start, edition.week_end),
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


def _part(settings: EmailSettings, template: str, /, **context: str) -> str:
    # One line placed inline at a mark: the file's own last newline is not part of it.
    return render_template(settings.templates_dir, template, **context).removesuffix("\n")


def personal_html(settings: EmailSettings, html: str, name: str, link: str) -> str:
    """The week's email.html as one reader gets it: greeting and footer at their marks."""
    greeting = _part(settings, "email/greeting.html.j2", name=name) if name else ""
    if GREETING_MARK in html:
        html = html.replace(GREETING_MARK, greeting, 1)
    elif greeting:
        m = _BODY_OPEN.search(html)
        html = html[: m.end()] + greeting + html[m.end() :] if m else greeting + html
    footer = _part(settings, "email/footer.html.j2", link=link)
    if UNSUBSCRIBE_MARK in html:
        return html.replace(UNSUBSCRIBE_MARK, footer, 1)
    closes = list(_BODY_CLOSE.finditer(html))
    if closes:
        at = closes[-1].start()
        return html[:at] + footer + html[at:]
    return html + footer


def personal_text(settings: EmailSettings, text: str, name: str, link: str) -> str:
    """The week's email.txt as one reader gets it: greeting, text, footer."""
    return render_template(
        settings.templates_dir, "email/personal.txt.j2", text=text, name=name, link=link
    )


def message_id(week: str, address: str, domain: str) -> str:
    """A stable Message-ID per (week, recipient): a resent copy is recognisably the same."""
    digest = hashlib.sha256(f"{week}\0{address.lower()}".encode()).hexdigest()[:20]
    return f"<recap.{week}.{digest}@{domain}>"


def _html_cte(html: str) -> str:
    """8bit while every line fits SMTP's 998-octet limit; quoted-printable, which wraps
    its lines, when one does not (a chart's alt text can run to a thousand characters)."""
    if max((len(line.encode()) for line in html.splitlines()), default=0) <= SMTP_LINE:
        return "8bit"
    return "quoted-printable"


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
    utf8 = needs_smtputf8(subscriber.email)
    msg = EmailMessage(policy=MESSAGE_POLICY_UTF8 if utf8 else MESSAGE_POLICY)
    msg["Subject"] = newsletter.subject
    # Address quotes a display name with commas or colons; formataddr leaves an encoded
    # one bare, so "Müller, Jörg: boss@example.net" became two recipients.
    msg["From"] = Address(display_name=settings.sender_name, addr_spec=settings.sender)
    msg["To"] = _mailbox(subscriber.name, subscriber.email)
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Date"] = format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(newsletter.week, subscriber.email, settings.domain)
    msg["List-Id"] = f"{settings.sender_name} <weekly-recap.{settings.domain}>"
    msg["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in links)
    if links[0].startswith("https://"):
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Recap-Week"] = newsletter.week
    msg.set_content(personal_text(settings, newsletter.text, subscriber.name, links[0]), cte="8bit")
    html = personal_html(settings, newsletter.html, subscriber.name, links[0])
    msg.add_alternative(html, subtype="html", cte=_html_cte(html))
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


__all__ = [
    "MESSAGE_POLICY",
    "MESSAGE_POLICY_UTF8",
    "needs_smtputf8",
    "PASSWORD_ENV",
    "EmailSettings",
    "Newsletter",
    "compose",
    "content_ids",
    "external_urls",
    "inline_css",
    "needs_inlining",
    "personal_html",
    "personal_text",
    "prepare",
    "smtp_password",
    "unsubscribe_secret",
]
