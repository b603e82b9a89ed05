"""Helpers for the delivery tests: real weeks built once per process, tiny edge-case weeks.

Not a conftest (that file belongs to the data layer): the delivery test modules import
these and wrap them in their own fixtures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import io
import json
import socket
import threading
from email import policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

from tests._reference import CACHE_DIR, REFERENCE_WEEK, real_week
from tests._reference import NOW as NOW  # the clock of the delivery tests


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(tmp: Path, market_dir: Path | None = None, toml: str = "") -> Any:
    """A RecapConfig writing into ``tmp`` (out/, store.sqlite), with an optional TOML file."""
    from recap.config import read_config

    path = None
    if toml:
        path = tmp / "recap.toml"
        path.write_text(toml)
    overrides: dict[str, Any] = {"out_dir": tmp / "out", "store": tmp / "store.sqlite"}
    if market_dir is not None:
        overrides["data_dir"] = market_dir
        overrides["cache_dir"] = CACHE_DIR
    return read_config(path, overrides, cwd=tmp)


def built_files(
    market_dir: Path, week: dt.date = REFERENCE_WEEK, *, pdf: bool = True
) -> dict[str, bytes]:
    """A real week built from the snapshot, once per test process (tests/_reference.py):
    every format, or with ``pdf=False`` all but the PDF (for tests that never read it)."""
    return real_week(market_dir, week).files(pdf=pdf)


def write_built(out_dir: Path, market_dir: Path, week: dt.date = REFERENCE_WEEK) -> Path:
    """Write the real built week into OUT/<week-end>/ with output.write_week."""
    from recap import output
    from recap.weeks import week_containing

    return output.write_week(out_dir, week_containing(week).end, built_files(market_dir, week))


@cache
def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([1, 3, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def tiny_week(**data: Any) -> dict[str, bytes]:
    """A hand-made week folder for edge cases (sample data, stale data, bad HTML)."""
    facts = {
        "schema": 1,
        "week": {"start": "2026-01-12", "end": "2026-01-16", "sessions": 5},
        "generated_at": "2026-01-31T18:00:00+00:00",
        "data": {
            "source": "snapshot",
            "last_bar": "2026-01-16",
            "notes": [],
            "is_sample": False,
            **data,
        },
        "indexes": [
            {
                "name": "Russell 2000",
                "symbol": "IWM",
                "label": "Russell 2000 (IWM)",
                "close": 265.76,
                "week_return": 0.0213,
                "ytd_return": 0.05,
            }
        ],
        "headline": "Small Caps Lead",
        "dek": "The Russell 2000 beat the S&P 500.",
        "narrative": ["Small caps rose."],
        "narrative_sections": ["indexes"],
    }
    html = (
        "<html><head><style>td{color:#333}</style></head><body>"
        '<table width="600"><tr><td>Small Caps Lead</td></tr>'
        '<tr><td><img src="cid:indexes" width="560" alt="chart"></td></tr></table></body></html>'
    )
    return {
        "recap.json": json.dumps(facts).encode(),
        "recap.html": b"<!DOCTYPE html><html><body><h1>Small Caps Lead</h1></body></html>",
        "recap.pdf": b"%PDF-1.4\n%%EOF\n",
        "email.html": html.encode(),
        "email.txt": b"SMALL CAPS LEAD\n\nSmall caps rose.\n",
        "charts/indexes.png": _png(),
    }


UNSUB = "https://news.example.com/unsubscribe?email={email}"


class Inbox:
    """An aiosmtpd handler keeping every message it receives, with ways to misbehave.

    ``refuse``: 550 to RCPT. ``defer``: that many 451s to RCPT (math.inf: forever).
    ``cut``: close the connection at that RCPT, once (a connection lost before DATA).
    ``refuse_data``: 554 after DATA, message not kept. ``drop``: keep the message, then
    close the connection instead of answering 250 (the reply is lost). ``hold``: keep
    the message, set ``held`` and answer only once ``release`` is set (a stall, or the
    moment to kill the client); each address is held once.
    """

    def __init__(self) -> None:
        # Kept as received and parsed when a test reads them: most tests read few.
        self._received: list[tuple[list[str], bytes]] = []
        self._parsed: list[tuple[list[str], EmailMessage]] = []
        self.rcpts: list[str] = []  # every RCPT TO, in order, accepted or not
        self.refuse: set[str] = set()
        self.defer: dict[str, float] = {}  # recipient -> 4xx replies still to give
        self.cut: set[str] = set()
        self.refuse_data: set[str] = set()
        self.drop: set[str] = set()
        self.hold: set[str] = set()
        self.held = threading.Event()
        self.release = threading.Event()
        self.auth: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts.append(address)
        if address in self.cut:
            self.cut.discard(address)
            server.transport.close()
            return "421 4.4.2 closing"
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self.defer.get(address, 0) > 0:
            self.defer[address] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpts = list(envelope.rcpt_tos)
        if self.refuse_data & set(rcpts):
            return "554 5.7.1 message refused by policy"
        self._received.append((rcpts, envelope.content))
        if held := self.hold & set(rcpts):
            self.hold -= held
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        if self.drop & set(rcpts):
            server.transport.close()
        return "250 2.0.0 queued"

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        """(recipients, message) of every message kept, in the order received."""
        for rcpts, raw in self._received[len(self._parsed) :]:
            self._parsed.append((rcpts, email.message_from_bytes(raw, policy=policy.default)))
        return list(self._parsed)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


class Server:
    """A Controller on a free port; restartable on the same port and handler."""

    def __init__(self, inbox: Inbox, port: int, **kwargs) -> None:
        self.inbox, self.port, self.kwargs = inbox, port, kwargs
        self.controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, **self.kwargs
        )
        self.controller.start()

    def stop(self) -> None:
        self.inbox.release.set()  # a held DATA must not keep the server from stopping
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def smtp_toml(port: int, **extra: object) -> str:
    """An [email] section for the test server on ``port``. The PDF (about 0.9 MB, half of
    each message) is attached only where a test asks: attach_pdf="true"."""
    keys: dict[str, object] = {
        "host": '"127.0.0.1"',
        "port": port,
        "tls": '"none"',
        "from": '"recap@news.example.com"',
        "from_name": '"Weekly Market Recap"',
        "reply_to": '"editor@news.example.com"',
        "unsubscribe_url": f'"{UNSUB}"',
        "max_per_minute": 0,
        "retries": 2,
        "backoff_seconds": 0.0,
        "timeout_seconds": 5,
        "attach_pdf": "false",
    }
    keys.update(extra)
    return "[email]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())


def email_args(cfg: Any, subscribers_csv: Path, *extra: str) -> list[str]:
    """`recap email` arguments for the reference week, with ``cfg``'s files."""
    return [
        "email",
        "--week",
        REFERENCE_WEEK.isoformat(),
        "--to",
        str(subscribers_csv),
        "--config",
        str(cfg.sources[-1]),
        "--out",
        str(cfg.out_dir),
        "--store",
        str(cfg.store_path),
        *extra,
    ]


def statuses(store: Path, week: str = "2026-01-16") -> dict[str, str]:
    """recipient -> status, from the send log in ``store``."""
    from recap.delivery.ledger import DeliveryLog

    with DeliveryLog(store) as log:
        return {r.recipient: r.status for r in log.records(week)}


def subscribers(n: int) -> str:
    rows = ["email,name"] + [f"reader{i}@example.org,Reader {i}" for i in range(n)]
    return "\n".join(rows) + "\n"
