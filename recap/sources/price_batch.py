"""Many clean price files parsed with one pd.read_csv call.

read_price_csv costs ~2 ms a file before it reads a line (pd.read_csv, pd.to_datetime,
a frame), so a cold cache of ~1,900 files spent seconds on calls alone. Here the files
that are plainly clean (the exact header, plain characters, seven fields a line) are
joined and parsed at once, with the options of ``read_price_csv``, and split again by
their line counts. A file the batch cannot vouch for (not clean, a value or date that
does not parse, dates not strictly ascending) comes back as None, for the caller to read
alone with ``read_price_csv``: its error then names the file and the line as before, and
the batch never accepts what it would refuse.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

from recap.sources.base import BAR_COLUMNS
from recap.sources.price_cache import Columns, day_numbers

HEADER = ",".join(("Date", *BAR_COLUMNS)).encode()

# Digits, signs, the decimal point and exponent, commas and newlines: nothing the CSV
# tokenizer or str.splitlines treats specially (quotes, \r, \x0c...), so a line here is
# a line there too, and a field is what lies between two commas.
_PLAIN = np.zeros(256, dtype=bool)
_PLAIN[list(b"0123456789+-.eE,\n")] = True
_COMMA, _NEWLINE = ord(","), ord("\n")


def parse_prices(texts: Sequence[bytes | None]) -> list[Columns | None]:
    """Each file's (days, BAR_COLUMNS values) from its bytes, or None for a file to read
    alone (None in: a file that could not be read)."""
    bodies = {i: body for i, text in enumerate(texts) if (body := _body(text)) is not None}
    rejected = _unclean(list(bodies.values()))
    clean = {i: body for n, (i, body) in enumerate(bodies.items()) if n not in rejected}
    out: list[Columns | None] = [None] * len(texts)
    for i, parsed in zip(clean, _parse(list(clean.values())), strict=True):
        out[i] = parsed
    return out


def _body(text: bytes | None) -> bytes | None:
    """The lines after the header, each ending in a newline; None unless the header is
    exactly HEADER (read_price_csv allows spaces around names: such files go alone)."""
    if text is None:
        return None
    text = text.removeprefix(codecs.BOM_UTF8)
    head, _, body = text.partition(b"\n")
    if head != HEADER:
        return None
    return body if body.endswith(b"\n") or not body else body + b"\n"


def _unclean(bodies: list[bytes]) -> set[int]:
    """The positions of the bodies with a byte outside _PLAIN, or a line without as many
    commas as the header (a blank line included)."""
    buf = np.frombuffer(b"".join(bodies), dtype=np.uint8)
    ends = np.cumsum([len(b) for b in bodies])
    newlines = np.flatnonzero(buf == _NEWLINE)
    commas = np.searchsorted(np.flatnonzero(buf == _COMMA), newlines)
    bad_lines = newlines[np.diff(commas, prepend=0) != HEADER.count(b",")]
    bad = np.concatenate([np.flatnonzero(~_PLAIN[buf]), bad_lines])
    return set(np.searchsorted(ends, bad, side="right").tolist())


def _parse(bodies: list[bytes]) -> list[Columns | None]:
    """Parse the bodies at once; when a value does not parse, halve the batch until the
    files at fault stand alone (None)."""
    if not bodies:
        return []
    try:
        return _parse_all(bodies)
    except (ValueError, TypeError):
        if len(bodies) == 1:
            return [None]
        half = len(bodies) // 2
        return _parse(bodies[:half]) + _parse(bodies[half:])


def _parse_all(bodies: list[bytes]) -> list[Columns | None]:
    frame = pd.read_csv(
        io.BytesIO(HEADER + b"\n" + b"".join(bodies)),
        # Date as text even if every date in the batch looks like a number: it must fail
        # to parse below, as it does for read_price_csv, never become a count of seconds.
        dtype={"Date": "str", **{c: "float64" for c in BAR_COLUMNS}},
        keep_default_na=False,
        na_values=[""],
    )
    lines = np.array([b.count(b"\n") for b in bodies])
    if len(frame) != lines.sum():
        raise ValueError("not one row per line")
    dates = pd.to_datetime(frame["Date"], format="%Y-%m-%d", errors="coerce").to_numpy()
    missing = np.isnat(dates)
    days = day_numbers(np.where(missing, np.datetime64(0, "D"), dates))
    values = frame[list(BAR_COLUMNS)].to_numpy(dtype=np.float64)
    # A file with a date missing, or not after the one before it, goes alone:
    # read_price_csv decides (it sorts the rows, names a repeated date).
    first = np.zeros(len(frame), dtype=bool)
    starts = np.cumsum(lines) - lines
    first[starts[lines > 0]] = True
    faulty = missing | (~first & (np.diff(days, prepend=0) <= 0))
    ends = np.cumsum(lines)
    bad = set(np.searchsorted(ends, np.flatnonzero(faulty), side="right").tolist())
    return [
        None if i in bad else (days[lo:hi], values[lo:hi])
        for i, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True))
    ]
