"""Yahoo Finance answered locally, so the live path runs yfinance's own code in tests.

``Replay`` is a curl_cffi Session, the kind yfinance makes for itself; YahooSource hands
it to ``yf.download`` and ``yf.Ticker`` (their ``session=`` argument). Its ``request``
answers from the recorded Yahoo responses in ``../shared/data/yahoo`` (see its README),
filled with the snapshot's data up to ``until``, the day the "server" has reached:

  chart (v8/finance/chart)     the MSFT chart's shape and meta, the ticker's bars
  earnings calendar page       an HTML table as yfinance parses it, ending in the
                               page's blank row (a page with no releases has only that)
  quoteSummary (fund data)     the QQQ answer, its sector weights from IWM's holdings
  fc.yahoo.com, getcrumb       the cookie and crumb handshake

``fail(kind, ticker, status)`` scripts a fault (429, 404, 500, "blank" for an earnings
page with only its blank row, or "html", "empty", "truncated" for a chart answered with
an error page, nothing, or half its JSON); ``retry_after`` goes with every 429;
``throttle`` answers that share of chart requests 429 at random (seeded), ``latency``
delays every answer, and ``hook(n)`` runs before request number n; ``offline = True``
fails every request as curl does with no network. ``asked`` records every request.
``new_process()`` forgets what yfinance keeps in memory, as a new `recap` process would
(its caches on disk stay, as they do).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import http.cookiejar
import json
import math
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pandas as pd
from curl_cffi import requests as curl
from curl_cffi.requests.exceptions import DNSError

from recap.sources.yahoo import MORNINGSTAR_TO_GICS

NEW_YORK = ZoneInfo("America/New_York")
QUOTE = ("Open", "High", "Low", "Close", "Volume")
EARNINGS_HEAD = (
    "Symbol",
    "Company",
    "Earnings Date",
    "EPS Estimate",
    "Reported EPS",
    "Surprise (%)",
)
NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


def _recorded(yahoo_dir: Path, name: str) -> dict:
    return json.loads((yahoo_dir / name).read_text())["response"]


def _numbers(column: pd.Series) -> list[float | None]:
    """A column as JSON numbers, null where the snapshot has no value."""
    return column.astype(object).where(column.notna(), None).tolist()


@functools.lru_cache(maxsize=256)
def _prices(market_dir: Path, ticker: str) -> pd.DataFrame | None:
    path = market_dir / "prices" / f"{ticker}.csv"
    if not path.is_file():
        return None
    return pd.read_csv(path, index_col="Date", parse_dates=True)


def _day(epoch: str) -> pd.Timestamp:
    """yfinance's period bounds (midnight in New York, as epoch seconds) -> that date."""
    stamp = pd.Timestamp(int(epoch), unit="s", tz="UTC").tz_convert(NEW_YORK)
    return pd.Timestamp(stamp.date())


def _earnings_row(r, until: dt.date) -> list[str]:
    day = dt.date.fromisoformat(r.date)
    hour = int(r.time.split(":")[0]) if isinstance(r.time, str) else 0
    when = dt.datetime.combine(day, dt.time(hour), NEW_YORK)
    released = day <= until

    def figure(value: float, fmt: str, known: bool = True) -> str:
        return "-" if not known or math.isnan(value) else format(value, fmt)

    return [
        r.ticker,
        f"{r.ticker} Inc.",
        when.strftime("%B %-d, %Y at %-I %p ") + when.tzname(),
        figure(r.eps_estimate, ".2f"),
        figure(r.eps_actual, ".2f", released),
        figure(r.surprise_pct, "+.2f", released),
    ]


class Replay(curl.Session):
    """Yahoo's HTTP API, answered from the recordings and the snapshot (module docstring)."""

    def __init__(self, market_dir: Path, yahoo_dir: Path, until: dt.date) -> None:
        super().__init__()
        self.market_dir = market_dir
        self.until = until
        self.offline = False
        self.retry_after: str | None = None
        self.throttle = 0.0
        self.latency = 0.0
        self.hook: Callable[[int], None] | None = None
        self._random = random.Random(42)
        self.asked: list[tuple[str, str, dict[str, str]]] = []
        self._faults: dict[tuple[str, str], tuple[int | str, int | None]] = {}
        self._lock = threading.Lock()
        chart = _recorded(yahoo_dir, "nyf2-chart-MSFT-dividends.json")["bodyJson"]
        self._meta = chart["chart"]["result"][0]["meta"]
        self._crumb = _recorded(yahoo_dir, "nyf2-getcrumb.json")["bodyText"]
        self._fund = _recorded(yahoo_dir, "nyf2-quoteSummary-all-QQQ.json")["bodyJson"]
        self._earnings = pd.read_csv(market_dir / "earnings.csv", dtype={"time": str})

    # -- scripting -------------------------------------------------------------------

    def fail(self, kind: str, ticker: str, status: int | str, times: int | None = None) -> None:
        """Answer ``kind`` ('chart', 'earnings', 'fund') for ``ticker`` ('*': any) with
        ``status`` the next ``times`` times (None: until told otherwise)."""
        self._faults[(kind, ticker)] = (status, times)

    def heal(self) -> None:
        """Every fault cleared."""
        self._faults.clear()

    def count(self, kind: str, ticker: str | None = None) -> int:
        """How many requests of ``kind`` (for ``ticker``) were made."""
        return sum(1 for k, t, _ in self.asked if k == kind and ticker in (None, t))

    def _fault(self, kind: str, ticker: str) -> int | str | None:
        with self._lock:
            for key in ((kind, ticker), (kind, "*")):
                if key in self._faults:
                    status, times = self._faults[key]
                    if times is not None:
                        if times <= 1:
                            del self._faults[key]
                        else:
                            self._faults[key] = (status, times - 1)
                    return status
        return None

    # -- the transport ---------------------------------------------------------------

    def request(self, method, url, params=None, **kwargs):
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        query.update({k: str(v) for k, v in (params or {}).items()})
        kind, ticker = self._route(parts.netloc, parts.path, query)
        with self._lock:
            self.asked.append((kind, ticker, query))
            number = len(self.asked)
            limited = kind == "chart" and self._random.random() < self.throttle
        if self.hook is not None:
            self.hook(number)
        if self.latency:
            time.sleep(self.latency)
        if self.offline:
            raise DNSError(f"Failed to perform, curl: (6) Could not resolve host: {parts.netloc}")
        fault = 429 if limited else self._fault(kind, ticker)
        if fault == 429:
            answer = self._answer(url, 429, "Too Many Requests\r\n", "text/plain")
            if self.retry_after is not None:
                answer.headers["Retry-After"] = self.retry_after
            return answer
        if fault == "html":
            return self._answer(
                url, 200, "<!DOCTYPE html><html>Will be right back</html>", "text/html"
            )
        if fault == "empty":
            return self._answer(url, 200, "")
        if fault == "truncated":
            whole = self._chart(url, ticker, query).content
            return self._answer(url, 200, whole[: len(whole) // 2].decode())
        if fault == 404 and kind == "chart":
            return self._answer(url, 404, json.dumps(NOT_FOUND))
        if isinstance(fault, int):
            return self._answer(url, fault, f"<html><body>Error {fault}</body></html>", "text/html")
        if kind == "cookie":
            self._set_cookie()
            return self._answer(url, 200, "<html><body></body></html>", "text/html")
        if kind == "crumb":
            return self._answer(url, 200, self._crumb, "text/plain")
        if kind == "chart":
            return self._chart(url, ticker, query)
        if kind == "earnings":
            page = self._earnings_page(ticker, int(query["size"]), blank=fault == "blank")
            return self._answer(url, 200, page, "text/html")
        if kind == "fund" and (self.market_dir / "holdings" / f"{ticker}.csv").is_file():
            return self._answer(url, 200, json.dumps(self._fund_answer(ticker)))
        return self._answer(url, 404, "{}")

    def _set_cookie(self) -> None:
        """Yahoo's A3 cookie in the session's jar, as a real fc.yahoo.com answer leaves it:
        yfinance keeps it and stops asking (without it, it asks before every request)."""
        expires = int(time.time()) + 365 * 86400
        cookie = http.cookiejar.Cookie(
            0, "A3", "d=replay", None, False, ".yahoo.com", True, True, "/", True, True,
            expires, False, None, None, {},
        )  # fmt: skip
        self.cookies.jar.set_cookie(cookie)

    @staticmethod
    def _route(host: str, path: str, query: dict[str, str]) -> tuple[str, str]:
        if host in ("fc.yahoo.com", "guce.yahoo.com"):
            return "cookie", ""
        if path.endswith("/getcrumb"):
            return "crumb", ""
        if "/v8/finance/chart/" in path:
            return "chart", path.rsplit("/", 1)[-1]
        if path == "/calendar/earnings":
            return "earnings", query.get("symbol", "")
        if "/quoteSummary/" in path:
            return "fund", path.rsplit("/", 1)[-1]
        return "other", path

    @staticmethod
    def _answer(url: str, status: int, body: str, kind: str = "application/json") -> curl.Response:
        response = curl.Response()
        response.url = url
        response.status_code = status
        response.ok = status < 400
        response.reason = "OK" if status < 400 else "Error"
        response.headers["content-type"] = f"{kind};charset=utf-8"
        response.content = body.encode()
        return response

    # -- answers ---------------------------------------------------------------------

    def _bars(self, ticker: str) -> pd.DataFrame | None:
        frame = _prices(self.market_dir, ticker)
        return None if frame is None else frame.loc[frame.index <= pd.Timestamp(self.until)]

    def _chart(self, url: str, ticker: str, query: dict[str, str]) -> curl.Response:
        bars = self._bars(ticker)
        if bars is None or bars.empty:
            return self._answer(url, 404, json.dumps(NOT_FOUND))
        if "period1" in query:
            first, after = (_day(query[k]) for k in ("period1", "period2"))
            bars = bars.loc[(bars.index >= first) & (bars.index < after)]
        else:  # range=1d: yfinance only wants the meta (the ticker's time zone)
            bars = bars.iloc[-1:]
        opens = (bars.index + pd.Timedelta(hours=9, minutes=30)).tz_localize(NEW_YORK)
        meta = copy.deepcopy(self._meta)
        kind = "INDEX" if ticker.startswith("^") else "ETF"
        meta.update(symbol=ticker, instrumentType=kind)
        column = {name.lower(): _numbers(bars[name]) for name in QUOTE}
        result = {
            "meta": meta,
            "timestamp": (opens.as_unit("s").asi8).tolist(),
            "indicators": {
                "quote": [column],
                "adjclose": [{"adjclose": _numbers(bars["Adj Close"])}],
            },
        }
        return self._answer(url, 200, json.dumps({"chart": {"result": [result], "error": None}}))

    def _earnings_page(self, ticker: str, size: int, *, blank: bool) -> str:
        """The calendar page's table: newest first, '-' where a figure is missing or not
        released yet, the release time to the hour as Yahoo prints it, and the page's
        trailing blank row (all a page holds for a ticker without releases)."""
        rows = self._earnings.loc[self._earnings["ticker"] == ticker].iloc[::-1][:size]
        cells = [] if blank else [_earnings_row(r, self.until) for r in rows.itertuples()]
        cells.append([""] * 6)
        head = "".join(f"<th>{h}</th>" for h in EARNINGS_HEAD)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)
        return f"<html><body><table><tr>{head}</tr>{body}</table></body></html>"

    def _fund_answer(self, ticker: str) -> dict:
        from recap.sources.holdings import read_holdings

        answer = copy.deepcopy(self._fund)
        result = answer["quoteSummary"]["result"][0]
        result["quoteType"]["symbol"] = ticker
        holdings = read_holdings(self.market_dir / "holdings" / f"{ticker}.csv")
        morningstar = {gics: key for key, gics in MORNINGSTAR_TO_GICS.items()}
        result["topHoldings"]["sectorWeightings"] = [
            {morningstar[sector]: weight}
            for sector, weight in holdings.sector_weights
            if sector in morningstar
        ]
        return answer


def new_process() -> None:
    """Forget what yfinance keeps in memory (cookie, crumb, cached answers), as the next
    `recap` process starts without it."""
    from yfinance import cache
    from yfinance.data import SingletonMeta

    SingletonMeta._instances.clear()
    # Its time-zone cache binds to the folder of its first use: a new process binds anew.
    cache._TzCacheManager._tz_cache = None
