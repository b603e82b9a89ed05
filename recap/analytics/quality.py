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

The thresholds were tuned on the real snapshot (see README, "Price checks"): small caps
do move 50% on a trial result or double on a buyout, so a move alone never flags a
series with a wide daily range; a bad print undone the next day, a split that shows
in the volume, or an index that moves like a small biotech does.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Sequence
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
    values = {name: matrix[:, i] for i, name in enumerate(closes.columns)}
    starts = {}
    for name, column in values.items():
        present = ~np.isnan(column)
        if present.any():
            starts[name] = int(present.argmax())
    columns = sorted(starts, key=lambda n: starts[n])
    groups: list[list[str]] = []
    for name in columns:
        group = groups[-1] if groups else []
        if (
            not group
            or len(group) >= _CHUNK_COLUMNS
            or (starts[name] - starts[group[0]] > _CHUNK_SLACK_ROWS)
        ):
            groups.append([name])
        else:
            group.append(name)
    for group in groups:
        start = starts[group[0]]
        block = np.column_stack([values[n][start:] for n in group])
        yield pd.DataFrame(block, index=closes.index[start:], columns=group)


def _sigma(lr: np.ndarray) -> np.ndarray:
    """Each column's usual daily move (see SIGMA_FLOOR); NaN under 20 returns."""
    moves = np.sort(np.abs(lr), axis=0)  # NaNs sort last
    counts = np.sum(~np.isnan(lr), axis=0)
    position = np.clip(np.round(0.75 * (counts - 1)).astype(int), 0, len(lr) - 1)
    q75 = np.take_along_axis(moves, position[None, :], axis=0)[0]
    return np.where(counts >= 20, np.maximum(q75 / _Q75_TO_SIGMA, SIGMA_FLOOR), np.nan)


def _run_lengths(flags: np.ndarray) -> np.ndarray:
    """For each cell, how many True cells end there in a row (0 where False)."""
    n = flags.shape[0]
    idx = np.arange(n)[:, None]
    last_false = np.where(~flags, idx, -1)
    last_false = np.maximum.accumulate(last_false, axis=0)
    return np.where(flags, idx - last_false, 0)


def _volume_ratio(volumes: pd.DataFrame | None, chunk: pd.DataFrame) -> np.ndarray:
    """Each session's volume over the median of the 20 before it; NaN without volume."""
    out = np.full(chunk.shape, np.nan)
    if volumes is None:
        return out
    have = [c for c in chunk.columns if c in volumes.columns]
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
    rows, cols = np.nonzero(mask)
    return zip(rows.tolist(), cols.tolist(), strict=True)


def _check_chunk(
    chunk: pd.DataFrame, volumes: pd.DataFrame | None, funds: frozenset[str]
) -> list[tuple[str, pd.Timestamp, str, str]]:
    out: list[tuple[str, pd.Timestamp, str, str]] = []
    names = [str(c) for c in chunk.columns]
    dates = chunk.index
    raw = chunk.to_numpy(dtype="float64", copy=True)
    present = ~np.isnan(raw)
    bad = present & ~(np.isfinite(raw) & (raw > 0))
    for r, c in _pairs(bad):
        text = f"close {_fmt(raw[r, c])} is not a positive price"
        out.append((names[c], dates[r], "not-positive", text))
    close = np.where(bad, np.nan, raw)
    frame = pd.DataFrame(close, index=dates, columns=names)
    prev = frame.ffill().shift(1).to_numpy()
    after = frame.bfill().shift(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = close / prev
        lr = np.log(ratio)
        back1 = np.abs(np.log(after.to_numpy() / prev))
        back2 = np.abs(np.log(after.shift(-1).to_numpy() / prev))
    sigma = _sigma(lr)
    move = np.abs(lr)
    is_fund = np.array([n in funds for n in names])

    # Bad print: far outside the daily range and undone within two sessions; the way
    # back is part of the same print, not a second flag.
    undone = SPIKE_UNDONE * move
    spike = (move >= np.maximum(SPIKE_FLOOR, SPIKE_SIGMAS * sigma)) & (
        (back1 <= undone) | (back2 <= undone)
    )
    way_back = np.zeros_like(spike)
    way_back[1:] |= spike[:-1]
    way_back[2:] |= spike[:-2]
    free = ~spike & ~way_back

    # Missed split: near a split factor, the volume moving by about as much the other way.
    vol_ratio = _volume_ratio(volumes, chunk)
    smallest = math.log(min(SPLIT_FACTORS)) - SPLIT_TOLERANCE
    factor = _split_like(lr, free & (move >= smallest) & ~np.isnan(vol_ratio))
    with np.errstate(divide="ignore", invalid="ignore"):
        vol_log = np.log(vol_ratio)
    split = free & (factor != 0) & (vol_log * -factor >= SPLIT_VOLUME_SHARE * factor * factor)

    # Beyond the series' history: a big move on heavy volume (any series), or many
    # usual daily moves (an index or fund; a single stock can really move that much).
    heavy = (np.abs(ratio - 1) > VOLUME_MOVE) & (vol_ratio >= VOLUME_TIMES)
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
    """Runs of unchanged closes that the series' own record makes very unlikely."""
    same = ~np.isnan(close) & (close == prev)
    sessions = (~np.isnan(lr)).sum(axis=0)
    runs = _run_lengths(same)
    ends = runs > 0
    ends[:-1] &= runs[1:] == 0  # each run once, where it ends
    others = np.maximum(sessions - runs, 1)
    share = (same.sum(axis=0) - runs) / others  # how often it closes unchanged otherwise
    odds = np.minimum(others, STALE_HORIZON) * np.maximum(share, 1 / others) ** runs
    stale = ends & (runs >= STALE_MIN_REPEATS) & (share < STALE_MAX_SHARE) & (odds < STALE_ODDS)
    out: list[tuple[str, pd.Timestamp, str, str]] = []
    for r, c in _pairs(stale):
        n = int(runs[r, c])
        text = (
            f"close {_fmt(close[r, c])} on {n + 1} sessions in a row, "
            f"{dates[r - n].date().isoformat()} to {dates[r].date().isoformat()}, in a "
            f"series that otherwise closes unchanged on {share[r, c]:.1%} of sessions: "
            "a stale close"
        )
        out.append((names[c], dates[r - n + 1], "stale", text))
    return out


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
    if not any(c in tickers for c in closes.columns):
        return closes
    return closes.loc[:, ~closes.columns.isin(list(tickers))]


__all__ = ["PriceFlag", "Screened", "check_prices", "is_accepted", "screen", "without"]
