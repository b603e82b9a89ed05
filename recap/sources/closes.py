"""Wide frames of closes from whichever source the build uses: the ~60 tickers of the
report, and the ~2,000 constituents of the small-cap index.

A snapshot answers from its columnar cache (SnapshotSource.fetch_closes). Any other
source (Yahoo through the store, the store alone) gets the tickers in chunks through
its ordinary ``fetch_bars``, so the store's batching and caching apply: a first run
fetches the constituents with a progress bar on the terminal, later runs only the days
the store lacks.
"""

from __future__ import annotations

import datetime as dt
import sys

import pandas as pd

from recap.sources.base import PriceSource, closes_frame

CHUNK = 250  # tickers per fetch_bars call: a progress step, and the store's unit of work


def fetch_closes(
    source: PriceSource,
    tickers: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    *,
    progress: bool | None = False,
) -> pd.DataFrame:
    """Wide frame of closes in [start, end], one column per ticker that has any.

    ``progress``: True shows a bar on stderr, False hides it, None shows it on a terminal.
    """
    wanted = tuple(t for t in dict.fromkeys(tickers) if t)
    fast = getattr(source, "fetch_closes", None)
    if fast is not None:
        frame: pd.DataFrame = fast(wanted, start, end)
        return frame.loc[:, frame.notna().any()]
    from tqdm import tqdm

    chunks = [wanted[i : i + CHUNK] for i in range(0, len(wanted), CHUNK)]
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    parts: list[pd.DataFrame] = []
    with tqdm(
        total=len(wanted), unit="ticker", desc="constituents", file=sys.stderr, disable=disable
    ) as bar:
        for chunk in chunks:
            parts.append(closes_frame(source.fetch_bars(chunk, start, end)))
            bar.update(len(chunk))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="Date"))
    return pd.concat(parts, axis=1, sort=True)
