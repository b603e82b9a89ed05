"""Price checks run before anything is computed from the prices (pure, vectorised).

``check_prices`` looks at every close a build reads and returns what it finds
implausible, each as a PriceFlag naming ticker, date and reason:

- a close that is zero, negative or not finite;
- a bar on a day the exchange was shut;
- a session of the week (or its base date) without a close, between two closes;
- a stale close: the same close repeated over sessions, in a series that almost
  never closes unchanged;
- a bad print: a one-day move far outside the series' own daily range that is undone
  within two sessions;
- a missed split: a jump to about 2, 3, 4, 5 or 10 times (or a half, a third... of) the
  previous close, where the volume moved by the same factor the other way;
- a jump far beyond anything the series' own history makes plausible: over 40% on
  several times the usual volume, or many times the series' usual daily move.

``check_ranges`` flags a close outside its own day's high-low range (by over 1%), where
the source has a range. Splits are found and repaired before these checks run
(analytics/splits.py); the split flag here is left for one that does not hold.

The thresholds were tuned on the real snapshot (see README, "Price checks"): small caps
do move 50% on a trial result or double on a buyout, so a move alone never flags a
series with a wide daily range; a bad print undone the next day, a split that shows
in the volume, or an index that moves like a small biotech does.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recap.model import PriceFlag

# A series' usual daily move: the 75th percentile of |log return| over the window
# read, scaled to a standard deviation (a normal's |x| has its 75th percentile at 1.15
# sigma). Robust to the moves we look for and to series that often close unchanged.
_Q75_TO_SIGMA = 1.15
SIGMA_FLOOR = 0.002  # 0.2%: below this, a series is too still to judge moves by

# Bad print: a move far outside the series' daily range, undone within two sessions.
SPIKE_SIGMAS = 20.0
SPIKE_FLOOR = 0.15  # log move (about +16% / -14%)
SPIKE_UNDONE = 0.10  # back within a tenth of the move

# Missed split: the ratio, and the volume moving the other way by about as much.
SPLIT_FACTORS = (2.0, 3.0, 4.0, 5.0, 10.0)
SPLIT_TOLERANCE = 0.04  # |log(ratio / factor)|
SPLIT_VOLUME_SHARE = 0.5  # the volume moved by at least half the factor (in log terms)

# A jump beyond what the series' history makes plausible. Any series: over 40% on
# several times the usual volume. An index or fund: many of its usual daily moves.
VOLUME_MOVE = 0.40
VOLUME_TIMES = 3.0
VOLUME_SESSIONS = 20
FUND_SIGMAS = 25.0
FUND_FLOOR = 0.15  # log move

# Stale close: at least this many unchanged sessions in a row, in a series that closes
# unchanged on under 2% of its other sessions, and a run that series would show by
# chance less than once in 500 years of sessions (so about four of ~1,900 series a year).
STALE_MIN_REPEATS = 2
STALE_MAX_SHARE = 0.02
STALE_ODDS = 0.002
STALE_HORIZON = 252  # sessions: the odds are per year, whatever the window's length

_CHUNK_COLUMNS = 256  # columns checked together: bounds memory on ~2,000 series
_CHUNK_SLACK_ROWS = 260  # a column starting a year later than its group starts a new one


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.2f}"


def _chunks(closes: pd.DataFrame) -> Iterable[pd.DataFrame]:
    """Columns grouped by where their history starts, each group trimmed to its own
    rows, so a decade of index history does not make every stock a decade long."""
    # One conversion of the whole frame: per-column access costs ~45 ms on 2,000 columns.
    matrix = closes.to_numpy(dtype="float64")
    present = ~np.isnan(matrix)
    held = np.flatnonzero(present.any(axis=0))
    if not len(held):  # no closes at all (or no rows: argmax would raise)
        return
    starts = present.argmax(axis=0)
    # By start, and in the frame's order among equal starts (a stable sort).
    columns = held[np.argsort(starts[held], kind="stable")].tolist()
    groups: list[list[int]] = []
    for column in columns:
        group = groups[-1] if groups else []
        if (
            not group
            or len(group) >= _CHUNK_COLUMNS
            or (starts[column] - starts[group[0]] > _CHUNK_SLACK_ROWS)
        ):
            groups.append([column])
        else:
            group.append(column)
    labels = closes.columns.tolist()  # not list(): iterating an Index boxes each label
    for group in groups:
        start = int(starts[group[0]])
        block = matrix[start:, group]
        yield pd.DataFrame(block, index=closes.index[start:], columns=[labels[i] for i in group])


def _sigma(move: np.ndarray) -> np.ndarray:
    """Each column's usual daily move (see SIGMA_FLOOR) from its moves (|log return|);
    NaN under 20 returns."""
    moves = np.sort(move, axis=0)  # NaNs sort last
    counts = np.sum(~np.isnan(move), axis=0)
    position = np.clip(np.round(0.75 * (counts - 1)).astype(int), 0, len(move) - 1)
    q75 = np.take_along_axis(moves, position[None, :], axis=0)[0]
    return np.where(counts >= 20, np.maximum(q75 / _Q75_TO_SIGMA, SIGMA_FLOOR), np.nan)


def _previous(close: np.ndarray) -> np.ndarray:
    """Each cell's last close in an earlier row, NaN before the first: pandas' ffill then
    shift(1), on the array (the frame's version cost more than every check after it)."""
    out = np.full(close.shape, np.nan)
    out[1:] = close[:-1]
    # Only a column with a missing close after a close needs filling (leading NaNs stay
    # NaN either way): in the snapshot, none.
    missing = np.isnan(close)
    gaps = np.flatnonzero((missing[1:] & ~missing[:-1]).any(axis=0))
    if len(gaps):
        out[:, gaps] = _filled_previous(close[:, gaps])
    return out


def _filled_previous(close: np.ndarray) -> np.ndarray:
    """_previous for columns with gaps: the row of the last close at or before each cell
    (0 before the first, whose cell is then NaN too), one row down."""
    rows = np.arange(len(close))[:, None]
    last = np.maximum.accumulate(np.where(np.isnan(close), 0, rows), axis=0)
    out = np.full(close.shape, np.nan)
    out[1:] = np.take_along_axis(close, last, axis=0)[:-1]
    return out


def _later(close: np.ndarray, rows: np.ndarray, cols: np.ndarray, ahead: int) -> np.ndarray:
    """For each cell (rows, cols), the first close ``ahead`` or more rows later, NaN when
    there is none: pandas' bfill then shift(-ahead), for a few cells."""
    out = np.full(len(rows), np.nan)
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        rest = close[r + ahead :, c]
        found = np.flatnonzero(~np.isnan(rest))
        if len(found):
            out[i] = rest[found[0]]
    return out


def _volume_ratio(volumes: pd.DataFrame, chunk: pd.DataFrame, wanted: np.ndarray) -> np.ndarray:
    """Each session's volume over the median of the 20 before it, in the ``wanted``
    columns; NaN without volume (and in the other columns)."""
    out = np.full(chunk.shape, np.nan)
    have = [c for c, w in zip(chunk.columns, wanted, strict=True) if w and c in volumes.columns]
    if not have:
        return out
    v = volumes.reindex(index=chunk.index, columns=have).where(lambda x: x > 0)
    usual = v.rolling(VOLUME_SESSIONS, min_periods=5).median().shift(1)
    ratio = (v / usual).to_numpy()
    out[:, chunk.columns.get_indexer(pd.Index(have))] = ratio
    return out


def _split_like(lr: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The split factor each log return in ``where`` is close to (signed: - for a drop),
    or 0; only the few cells in ``where`` are compared."""
    best = np.zeros(lr.shape)
    rows, cols = np.nonzero(where)
    values = lr[rows, cols]
    found = np.zeros(values.shape)
    for factor in SPLIT_FACTORS:
        k = math.log(factor)
        for signed in (k, -k):
            near = (np.abs(values - signed) <= SPLIT_TOLERANCE) & (found == 0)
            found[near] = signed
    best[rows, cols] = found
    return best


def _pairs(mask: np.ndarray) -> Iterable[tuple[int, int]]:
    if not mask.any():  # the usual case, and much cheaper than nonzero
        return ()
    rows, cols = np.nonzero(mask)
    return zip(rows.tolist(), cols.tolist(), strict=True)


def _spikes(close: np.ndarray, prev: np.ndarray, move: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Bad prints: a move far outside the daily range, undone within two sessions. The
    way back is looked at only for the few moves that big."""
    big = move >= np.maximum(SPIKE_FLOOR, SPIKE_SIGMAS * sigma)
    spike = np.zeros_like(big)
    if not big.any():
        return spike
    rows, cols = np.nonzero(big)
    before = prev[rows, cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        back1 = np.abs(np.log(_later(close, rows, cols, 1) / before))
        back2 = np.abs(np.log(_later(close, rows, cols, 2) / before))
    undone = SPIKE_UNDONE * move[rows, cols]
    spike[rows, cols] = (back1 <= undone) | (back2 <= undone)
    return spike


def _splits(
    lr: np.ndarray, move: np.ndarray, free: np.ndarray, vol_ratio: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(factor, split): each cell's split factor (see _split_like), and the missed
    splits: near a factor, the volume moving by about as much the other way."""
    smallest = math.log(min(SPLIT_FACTORS)) - SPLIT_TOLERANCE
    factor = _split_like(lr, free & (move >= smallest) & ~np.isnan(vol_ratio))
    split = np.zeros(lr.shape, dtype=bool)
    rows, cols = np.nonzero(factor)
    near = factor[rows, cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        vol_log = np.log(vol_ratio[rows, cols])
    split[rows, cols] = vol_log * -near >= SPLIT_VOLUME_SHARE * near * near
    return factor, split


def _check_chunk(
    chunk: pd.DataFrame, volumes: pd.DataFrame | None, funds: frozenset[str]
) -> list[tuple[str, pd.Timestamp, str, str]]:
    out: list[tuple[str, pd.Timestamp, str, str]] = []
    names = [str(c) for c in chunk.columns.tolist()]
    dates = chunk.index
    raw = chunk.to_numpy(dtype="float64")  # read only: every step below makes new arrays
    present = ~np.isnan(raw)
    bad = present & ~(np.isfinite(raw) & (raw > 0))
    for r, c in _pairs(bad):
        text = f"close {_fmt(raw[r, c])} is not a positive price"
        out.append((names[c], dates[r], "not-positive", text))
    close = np.where(bad, np.nan, raw) if bad.any() else raw
    prev = _previous(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = close / prev
        lr = np.log(ratio)
    move = np.abs(lr)
    sigma = _sigma(move)
    is_fund = np.array([n in funds for n in names])

    # Bad print: far outside the daily range and undone within two sessions; the way
    # back is part of the same print, not a second flag.
    spike = _spikes(close, prev, move, sigma)
    way_back = np.zeros_like(spike)
    way_back[1:] |= spike[:-1]
    way_back[2:] |= spike[:-2]
    free = ~spike & ~way_back

    # Missed split: near a split factor, the volume moving by about as much the other way.
    # Beyond the series' history: a big move on heavy volume (any series), or many
    # usual daily moves (an index or fund; a single stock can really move that much).
    # Only a move near a split factor or over 40% can pass a volume test: the volume
    # ratio (a rolling median) is worked out only in the columns that have one, and
    # without volume (the constituents) neither test can hold.
    vol_ratio = np.full(lr.shape, np.nan)
    factor = np.zeros(lr.shape)
    split = heavy = np.zeros(lr.shape, dtype=bool)
    if volumes is not None:
        smallest = math.log(min(SPLIT_FACTORS)) - SPLIT_TOLERANCE
        sized = np.abs(ratio - 1) > VOLUME_MOVE
        wanted = ((move >= smallest) | sized).any(axis=0)
        if wanted.any():
            vol_ratio = _volume_ratio(volumes, chunk, wanted)
            factor, split = _splits(lr, move, free, vol_ratio)
            heavy = sized & (vol_ratio >= VOLUME_TIMES)
    wide = is_fund & (move >= np.maximum(FUND_FLOOR, FUND_SIGMAS * sigma))
    jump = free & ~split & (heavy | wide)

    for kind, mask in (("bad-print", spike), ("split", split), ("jump", jump)):
        for r, c in _pairs(mask):
            text = (
                f"close {_fmt(close[r, c])} after {_fmt(prev[r, c])} "
                f"({(ratio[r, c] - 1) * 100:+.1f}% in a day; its usual daily move is "
                f"{sigma[c] * 100:.1f}%)"
            )
            if kind == "bad-print":
                text += ", undone within two sessions: a bad print"
            elif kind == "split":
                text += (
                    f", about {math.exp(abs(factor[r, c])):.0f} to 1 on "
                    f"{vol_ratio[r, c]:.1f}x the usual volume: a missed split"
                )
            elif heavy[r, c]:
                text += f", on {vol_ratio[r, c]:.1f}x the usual volume"
            out.append((names[c], dates[r], kind, text))
    out.extend(_stale(close, prev, lr, names, dates))
    return out


def _stale(
    close: np.ndarray, prev: np.ndarray, lr: np.ndarray, names: list[str], dates: pd.Index
) -> list[tuple[str, pd.Timestamp, str, str]]:
    """Runs of unchanged closes that the series' own record makes very unlikely. Only
    where a run ends are the odds worked out: a few cells of the frame."""
    same = close == prev  # never where either is NaN
    # Where a run of at least STALE_MIN_REPEATS unchanged closes ends (each run once).
    ends = same.copy()
    for back in range(1, STALE_MIN_REPEATS):
        ends[back:] &= same[:-back]
        ends[:back] = False
    ends[:-1] &= ~same[1:]
    if not ends.any():
        return []
    rows, cols = np.nonzero(ends)
    runs = rows - _run_start(same, rows, cols)  # how many unchanged closes end there
    sessions = (~np.isnan(lr)).sum(axis=0)[cols]
    others = np.maximum(sessions - runs, 1)
    share = (same.sum(axis=0)[cols] - runs) / others  # how often it closes unchanged otherwise
    odds = np.minimum(others, STALE_HORIZON) * np.maximum(share, 1 / others) ** runs
    stale = (share < STALE_MAX_SHARE) & (odds < STALE_ODDS)
    out: list[tuple[str, pd.Timestamp, str, str]] = []
    for i in np.flatnonzero(stale).tolist():
        r, c, n = int(rows[i]), int(cols[i]), int(runs[i])
        text = (
            f"close {_fmt(close[r, c])} on {n + 1} sessions in a row, "
            f"{dates[r - n].date().isoformat()} to {dates[r].date().isoformat()}, in a "
            f"series that otherwise closes unchanged on {share[i]:.1%} of sessions: "
            "a stale close"
        )
        out.append((names[c], dates[r - n + 1], "stale", text))
    return out


def _run_start(same: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """For each cell (rows, cols) of a run of True in ``same``: the row just before the
    run (-1 when the run starts the column)."""
    n = len(same)
    # Every False cell, numbered column by column (column * n + row), ascending.
    breaks = np.flatnonzero(~same.T)
    at = np.searchsorted(breaks, cols * n + rows) - 1
    before = breaks[np.maximum(at, 0)] if len(breaks) else np.zeros(len(rows), int)
    return np.where((at >= 0) & (before // n == cols), before % n, -1)


def check_prices(
    closes: pd.DataFrame,
    volumes: pd.DataFrame | None,
    sessions: pd.DatetimeIndex,
    week_sessions: Sequence[dt.date] = (),
    funds: Iterable[str] = (),
) -> tuple[PriceFlag, ...]:
    """Every implausible close in ``closes`` (one column per ticker, NaN where no bar).

    ``volumes``: the same layout where the source has volume (a missing column or NaN
    means none). ``sessions``: the exchange's sessions over the frame's dates.
    ``week_sessions``: the base date and sessions of the week reported; a ticker with
    closes around one of them but not on it is flagged. ``funds``: indexes and funds,
    held to their own steadiness (a single stock can really move 50% in a day).
    """
    found: list[tuple[str, pd.Timestamp, str, str]] = []
    if closes.empty:
        return ()
    # Only days the calendar covers can be judged: earlier bars are taken as sessions.
    judged = (closes.index >= sessions.min()) & (closes.index <= sessions.max())
    shut = judged & ~closes.index.isin(sessions)
    if shut.any():
        bars = closes.loc[shut].notna()
        for r, c in _pairs(bars.to_numpy()):
            day = bars.index[r]
            text = f"a bar on {day:%A} {day.date().isoformat()}, when the exchange was shut"
            found.append((str(bars.columns[c]), day, "non-session", text))
    on_sessions = closes.loc[~shut]
    for chunk in _chunks(on_sessions):
        found.extend(_check_chunk(chunk, volumes, frozenset(funds)))
    found.extend(_week_gaps(on_sessions, week_sessions))
    flags = {(t, d.date(), k): r for t, d, k, r in found}
    return tuple(
        PriceFlag(ticker=t, date=d, kind=k, reason=r) for (t, d, k), r in sorted(flags.items())
    )


def _week_gaps(
    closes: pd.DataFrame, week_sessions: Sequence[dt.date]
) -> list[tuple[str, pd.Timestamp, str, str]]:
    """Sessions of the week without a close, in series that have closes on both sides."""
    if not week_sessions or closes.empty:
        return []
    valid = closes.notna().to_numpy()
    rows = np.arange(len(valid))[:, None]
    first = np.where(valid, rows, len(valid)).min(axis=0)
    last = np.where(valid, rows, -1).max(axis=0)
    out: list[tuple[str, pd.Timestamp, str, str]] = []
    for day in (pd.Timestamp(d) for d in week_sessions):
        at = int(closes.index.searchsorted(day))
        held = at < len(valid) and closes.index[at] == day
        # closes before the day (first < at) and after it (last beyond the day's row)
        inside = (first < at) & (last > (at if held else at - 1))
        if held:
            inside &= ~valid[at]
        for c in np.nonzero(inside)[0].tolist():
            text = "no close on this session of the week, though there are closes around it"
            out.append((str(closes.columns[c]), day, "gap", text))
    return out


RANGE_SLACK = 0.01  # a close more than 1% outside its day's high-low range


def check_ranges(
    bars: Mapping[str, pd.DataFrame], tickers: Iterable[str], since: pd.Timestamp
) -> list[PriceFlag]:
    """Closes outside their own day's high-low range (by over 1%), from ``since`` on: a
    source that missed a split divides the close and leaves the range as it was. Only
    bars with both a high and a low are judged."""
    out: list[PriceFlag] = []
    for ticker in tickers:
        bar = bars.get(ticker)
        if bar is None or "High" not in bar or "Low" not in bar:
            continue
        at = int(bar.index.searchsorted(since))
        # One array of the bar (a view when its columns are one block of floats): three
        # column reads cost more than the check, on some sixty series a build.
        values = bar.to_numpy(dtype="float64")
        columns = bar.columns.tolist()
        close = values[at:, columns.index("Close")]
        high = values[at:, columns.index("High")]
        low = values[at:, columns.index("Low")]
        with np.errstate(invalid="ignore"):
            outside = (close > high * (1 + RANGE_SLACK)) | (close < low * (1 - RANGE_SLACK))
        for row in np.flatnonzero(outside).tolist():
            day = bar.index[at + row]
            out.append(
                PriceFlag(
                    ticker=str(ticker),
                    date=day.date(),
                    kind="range",
                    reason=(
                        f"close {_fmt(close[row])} outside the day's range "
                        f"{_fmt(low[row])} to {_fmt(high[row])}"
                    ),
                )
            )
    return out


@dataclass(frozen=True)
class Screened:
    """The closes a build may compute from, and what the price checks took out."""

    closes: pd.DataFrame
    excluded: tuple[PriceFlag, ...]  # every open flag of the series left out
    refused: tuple[PriceFlag, ...]  # open flags of series the report cannot do without


def is_accepted(flag: PriceFlag, accept: Collection[tuple[str, dt.date | None]]) -> bool:
    """True when config accepts the flag ([data] accept); never for a non-positive close."""
    if flag.kind == "not-positive":
        return False
    return (flag.ticker, flag.date) in accept or (flag.ticker, None) in accept


def screen(
    closes: pd.DataFrame,
    flags: Iterable[PriceFlag],
    *,
    leads: Collection[str],
    accept: Collection[tuple[str, dt.date | None]] = frozenset(),
) -> Screened:
    """Apply the policy: a flagged lead refuses the build; any other flagged series is
    taken out of the closes whole, so no figure is computed from it."""
    open_flags = [f for f in flags if not is_accepted(f, accept)]
    refused = tuple(f for f in open_flags if f.ticker in leads)
    out = {f.ticker for f in open_flags if f.ticker not in leads}
    excluded = tuple(f for f in open_flags if f.ticker in out)
    return Screened(closes=without(closes, out), excluded=excluded, refused=refused)


def without(closes: pd.DataFrame, tickers: Collection[str]) -> pd.DataFrame:
    """``closes`` less the columns in ``tickers``, kept in one block: pandas' own
    ``drop(columns=...)`` leaves one block per remaining column, which made every later
    row selection on ~1,800 constituents about five times slower."""
    if not any(c in tickers for c in closes.columns.tolist()):
        return closes
    return closes.loc[:, ~closes.columns.isin(list(tickers))]


__all__ = [
    "PriceFlag",
    "Screened",
    "check_prices",
    "check_ranges",
    "is_accepted",
    "screen",
    "without",
]
