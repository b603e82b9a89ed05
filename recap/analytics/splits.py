"""Splits a source missed, found in the closes and repaired where certain (pure).

A one-day move near a split ratio (2, 3, 4, 5, 8, 10, 20 or their inverses) whose new
level holds over the next sessions is a split candidate. What else can show a split:

- ``volume``: the session's volume near the ratio times the usual (where volume exists);
- ``range``: the close outside that day's high-low range (a source that missed a split
  divides the close and leaves open, high, low and volume as they were);
- ``holdings``: the index fund's share count of the stock multiplied by the ratio
  between two holdings files around the date (beyond the fund's own flows);
- ``event``: the source's own split events (Yahoo's ``actions``, when live);
- ``declared``: a ``[data] splits`` entry.

A candidate with one of them is certain and repaired: prices before it are divided by the
ratio (volume multiplied). One without is a possible split: the series is left out where
a figure would span it. A halving or a doubling alone is never a candidate: small caps
halve on a failed trial and double on a buyout every few weeks (scripts/check_prices.py
lists them), and share counts that did not move rule a split out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recap.analytics.quality import _previous
from recap.formatting import long_date
from recap.model import PriceFlag, SplitEvent

if TYPE_CHECKING:
    from recap.sources.holdings import HoldingsFile

SPLIT_RATIOS = (2, 3, 4, 5, 8, 10, 20)
# |log(move) + log(ratio)| allowed: with a second sign, the day's own move on top of the
# ratio (KLA fell 9.47% on its 10-for-1 day: 0.10); with none, only a near-exact ratio.
TOLERANCE = 0.12
EXACT_TOLERANCE = 0.05
UNCONFIRMED_MIN_RATIO = 3  # a halving or a doubling alone is a real move (see above)
HOLD_SESSIONS = 3  # sessions after (and before) the step that must stay near its level
SETTLED = 0.5  # ... within this share of the step (in log terms)
RANGE_SLACK = 0.01  # a close more than 1% outside its day's high-low range
VOLUME_SESSIONS = 20
VOLUME_SHARE = 0.5  # volume moved by at least half the ratio (in log terms)
HOLDINGS_TOLERANCE = 0.12  # share count's log change, net of the fund's, near log(ratio)
HOLDINGS_STILL = 0.25  # ... or within this of none: the holdings rule a split out
EVENT_DAYS = 5  # a source's split event this close to the move's date
EVENT_TOLERANCE = 0.05

# A split the source already adjusted for needs nothing; one it missed moves the close by
# the ratio the other way: close / previous = 1 / ratio.

Changes = Mapping[str, Sequence[tuple[dt.date, dt.date, float]]]
Events = Mapping[str, Sequence[tuple[dt.date, float]]]


def share_changes(
    files: Sequence[HoldingsFile],
) -> dict[str, tuple[tuple[dt.date, dt.date, float], ...]]:
    """ticker -> ((from, to, log change), ...): each stock's share count between
    consecutive holdings files, net of the fund's median change (its flows)."""
    key = tuple((f.source, f.as_of, id(f)) for f in files)
    if key in _CHANGES:
        return _CHANGES[key]
    out: dict[str, list[tuple[dt.date, dt.date, float]]] = {}
    for old, new in zip(files, files[1:], strict=False):
        if "shares" not in old.table or "shares" not in new.table:
            continue
        a = old.table.loc[old.table["ticker"] != ""].set_index("ticker")["shares"]
        b = new.table.loc[new.table["ticker"] != ""].set_index("ticker")["shares"]
        both = pd.concat([a, b], axis=1, join="inner").dropna()
        both = both.loc[(both.iloc[:, 0] > 0) & (both.iloc[:, 1] > 0)]
        if both.empty:
            continue
        change = np.log(both.iloc[:, 1].to_numpy() / both.iloc[:, 0].to_numpy())
        net = change - float(np.median(change))
        for ticker, value in zip(both.index.tolist(), net.tolist(), strict=True):
            out.setdefault(str(ticker), []).append((old.as_of, new.as_of, value))
    result = {t: tuple(v) for t, v in out.items()}
    _CHANGES.clear()  # one set of files at a time: a backfill reads the same ones
    _CHANGES[key] = result
    return result


_CHANGES: dict[
    tuple[tuple[str, dt.date, int], ...], dict[str, tuple[tuple[dt.date, dt.date, float], ...]]
] = {}


def _nearest(move: float) -> tuple[float, float]:
    """(ratio, distance): the split ratio a log move is nearest, signed as a ratio (a drop
    to a tenth: 10.0; a rise to five times: 0.2), and how far from it."""
    best = min(SPLIT_RATIOS, key=lambda f: abs(abs(move) - math.log(f)))
    return (float(best) if move < 0 else 1.0 / best), abs(abs(move) - math.log(best))


def _later(column: np.ndarray, row: int) -> np.ndarray:
    rest: np.ndarray = column[row + 1 :]
    later: np.ndarray = rest[~np.isnan(rest)][:HOLD_SESSIONS]
    return later


def _holds(column: np.ndarray, row: int, before: float) -> bool:
    """A step from one settled level to another: the next closes stay near the new level
    (none yet: not undone either) and the closes before stood near the old one, each
    within half the step. A bad print and its way back are not steps; nor is a stock
    already falling apart (Triller: 6.22, 3.70, 0.99, 0.32 over three sessions)."""
    new = column[row]
    half = SETTLED * abs(math.log(new / before))
    later = _later(column, row)
    earlier = column[:row][~np.isnan(column[:row])][-HOLD_SESSIONS - 1 : -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        held = np.all(np.abs(np.log(later / new)) <= half)
        stood = np.all(np.abs(np.log(earlier / before)) <= half)
    return bool(held and stood)


def _bar_evidence(bar: pd.DataFrame | None, day: pd.Timestamp, ratio: float) -> list[str]:
    """'volume' and 'range' where the source's bar for the day shows the split."""
    if bar is None or day not in bar.index:
        return []
    out = []
    at = int(bar.index.get_loc(day))  # type: ignore[arg-type]
    row = bar.iloc[at]
    if "Volume" in bar:
        usual = bar["Volume"].iloc[max(0, at - VOLUME_SESSIONS) : at]
        usual = usual.loc[usual > 0]
        volume = float(row["Volume"])
        if len(usual) >= 5 and volume > 0:
            times = math.log(volume / float(usual.median()))
            if times * math.copysign(1, math.log(ratio)) >= VOLUME_SHARE * abs(math.log(ratio)):
                out.append("volume")
    close = float(row["Close"])
    high = float(row["High"]) if "High" in bar else math.nan
    low = float(row["Low"]) if "Low" in bar else math.nan
    if not (math.isnan(high) or math.isnan(low)) and (
        close > high * (1 + RANGE_SLACK) or close < low * (1 - RANGE_SLACK)
    ):
        out.append("range")
    return out


def _holdings_say(
    changes: Sequence[tuple[dt.date, dt.date, float]], day: dt.date, ratio: float
) -> str:
    """'split' when the share count moved by the ratio across the date, 'none' when it
    did not move, '' when no two files bracket the date."""
    for start, end, change in changes:
        if start < day <= end:
            if abs(change - math.log(ratio)) <= HOLDINGS_TOLERANCE:
                return "split"
            return "none" if abs(change) <= HOLDINGS_STILL else ""
    return ""


def _event(events: Sequence[tuple[dt.date, float]], day: dt.date, ratio: float) -> bool:
    return any(
        abs((when - day).days) <= EVENT_DAYS
        and r > 0
        and abs(math.log(r) - math.log(ratio)) <= EVENT_TOLERANCE
        for when, r in events
    )


def _near_a_ratio(smallest: float, declared: Events) -> Callable[[float], bool]:
    """A quick test of a log move: within TOLERANCE of some split ratio's log."""
    logs = [math.log(f) for f in SPLIT_RATIOS]

    def near(move: float) -> bool:
        size = abs(move)
        return size >= smallest and any(abs(size - k) <= TOLERANCE for k in logs)

    return near


def _blocks(frame: pd.DataFrame) -> Iterable[tuple[list[str], pd.DatetimeIndex, np.ndarray]]:
    """(columns, dates, closes) groups of ``frame``'s columns by where their history
    starts, each from its own first row: a few ETFs' three decades do not make every
    other series three decades long (quality._chunks' rule, without its frames)."""
    matrix = frame.to_numpy(dtype="float64")
    present = ~np.isnan(matrix)
    held = np.flatnonzero(present.any(axis=0))
    if not len(held):
        return
    starts = present.argmax(axis=0)
    order = held[np.argsort(starts[held], kind="stable")].tolist()
    groups: list[list[int]] = []
    for column in order:
        if not groups or starts[column] - starts[groups[-1][0]] > _SLACK_ROWS:
            groups.append([column])
        else:
            groups[-1].append(column)
    labels = [str(c) for c in frame.columns.tolist()]
    for group in groups:
        first = int(starts[group[0]])
        block = matrix[first:, group] if len(group) < len(labels) else matrix[first:]
        yield [labels[i] for i in group], pd.DatetimeIndex(frame.index[first:]), block


_SLACK_ROWS = 260  # a column starting a year later than its group starts a new one


def find_splits(
    closes: pd.DataFrame,
    *,
    bars: Mapping[str, pd.DataFrame] | None = None,
    changes: Changes | None = None,
    events: Events | None = None,
    declared: Events | None = None,
    skip: Collection[str] = (),
) -> tuple[SplitEvent, ...]:
    """Every split candidate in ``closes`` (one column per ticker), oldest first per
    ticker: certain ones (``repaired``) with their evidence, and possible ones.

    ``bars``: the source's bars (Volume, High, Low) where it has them; ``changes``: share
    counts between holdings files (``share_changes``); ``events``: the source's split
    events, ticker -> ((date, ratio), ...); ``declared``: [data] splits, the same shape;
    ``skip``: series that cannot split (index levels)."""
    names = [str(c) for c in closes.columns.tolist()]
    keep = [n for n in names if n not in skip and not n.startswith("^")]
    if closes.empty or not keep:
        return ()
    declared = declared or {}
    smallest = math.log(2) - TOLERANCE
    for ratios in declared.values():
        smallest = min([smallest, *(abs(math.log(r)) - TOLERANCE for _, r in ratios)])
    found: list[SplitEvent] = []
    frame = closes if len(keep) == len(names) else closes.loc[:, keep]
    near = _near_a_ratio(smallest, declared)
    for columns, rows, matrix in _blocks(frame):
        prev = _previous(matrix)
        # Compared as ratios, the log taken only where one is big.
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = matrix / prev
        big = (ratio >= math.exp(smallest)) | ((ratio <= math.exp(-smallest)) & (ratio > 0))
        big &= np.isfinite(ratio)  # NaN and a close that is no price (flagged elsewhere)
        for r, c in zip(*np.nonzero(big), strict=True):
            ticker = columns[c]
            move = math.log(float(ratio[r, c]))
            if ticker not in declared and not near(move):
                continue  # most big moves of small caps are nowhere near a ratio
            event = _judge(
                ticker,
                rows[r],
                move,
                bars=(bars or {}).get(ticker),
                changes=(changes or {}).get(ticker, ()),
                events=(events or {}).get(ticker, ()),
                declared=declared.get(ticker, ()),
            )
            if event is not None and _holds(matrix[:, c], int(r), float(prev[r, c])):
                found.append(event)
    return tuple(sorted(found, key=lambda e: (e.ticker, e.date)))


def _judge(
    ticker: str,
    day: pd.Timestamp,
    move: float,
    *,
    bars: pd.DataFrame | None,
    changes: Sequence[tuple[dt.date, dt.date, float]],
    events: Sequence[tuple[dt.date, float]],
    declared: Sequence[tuple[dt.date, float]],
) -> SplitEvent | None:
    """The split a one-day log ``move`` may be, or None."""
    date = day.date()
    mine = [r for d, r in declared if d == date]
    if mine:
        ratio, distance = mine[0], abs(move + math.log(mine[0]))
        if distance > TOLERANCE:
            return None  # declared, but the closes do not show it: already adjusted
        evidence = ["declared"]
    else:
        ratio, distance = _nearest(move)
        if distance > TOLERANCE:
            return None
        evidence = []
    evidence += _bar_evidence(bars, day, ratio)
    holdings = _holdings_say(changes, date, ratio)
    if holdings == "split":
        evidence.append("holdings")
    if _event(events, date, ratio):
        evidence.append("event")
    if not evidence:
        big_enough = max(ratio, 1 / ratio) >= UNCONFIRMED_MIN_RATIO - 1e-9
        if distance > EXACT_TOLERANCE or not big_enough or holdings == "none":
            return None
    certain = bool(evidence) and (holdings != "none" or "declared" in evidence)
    return SplitEvent(
        ticker=ticker,
        date=date,
        ratio=ratio,
        move=math.expm1(move),
        repaired=certain,
        evidence=tuple(evidence),
    )


def unless_accepted(
    found: Iterable[SplitEvent], accept: Collection[tuple[str, dt.date | None]]
) -> tuple[SplitEvent, ...]:
    """``found`` less the possible splits [data] accept calls real moves ("TICKER:DATE",
    or "TICKER" for all): those are neither left out nor cut."""
    return tuple(
        s
        for s in found
        if s.repaired or ((s.ticker, s.date) not in accept and (s.ticker, None) not in accept)
    )


def repair_closes(closes: pd.DataFrame, splits: Iterable[SplitEvent]) -> pd.DataFrame:
    """``closes`` with each certain split's earlier closes divided by its ratio, in one
    block (see quality.without)."""
    certain = [s for s in splits if s.repaired and s.ticker in closes.columns]
    if not certain:
        return closes
    matrix = closes.to_numpy(dtype="float64", copy=True)
    for s in certain:
        column = closes.columns.get_loc(s.ticker)
        before = closes.index < pd.Timestamp(s.date)
        matrix[before, column] /= s.ratio
    return pd.DataFrame(matrix, index=closes.index, columns=closes.columns)


def repair_bars(
    bars: Mapping[str, pd.DataFrame], splits: Iterable[SplitEvent]
) -> dict[str, pd.DataFrame]:
    """The bars with each certain split repaired: earlier prices divided by the ratio and
    volume multiplied; a later day whose high-low range the source left at the old scale
    (the close outside it, the close times the ratio inside) is put on the new scale."""
    out = dict(bars)
    for s in splits:
        if not s.repaired or s.ticker not in out:
            continue
        bar = out[s.ticker].copy()
        before = bar.index < pd.Timestamp(s.date)
        prices = [c for c in ("Open", "High", "Low", "Close", "Adj Close") if c in bar]
        bar.loc[before, prices] = bar.loc[before, prices] / s.ratio
        if "Volume" in bar:
            bar.loc[before, "Volume"] = bar.loc[before, "Volume"] * s.ratio
        if {"High", "Low"} <= set(bar.columns):
            close, high, low = bar["Close"], bar["High"], bar["Low"]
            outside = (close > high * (1 + RANGE_SLACK)) | (close < low * (1 - RANGE_SLACK))
            scaled = close * s.ratio
            old_scale = (scaled <= high * (1 + RANGE_SLACK)) & (scaled >= low * (1 - RANGE_SLACK))
            wrong = ~before & outside & old_scale
            if wrong.any():
                ohl = [c for c in ("Open", "High", "Low") if c in bar]
                bar.loc[wrong, ohl] = bar.loc[wrong, ohl] / s.ratio
        out[s.ticker] = bar
    return out


def before_possible(
    closes: pd.DataFrame, splits: Iterable[SplitEvent], until: dt.date
) -> pd.DataFrame:
    """``closes`` without the closes before each possible split dated ``until`` or
    earlier: a later week's returns are clean, a figure reaching back across it is not."""
    cut = [s for s in splits if not s.repaired and s.date <= until and s.ticker in closes]
    if not cut:
        return closes
    matrix = closes.to_numpy(dtype="float64", copy=True)
    for s in cut:
        matrix[closes.index < pd.Timestamp(s.date), closes.columns.get_loc(s.ticker)] = np.nan
    return pd.DataFrame(matrix, index=closes.index, columns=closes.columns)


def possible_flags(splits: Iterable[SplitEvent], after: dt.date) -> tuple[PriceFlag, ...]:
    """A price flag for each possible split dated after ``after`` (the week's base date):
    a figure of the week would span it, so the series is left out."""
    return tuple(
        PriceFlag(
            ticker=s.ticker,
            date=s.date,
            kind="split",
            reason=(
                f"the close moved {s.move * 100:+.1f}% in a day, about {ratio_words(s.ratio)} "
                "and holding, with no second sign of a split: a possible split"
            ),
        )
        for s in splits
        if not s.repaired and s.date > after
    )


def ratio_words(ratio: float) -> str:
    """10.0 -> '10-for-1'; 0.2 -> '1-for-5'; 1.5 -> '3-for-2'."""
    big = max(ratio, 1 / ratio)
    for den in range(1, 11):
        num = big * den
        if abs(num - round(num)) < 1e-6:
            a, b = int(round(num)), den
            return f"{a}-for-{b}" if ratio > 1 else f"{b}-for-{a}"
    return f"{ratio:g}-for-1"


def repair_note(split: SplitEvent, label: str) -> str:
    """'KLA: 10-for-1 split on June 5, 2026; earlier prices adjusted' (no full stop)."""
    kind = "reverse split" if split.ratio < 1 else "split"
    return (
        f"{label}: {ratio_words(split.ratio)} {kind} on {long_date(split.date)}; "
        "earlier prices adjusted"
    )


def ratio_entry(ratio: float) -> str:
    """The RATIO of a [data] splits entry: 10.0 -> '10'; 0.2 -> '1/5'; 1.5 -> '3/2'."""
    words = ratio_words(ratio)
    a, _, b = words.partition("-for-")
    return a if b == "1" else f"{a}/{b}"


def split_fit(move: float) -> float | None:
    """The split ratio a one-day fractional move fits (within TOLERANCE), or None:
    -0.9 -> 10.0, +4.0 -> 0.2."""
    if not math.isfinite(move) or move <= -1:
        return None
    ratio, distance = _nearest(math.log1p(move))
    return ratio if distance <= TOLERANCE else None


__all__ = [
    "SPLIT_RATIOS",
    "before_possible",
    "find_splits",
    "possible_flags",
    "ratio_entry",
    "ratio_words",
    "repair_bars",
    "repair_closes",
    "repair_note",
    "share_changes",
    "split_fit",
    "unless_accepted",
]
