"""The subscribers CSV: a header with ``email`` and optionally ``name``, one person a line.

Bad lines never stop a batch: each one is reported with its line number and reason and
skipped (the send then exits 1 naming them). A repeated address (compared
case-insensitively) is reported and only its first line kept. Blank lines and lines
starting with ``#`` are ignored.

Only LF (or CRLF) ends a line: ``str.splitlines`` also breaks at U+2028, U+2029, U+0085
and a few controls, which split one subscriber's row in two. Such characters in a name
become spaces; a name longer than MAX_NAME is left out (the reader is still sent to,
without the greeting's name) and noted.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from recap.errors import DeliveryError

# Deliberately plain: one @, a dot-separated domain with a dot, no spaces or controls.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
MAX_NAME = 100


@dataclass(frozen=True)
class Subscriber:
    """One recipient: the address as given, and a name when the file has one."""

    email: str
    name: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """The address as the send log stores it (lower case)."""
        return self.email.lower()


@dataclass(frozen=True)
class LineProblem:
    """A line of the subscribers file that was skipped, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class SubscriberList:
    """The valid subscribers in file order, the lines that were skipped, and notes on
    lines kept with a change (a name left out)."""

    subscribers: tuple[Subscriber, ...]
    problems: tuple[LineProblem, ...]
    notes: tuple[LineProblem, ...] = ()


def clean_name(name: str) -> str:
    """The name with line breaks and controls (U+2028, U+0085, tabs...) as single spaces."""
    spaced = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c.isspace() else c for c in name
    )
    return " ".join(spaced.split())


def check_address(address: str) -> str | None:
    """Why ``address`` cannot be mailed, or None when it looks deliverable."""
    if not address:
        return "no email address"
    if any(ord(c) < 32 or c == "\x7f" for c in address) or " " in address:
        return f"{address!r} contains spaces or control characters"
    if address.count("@") != 1:
        return f"{address!r} is not an email address (needs exactly one @)"
    local, domain = address.split("@")
    if len(local.encode()) > 64 or len(address.encode()) > 254:
        return f"{address!r} is too long"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return f"{address!r} has a misplaced dot before the @"
    # RFC 6531: letters and digits of any script before the @ (sent with SMTPUTF8).
    ascii_local = "".join(c if c.isascii() or not _is_letter(c) else "a" for c in local)
    if not _ADDRESS.match(f"{ascii_local}@{domain}"):
        return f"{address!r} is not a valid email address"
    return None


def _is_letter(c: str) -> bool:
    return unicodedata.category(c)[0] in "LMN"


def parse_subscribers(text: str) -> SubscriberList:
    """Parse the CSV text of a subscribers file (see the module docstring)."""
    lines = text.split("\n")  # not splitlines(): see the module docstring
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        start += 1
    if start == len(lines):
        raise DeliveryError("the subscribers file is empty (it needs a header with 'email')")
    reader = csv.reader(io.StringIO("\n".join(lines[start:]), newline=""))
    header = [h.strip().lower() for h in next(reader)]
    if "email" not in header:
        raise DeliveryError(
            f"line {start + 1}: the subscribers file needs an 'email' column "
            f"(header found: {', '.join(header) or 'nothing'})"
        )
    col_email = header.index("email")
    col_name = header.index("name") if "name" in header else None
    out: list[Subscriber] = []
    problems: list[LineProblem] = []
    notes: list[LineProblem] = []
    seen: dict[str, int] = {}
    for row in reader:
        number = start + reader.line_num
        if not row or not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) > len(header):
            problems.append(LineProblem(number, f"{len(row)} fields for a header of {len(header)}"))
            continue
        address = row[col_email].strip() if col_email < len(row) else ""
        reason = check_address(address)
        if reason:
            problems.append(LineProblem(number, reason))
            continue
        name = clean_name(row[col_name]) if col_name is not None and col_name < len(row) else ""
        if len(name) > MAX_NAME:
            notes.append(
                LineProblem(
                    number, f"the name is {len(name)} characters (over {MAX_NAME}); sent without it"
                )
            )
            name = ""
        key = address.lower()
        if key in seen:
            problems.append(
                LineProblem(number, f"{address} is a duplicate of line {seen[key]}; skipped")
            )
            continue
        seen[key] = number
        out.append(Subscriber(email=address, name=name, line=number))
    return SubscriberList(tuple(out), tuple(problems), tuple(notes))


def parse_addresses(text: str) -> tuple[list[str], tuple[LineProblem, ...]]:
    """Addresses from a CSV with an 'email' column, or from one address a line.

    Blank lines and '#' comments are skipped; a bad line is reported, not fatal.
    """
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    header = next(csv.reader([first]), [])
    if "email" in (h.strip().lower() for h in header):
        subs = parse_subscribers(text)
        return [s.email for s in subs.subscribers], subs.problems
    out: list[str] = []
    problems: list[LineProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        address = line.strip()
        if not address or address.startswith("#"):
            continue
        if reason := check_address(address):
            problems.append(LineProblem(number, reason))
        else:
            out.append(address)
    return out, tuple(problems)


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DeliveryError(f"{what} {path} does not exist") from None
    except OSError as e:
        raise DeliveryError(f"{what} {path} cannot be read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise DeliveryError(f"{what} {path} is not UTF-8 text") from None


def read_addresses(path: Path) -> tuple[list[str], tuple[LineProblem, ...]]:
    """Read a file of addresses (see ``parse_addresses``)."""
    text = _read_text(path, "address file")
    try:
        return parse_addresses(text)
    except csv.Error as e:
        raise DeliveryError(f"{path}: not a readable CSV file ({e})") from None


def read_subscribers(path: Path) -> SubscriberList:
    """Read and check a subscribers CSV file."""
    text = _read_text(path, "subscribers file")
    try:
        return parse_subscribers(text)
    except DeliveryError as e:
        raise DeliveryError(f"{path}: {e}") from None
    except csv.Error as e:
        raise DeliveryError(f"{path}: not a readable CSV file ({e})") from None


__all__ = [
    "LineProblem",
    "Subscriber",
    "SubscriberList",
    "check_address",
    "parse_addresses",
    "parse_subscribers",
    "read_addresses",
    "read_subscribers",
]
