"""The iShares holdings download: the CSV behind a fund page's "Detailed Holdings and
Analytics" link, stored by its as-of date so that a history of holdings builds up.

Each run asks for the current file and saves it as ``<cache>/holdings/<ETF>-<as-of>.csv``
(replacing a file of the same date only when the text changed, atomically); the
attribution then reads every stored file, as it reads a snapshot's dated files. A
failed download (offline, a changed page) is a warning: the stored history is used.
The HTTP call is a seam (``get``) so tests hand in recorded bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from recap.config import RecapConfig
from recap.errors import DataError, SourceError
from recap.sources.holdings import (
    HoldingsFile,
    IndexHoldings,
    check_positions,
    parse_holdings,
    read_holdings_folder,
)

logger = logging.getLogger(__name__)

HttpGet = Callable[[str, float], bytes]
# iShares answers a script's default user agent with an error page.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) recap/0.1 (weekly market recap)"


def http_get(url: str, timeout: float) -> bytes:
    """The body of ``url``; SourceError naming the URL when it cannot be had."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (https URL from config)
            body: bytes = answer.read()
            return body
    except urllib.error.HTTPError as e:
        raise SourceError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SourceError(f"{url}: cannot be reached ({reason})", offline=True) from None


def holdings_folder(config: RecapConfig) -> Path:
    """Where downloaded holdings files are kept: <cache>/holdings/."""
    return config.cache_dir / "holdings"


def _write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text(encoding="utf-8-sig") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return True


def download_holdings(
    url: str, fund: str, folder: Path, *, timeout: float = 30.0, get: HttpGet = http_get
) -> tuple[HoldingsFile, Path]:
    """Fetch the fund's holdings file and store it by its as-of date.

    SourceError when the download fails, DataError when the answer is not a holdings
    file (an error page, a changed layout); nothing is stored then.
    """
    body = get(url, timeout)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{fund} holdings from {url}: not a UTF-8 text file") from None
    text = text.replace("\r\n", "\n")
    where = f"{fund} holdings from {url}"
    held = parse_holdings(text, where)
    stored = [f for f in read_holdings_folder(folder, fund) if f.as_of < held.as_of]
    check_positions(held, stored[-1] if stored else None, where)
    path = folder / f"{fund}-{held.as_of.isoformat()}.csv"
    if _write_if_changed(path, text):
        logger.info("saved %s holdings as of %s to %s", fund, held.as_of, path)
    return held, path


def refresh_holdings(
    config: RecapConfig, *, get: HttpGet | None = None, notes: list[str] | None = None
) -> IndexHoldings | None:
    """Download the current holdings into the cache folder, then every stored file;
    None when there are none at all. A failed download appends a data note to ``notes``
    saying so, and what the build uses instead."""
    c = config.contribution
    return refresh_fund(config, c.etf, c.holdings_url, c.timeout_seconds, get=get, notes=notes)


def refresh_fund(
    config: RecapConfig,
    fund: str,
    url: str,
    timeout: float,
    *,
    exact: bool = False,
    get: HttpGet | None = None,
    notes: list[str] | None = None,
) -> IndexHoldings | None:
    """refresh_holdings for any fund ([contribution]'s IWM, [sp500_attribution]'s IVV);
    ``exact``: weights from Market Value."""
    if not fund:
        return None
    folder = holdings_folder(config)
    failed: str | None = None
    if url:
        try:
            download_holdings(url, fund, folder, timeout=timeout, get=get or http_get)
        except (SourceError, DataError, OSError) as e:
            # The URL is long and in the config: the note keeps only what went wrong.
            failed = str(e).replace(f"{fund} holdings from {url}: ", "").replace(f"{url}: ", "")
    files = read_holdings_folder(folder, fund, exact=exact)
    if failed is not None:
        note = failed_download_note(fund, failed, files[-1].as_of if files else None)
        logger.warning("%s", note)
        if notes is not None:
            notes.append(note)
    return IndexHoldings(fund=fund, files=files) if files else None


def failed_download_note(fund: str, reason: str, stored: dt.date | None) -> str:
    """The data note of a failed holdings download: why, and what is used instead."""
    from recap.formatting import long_date

    said = f"The {fund} holdings file could not be downloaded from iShares ({reason})"
    if stored is None:
        return said + "; no earlier download is stored, so no stock-level figures use it."
    return said + f"; the latest stored file, of {long_date(stored)}, is used instead."
