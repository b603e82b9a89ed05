"""Unsubscribe tokens: an HMAC-SHA256 of the address under a secret only the sender holds.

``[email] unsubscribe_url`` carries both the address and its token
(``https://example.com/unsubscribe?email={email}&token={token}``); the web form or ESP
webhook behind it calls ``recap unsubscribe --token TOKEN --email ADDRESS``, which
recomputes the token and compares the two in constant time.

The token does not encode the address, by design: the URL carries the address anyway,
the form needs it in clear to say who was unsubscribed, and a token that is nothing but
a MAC leaves nothing to decode or parse before it is verified. Changing the secret
voids every token already sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

from recap.errors import DeliveryError

SECRET_ENV = "RECAP_UNSUBSCRIBE_SECRET"
MIN_SECRET_BYTES = 16
# Binds a token to this one use, should the same secret ever sign anything else.
_PURPOSE = b"recap-unsubscribe-v1\0"


def read_secret(environ: Mapping[str, str] | None = None, *, why: str = "") -> bytes:
    """The secret from RECAP_UNSUBSCRIBE_SECRET; DeliveryError when it is unset or short."""
    value = (os.environ if environ is None else environ).get(SECRET_ENV, "")
    lead = f"{why}: " if why else ""
    if not value:
        raise DeliveryError(
            f"{lead}the environment variable {SECRET_ENV} is empty; set it to a long random "
            "value (e.g. `openssl rand -hex 32`), the same wherever tokens are made or checked"
        )
    secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise DeliveryError(
            f"{lead}{SECRET_ENV} is {len(secret)} bytes long; use at least "
            f"{MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32`)"
        )
    return secret


def make_token(address: str, secret: bytes) -> str:
    """The token for ``address`` (case-insensitive): 43 URL-safe characters."""
    mac = hmac.new(secret, _PURPOSE + address.strip().lower().encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def verify_token(address: str, token: str, secret: bytes) -> bool:
    """Whether ``token`` was made for ``address`` with ``secret`` (constant-time compare)."""
    expected = make_token(address, secret).encode("ascii")
    return hmac.compare_digest(expected, token.strip().encode("utf-8", "replace"))


__all__ = ["MIN_SECRET_BYTES", "SECRET_ENV", "make_token", "read_secret", "verify_token"]
