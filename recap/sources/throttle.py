"""Honouring Yahoo's Retry-After: a 429 that says when to come back is asked again then.

yfinance turns a 429 into an error without reading its headers, and recap's own retry
(one backoff for a whole chunk of tickers) cannot see them either. So the wait the
server names is honoured where the answer arrives, in the HTTP session yfinance is
handed: ``honour_retry_after`` wraps the session's ``request`` (which its ``get`` and
``post`` call), one request asked again, the other requests in flight left alone. A 429
without the header, or naming a wait longer than ``cap``, goes back to yfinance as it
came: recap's chunk-level backoff deals with it.

The same wrapper notes what each chart request got (``ChartAnswers``): yfinance reports
a ticker whose chart request failed (no network, an HTML error page, an empty or cut-off
body) as "possibly delisted", the words it uses for a ticker Yahoo does not carry. Only
Yahoo's own "not found" is taken as that; anything else is a failure, named as such.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

TOO_MANY_REQUESTS = 429


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date, RFC 9110
    10.2.3); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


class RetryAfterStats:
    """How many 429s were answered with a wait, and the seconds waited (for logs and tests)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        """Record one wait."""
        with self._lock:
            self.waits.append(seconds)


CARRIED = "ok"
NOT_CARRIED = "not found"


def chart_symbol(url: object) -> str | None:
    """The ticker of a chart request's URL (/v8/finance/chart/<symbol>), else None."""
    path = urlsplit(str(url)).path
    if "/finance/chart/" not in path:
        return None
    return unquote(path.rsplit("/", 1)[-1]).upper() or None


def chart_verdict(status: int, body: bytes) -> str:
    """What a chart answer means: CARRIED, NOT_CARRIED (Yahoo's own 404 or error), or
    a short reason the answer was no answer."""
    if status == TOO_MANY_REQUESTS:
        return "rate limited"
    if not body.strip():
        return f"HTTP {status} with an empty body"
    try:
        doc = json.loads(body)
    except ValueError:
        head = body.lstrip()[:15].lower()
        if head.startswith((b"<!doctype", b"<html")):
            return f"HTTP {status} with an HTML page instead of data"
        return f"HTTP {status} with an unreadable body"
    chart = doc.get("chart") if isinstance(doc, dict) else None
    if not isinstance(chart, dict):
        return f"HTTP {status} with an unreadable body"
    if chart.get("error") or status == 404:
        return NOT_CARRIED
    if status >= 400:
        return f"HTTP {status}"
    return CARRIED


class ChartAnswers:
    """The verdict of the latest chart answer per ticker (thread-safe: yfinance's
    threads share one session)."""

    def __init__(self) -> None:
        self._verdicts: dict[str, str] = {}
        self._lock = threading.Lock()

    def note(self, symbol: str, verdict: str) -> None:
        """Record ``symbol``'s latest verdict."""
        with self._lock:
            self._verdicts[symbol] = verdict

    def failure(self, ticker: str) -> str | None:
        """Why ``ticker``'s latest chart request got no real answer; None when it got
        one (data, or Yahoo's "not found") or was never asked."""
        verdict = self._verdicts.get(ticker.upper())
        return None if verdict in (None, CARRIED, NOT_CARRIED) else verdict


def honour_retry_after(
    session: Any,
    *,
    retries: int,
    cap: float,
    sleep: Callable[[float], None] = time.sleep,
    stats: RetryAfterStats | None = None,
    answers: ChartAnswers | None = None,
) -> Any:
    """``session`` with its ``request`` asking again, up to ``retries`` times, after a 429
    whose Retry-After names a wait of at most ``cap`` seconds. Returns the same session."""
    if getattr(session, "_recap_retry_after", False):
        return session  # already wrapped (a test's session handed in twice)
    inner = session.request

    def request(method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        symbol = chart_symbol(url) if answers is not None else None
        for attempt in range(max(0, retries) + 1):
            try:
                response = inner(method, url, *args, **kwargs)
            except Exception:  # noqa: BLE001 - noted, then raised as it came
                if symbol is not None and answers is not None:
                    answers.note(symbol, "Yahoo Finance could not be reached")
                raise
            if symbol is not None and answers is not None:
                status = int(getattr(response, "status_code", 0) or 0)
                answers.note(symbol, chart_verdict(status, bytes(response.content or b"")))
            if getattr(response, "status_code", None) != TOO_MANY_REQUESTS or attempt == retries:
                return response
            headers = getattr(response, "headers", None) or {}
            wait = retry_after_seconds(headers.get("Retry-After"))
            if wait is None or wait > cap:
                return response
            logger.info("Yahoo Finance: 429, Retry-After %.1f s; asking again", wait)
            if stats is not None:
                stats.add(wait)
            sleep(wait)
        return response

    session.request = request
    session._recap_retry_after = True
    return session


__all__ = [
    "ChartAnswers",
    "RetryAfterStats",
    "chart_symbol",
    "chart_verdict",
    "honour_retry_after",
    "retry_after_seconds",
]
