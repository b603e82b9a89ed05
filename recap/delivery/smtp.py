"""One SMTP session for a batch: the password, the login, and one message per transaction.

``SmtpConnection.send`` speaks MAIL, RCPT and DATA itself (not ``smtplib.sendmail``) so the
caller can commit "sending" to the send log between RCPT and DATA. What happens to a
message then falls into four kinds, raised as exceptions (``SendFailure``s in
recap/errors.py):

- ``Transient``: a 4xx reply, or the connection lost before DATA; worth another try.
- ``Permanent``: a 5xx reply; ``stage`` says whether the address (RCPT) or the message
  (DATA) was refused.
- ``OutcomeUnknown``: the connection was lost or timed out after DATA began: the server
  may have accepted the message, so it must not be sent again without being asked.
- ``Unreachable``: no session could be opened (refused, timed out, TLS failed).

A setting that cannot work (a refused login, no STARTTLS, no AUTH) is a DeliveryError.
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from typing import Protocol

from recap.errors import (
    DeliveryError,
    OutcomeUnknown,
    Permanent,
    Transient,
    Unreachable,
)

PASSWORD_ENV = "RECAP_SMTP_PASSWORD"
# The mechanisms smtplib.SMTP.login knows how to speak.
LOGIN_MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")


class SmtpSettings(Protocol):
    """The [email] keys a session needs (EmailSettings has them)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def tls(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def timeout_seconds(self) -> float: ...


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def smtp_password(settings: SmtpSettings, environ: Mapping[str, str] | None = None) -> str:
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


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _refusal(code: int, reply: bytes | str, stage: str) -> Exception:
    detail = f"{code} {_text(reply)}"
    return Transient(detail) if 400 <= code < 500 else Permanent(detail, stage)


class SmtpConnection:
    """One SMTP session for a batch, reopened after a dropped connection."""

    def __init__(
        self,
        settings: SmtpSettings,
        password: str,
        factory: Callable[..., smtplib.SMTP] | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        self._factory = factory
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        """host:port, for messages."""
        return f"{self.settings.host}:{self.settings.port}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if self._factory is not None:
            return self._factory(s.host, s.port, timeout=s.timeout_seconds)
        if s.tls == "ssl":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as e:
            raise Unreachable(f"cannot connect to {self.where}: {e}") from None
        try:
            smtp.ehlo()
            if s.tls == "starttls":
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"the SMTP server {self.where} does not offer STARTTLS; use "
                        "tls = 'ssl' (usually port 465), or 'none' for a local relay"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                self._login(smtp)
        except smtplib.SMTPAuthenticationError as e:
            smtp.close()
            raise DeliveryError(
                f"the SMTP server {s.host} refused the login for {s.user} ({e.smtp_code})"
            ) from None
        except DeliveryError:
            smtp.close()
            raise
        except (smtplib.SMTPException, OSError) as e:
            smtp.close()
            raise Unreachable(f"cannot open a session with {self.where}: {e}") from None
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        s = self.settings
        after = " after STARTTLS" if s.tls == "starttls" else ""
        if not smtp.has_extn("auth"):
            raise DeliveryError(
                f"the SMTP server {self.where} does not offer AUTH{after}, so recap cannot "
                f"log in as {s.user}; leave [email] user empty for a relay that needs no "
                "login, or use the server's submission port (587 with starttls, 465 with ssl)"
            )
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        if not set(offered) & set(LOGIN_MECHANISMS):
            raise DeliveryError(
                f"the SMTP server {self.where} offers AUTH {' '.join(offered) or '(none)'}, "
                f"none of which recap can use ({', '.join(LOGIN_MECHANISMS)})"
            )
        smtp.login(s.user, self._password)

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _abandon(self, smtp: smtplib.SMTP, code: int) -> None:
        """After a refusal: RSET to reuse the session, or drop it when the server is leaving."""
        if code == 421:
            self.close()
            return
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def send(self, message: bytes, recipient: str, before_data: Callable[[], None]) -> None:
        """Deliver ``message`` (CRLF bytes) to one recipient; ``before_data`` runs before DATA.

        Returns after the server's 250; otherwise raises one of the kinds in the module
        docstring.
        """
        smtp = self._session()
        options = []
        if not recipient.isascii():  # RFC 6531
            if not smtp.has_extn("smtputf8"):
                raise Permanent(
                    f"the SMTP server {self.where} does not offer SMTPUTF8, which "
                    f"{recipient} needs (non-ASCII letters before the @)",
                    "MAIL",
                )
            options.append("SMTPUTF8")
        if smtp.has_extn("size"):
            options.append(f"SIZE={len(message)}")
        if smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        try:
            code, reply = smtp.mail(self.settings.sender, options)
            if code != 250:
                self._abandon(smtp, code)
                if 400 <= code < 500:
                    raise Transient(f"MAIL FROM: {code} {_text(reply)}")
                raise DeliveryError(
                    f"the SMTP server refused the sender {self.settings.sender} "
                    f"({code} {_text(reply)}); check [email] from"
                )
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._abandon(smtp, code)
                raise _refusal(code, reply, "RCPT")
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self.close()
            raise Transient(f"connection to {self.where} lost: {e}") from None
        before_data()
        try:
            code, reply = smtp.data(message)
        except smtplib.SMTPDataError as e:  # DATA itself refused: no message was sent
            self._abandon(smtp, e.smtp_code)
            raise _refusal(e.smtp_code, e.smtp_error, "DATA") from None
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self.close()
            raise OutcomeUnknown(
                f"the connection to {self.where} was lost after the message was sent, "
                f"before the server's reply ({e})"
            ) from None
        if code != 250:
            self._abandon(smtp, code)
            raise _refusal(code, reply, "DATA")

    def close(self) -> None:
        """Say QUIT if the server is still there; forget the session either way."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


__all__ = [
    "PASSWORD_ENV",
    "OutcomeUnknown",
    "Permanent",
    "SmtpConnection",
    "Transient",
    "Unreachable",
    "smtp_password",
]
