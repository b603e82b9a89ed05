"""Earnings in a week, banks and any watchlist name: surprise, outcome and the stock's
reaction (pure pandas).

Release times are US Eastern clock times as the source gives them. A release before
the open (or during the session) is priced in by that day's close; one after the close
by the next session's close. A release without a time takes the time of the company's
earlier releases in the data when they agree (three of its last four, or all of fewer;
the model says it was inferred); otherwise it is measured as if it came before the
open, and the text says that this is an assumption.
Beat and miss are decided by the cent, as EPS is published: $0.87 against an estimate
of $0.87 is in line, whatever the unrounded consensus was.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import pandas as pd

from recap.analytics.sectors import period_returns
from recap.errors import DataError
from recap.model import BankResult, BankSection, Upcoming, Week

BEFORE_OPEN = "before the open"
AFTER_CLOSE = "after the close"
DURING_SESSION = "during the session"
UNKNOWN_TIME = "time unknown"
NO_FIGURES = "not reported"
OPEN_AT = dt.time(9, 30)
CLOSE_AT = dt.time(16, 0)
# EPS is published to the cent: a surprise is consistent with an estimate and an actual
# when some values within half a cent of each give it (give or take 0.05 points).
EPS_HALF_CENT = 0.005
SURPRISE_SLACK = 0.0005
_FIELDS = ("time", "eps_estimate", "eps_actual", "surprise_pct")


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    """Rows as namedtuples, typed loosely (pandas-stubs types every cell as a union)."""
    yield from frame.itertuples(index=False)


def release_time(text: object) -> str:
    """'06:00' -> 'before the open'; '16:00' -> 'after the close'; blank -> 'time unknown'."""
    if not isinstance(text, str) or not text.strip():
        return UNKNOWN_TIME
    try:
        at = dt.time.fromisoformat(text.strip())
    except ValueError:
        return UNKNOWN_TIME
    if at < OPEN_AT:
        return BEFORE_OPEN
    if at >= CLOSE_AT:
        return AFTER_CLOSE
    return DURING_SESSION


# A release time is inferred from this many of the company's latest timed releases...
HISTORY = 4
# ...when at least this many of them agree (all of them when it has two or three; one
# earlier release is too little to go on).
AGREE = 3


def infer_release_time(earnings: pd.DataFrame, ticker: str, day: dt.date) -> str | None:
    """The release time of ``ticker``'s earlier releases (before ``day``) in ``earnings``,
    when they agree: 'before the open' or 'after the close'; None otherwise."""
    rows = earnings.loc[(earnings["ticker"] == ticker) & (earnings["date"] < pd.Timestamp(day))]
    times = [release_time(t) for t in rows.sort_values("date")["time"].tolist()]
    known = [t for t in times if t != UNKNOWN_TIME][-HISTORY:]
    if not known:
        return None
    for when in (BEFORE_OPEN, AFTER_CLOSE):
        agree = sum(1 for t in known if t == when)
        if len(known) >= 2 and agree >= min(AGREE, len(known)):
            return when
    return None


def timed(earnings: pd.DataFrame, ticker: str, day: dt.date, text: object) -> tuple[str, bool]:
    """(release time, inferred): the row's own time, else its earlier releases' time."""
    when = release_time(text)
    if when != UNKNOWN_TIME:
        return when, False
    inferred = infer_release_time(earnings, ticker, day)
    return (inferred, True) if inferred else (UNKNOWN_TIME, False)


# An estimate this close to zero makes a percentage surprise meaningless.
MEANINGFUL_ESTIMATE = 0.05


def surprise_nm(estimate: float | None) -> bool:
    """True when a surprise on ``estimate`` means nothing (an estimate under $0.05)."""
    return estimate is not None and abs(estimate) < MEANINGFUL_ESTIMATE


def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def surprise(estimate: float | None, actual: float | None, given_pct: float | None) -> float | None:
    """Surprise as a fraction: the source's figure when given, else from the two EPS."""
    if given_pct is not None:
        return given_pct / 100.0
    if estimate is None or actual is None or estimate == 0:
        return None
    return (actual - estimate) / abs(estimate)


def cents(value: float) -> int:
    """EPS in whole cents, as published: 0.8733 -> 87."""
    return round(value * 100)


def outcome(estimate: float | None, actual: float | None, surprise_: float | None) -> str:
    """'beat' or 'miss' by at least a cent, 'in line' when equal to the cent, 'no estimate',
    or 'not reported' when the data holds no EPS."""
    if actual is None:
        return "not reported"
    if estimate is None:
        return "no estimate"
    a, e = cents(actual), cents(estimate)
    if a == e:
        return "in line"
    return "beat" if a > e else "miss"


def _sessions(closes: pd.Series, around: dt.date) -> list[dt.date]:
    """Dates with a close within a month of ``around`` (the reaction needs no more)."""
    near = closes.loc[
        pd.Timestamp(around - dt.timedelta(days=31)) : pd.Timestamp(around + dt.timedelta(days=31))
    ]
    return [ts.date() for ts in near.dropna().index]


def reaction(
    closes: pd.Series, report_date: dt.date, when: str, last_bar: dt.date
) -> tuple[float | None, dt.date | None, dt.date | None, bool]:
    """(move, from, to, pending): close-to-close around the release."""
    days = _sessions(closes, report_date)
    start: dt.date | None
    end: dt.date | None
    if when == AFTER_CLOSE:
        start = report_date
        later = [d for d in days if d > report_date]
        end = later[0] if later else None
    else:
        earlier = [d for d in days if d < report_date]
        start = earlier[-1] if earlier else None
        end = report_date
    if end is None or end > last_bar:
        # Pending only when the reaction's session comes after the week's last bar; a
        # release inside the week whose stock has no prices then is not pending, it is
        # unpriced.
        pending = when == AFTER_CLOSE and report_date >= last_bar
        return None, start, None, pending
    a, b = closes.get(pd.Timestamp(start)) if start else None, closes.get(pd.Timestamp(end))
    if a is None or b is None or not math.isfinite(a) or not math.isfinite(b) or a <= 0:
        return None, start, end, False
    return float(b) / float(a) - 1.0, start, end, False


def _week_of(series: pd.Series, week: Week) -> float | None:
    returns = period_returns(series, week) if len(series) else None
    return returns[0] if returns else None


def _value(key: str, value: object) -> object:
    """A field as compared across repeated rows: None when blank."""
    if key == "time":
        text = str(value).strip() if isinstance(value, str) else ""
        return text or None
    return _num(value)


def _describe(row: Any) -> str:
    parts = [f"at {row.time.strip()}"] if _value("time", row.time) else []
    for label, value in (("estimate", row.eps_estimate), ("actual", row.eps_actual)):
        number = _num(value)
        parts.append(f"{label} {number:g}" if number is not None else f"no {label}")
    return ", ".join(parts)


def _merge(rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], bool]:
    """One row from several with the same ticker and date: blanks filled from the others;
    True when two rows disagree on a value both give."""
    merged: dict[str, Any] = dict(rows[0])
    conflict = False
    for other in rows[1:]:
        for key in _FIELDS:
            mine, theirs = _value(key, merged[key]), _value(key, other[key])
            if theirs is None:
                continue
            if mine is None:
                merged[key] = other[key]
            elif mine != theirs:
                conflict = True
    return merged, conflict


def surprise_contradicts(estimate: float, actual: float, given_pct: float) -> bool:
    """True when no estimate and actual within half a cent of those given could produce
    ``given_pct``: the source's surprise tells another story than its EPS."""
    lo_e, hi_e = estimate - EPS_HALF_CENT, estimate + EPS_HALF_CENT
    if lo_e <= 0 <= hi_e:
        return False  # an estimate near zero makes any surprise possible
    corners = [
        (a - e) / abs(e)
        for e in (lo_e, hi_e)
        for a in (actual - EPS_HALF_CENT, actual + EPS_HALF_CENT)
    ]
    given = given_pct / 100.0
    return not min(corners) - SURPRISE_SLACK <= given <= max(corners) + SURPRISE_SLACK


def reconcile_earnings(
    earnings: pd.DataFrame, week: Week, ahead_end: dt.date, names: Mapping[str, str]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """One row per ticker and date, and surprises that agree with their EPS.

    Rows repeating a release are merged (blanks filled from each other). Two rows that
    disagree on a release in the week reported stop the build (DataError): the report
    would have two stories for one bank. For a release expected next week, only its
    date is kept. A given surprise that its own estimate and actual cannot produce is
    replaced by the one they give, with a note for releases in the week.
    """
    if earnings.empty:
        return earnings, ()
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    start, end = pd.Timestamp(week.start), pd.Timestamp(week.end)
    # The groupby's rows by position, in its order (sorted keys, rows as they come), from
    # one conversion of the frame: a sub-frame and a row Series per group cost ~0.5 ms.
    records = earnings.to_dict("records")
    groups = cast(
        dict[tuple[str, pd.Timestamp], Any], earnings.groupby(["ticker", "date"], sort=True).indices
    )
    for ticker, date in sorted(groups):
        at = groups[(ticker, date)].tolist()
        merged, conflict = _merge([records[i] for i in at])
        day = pd.Timestamp(cast(Any, date))
        if conflict and start <= day <= end:
            versions = "; ".join(_describe(r) for r in earnings.iloc[at].itertuples(index=False))
            raise DataError(
                f"earnings: {ticker} on {day.date().isoformat()} is given twice with "
                f"different figures ({versions}); the source must settle it before this "
                "week can be reported"
            )
        if conflict and end < day <= pd.Timestamp(ahead_end):
            merged.update(time="", eps_estimate=math.nan, eps_actual=math.nan)
            merged["surprise_pct"] = math.nan
            notes.append(
                f"{names.get(str(ticker), ticker)} ({ticker}): the source gives two "
                f"different estimates for its release on {day.date().isoformat()}; "
                "only the date is shown."
            )
        est, act, given = (
            _num(merged["eps_estimate"]),
            _num(merged["eps_actual"]),
            _num(merged["surprise_pct"]),
        )
        contradicts = (
            est is not None
            and act is not None
            and given is not None
            and surprise_contradicts(est, act, given)
        )
        if contradicts:
            merged["surprise_pct"] = math.nan  # surprise() computes it from the EPS
            fixed = surprise(est, act, None)
            if start <= day <= end and fixed is not None:
                notes.append(
                    f"{names.get(str(ticker), ticker)} ({ticker}), {day.date().isoformat()}: "
                    f"the source's surprise ({given:+.2f}%) contradicts its EPS (actual "
                    f"{act:g} against an estimate of {est:g}); the surprise shown "
                    f"({fixed * 100:+.1f}%) is computed from the EPS."
                )
        rows.append(merged)
    frame = pd.DataFrame(rows, columns=list(earnings.columns))
    frame["date"] = pd.to_datetime(frame["date"])
    for col in ("eps_estimate", "eps_actual", "surprise_pct"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame.reset_index(drop=True), tuple(notes)


def drop_repeats(earnings: pd.DataFrame, days: int) -> pd.DataFrame:
    """Leave out dateless rows (no EPS at all) that follow a real report within ``days``.

    Yahoo and the snapshot both carry such rows (C on 2026-01-21, a week after its
    report); taking them for new releases would put a bank in next week's calendar twice.
    """
    if earnings.empty:
        return earnings
    keep = []
    frame = earnings.sort_values(["ticker", "date"]).reset_index(drop=True)
    last_report: dict[str, pd.Timestamp] = {}
    for row in _rows(frame):
        has_eps = _num(row.eps_actual) is not None or _num(row.eps_estimate) is not None
        prev = last_report.get(row.ticker)
        repeat = not has_eps and prev is not None and (row.date - prev).days <= days
        keep.append(not repeat)
        if has_eps:
            last_report[row.ticker] = row.date
    return frame.loc[keep].reset_index(drop=True)


def bank_results(
    earnings: pd.DataFrame,
    closes: pd.DataFrame,
    week: Week,
    tickers: Sequence[str],
    group: str,
    names: Mapping[str, str],
) -> tuple[BankResult, ...]:
    """Releases of ``tickers`` in the week, by date then ticker.

    A release after the close of the session before the week counts too: its reaction,
    the first session's move, belongs to this week.
    """
    start, end = pd.Timestamp(week.start), pd.Timestamp(week.end)
    near = earnings.loc[
        earnings["ticker"].isin(list(tickers))
        & (earnings["date"] >= pd.Timestamp(week.base_date))
        & (earnings["date"] <= end)
    ]
    after_close = [
        timed(earnings, t, d.date(), x)[0] == AFTER_CLOSE
        for t, d, x in zip(near["ticker"], near["date"], near["time"], strict=True)
    ]
    late = (near["date"] < start) & pd.Series(after_close, index=near.index, dtype=bool)
    rows = near.loc[(near["date"] >= start) | late].sort_values(["date", "ticker"])
    last_bar = week.end
    out: list[BankResult] = []
    for row in _rows(rows):
        day = row.date.date()
        est, act = _num(row.eps_estimate), _num(row.eps_actual)
        surp = surprise(est, act, _num(row.surprise_pct)) if act is not None else None
        when, inferred = timed(earnings, row.ticker, day, row.time)
        series = (
            closes[row.ticker]
            if row.ticker in closes
            else pd.Series(dtype="float64", index=pd.DatetimeIndex([]))
        )
        series = series.loc[:end]
        move, frm, to, pending = reaction(series, day, when, last_bar)
        out.append(
            BankResult(
                ticker=row.ticker,
                name=names.get(row.ticker, row.ticker),
                group=group,
                report_date=day,
                release_time=when,
                eps_estimate=est,
                eps_actual=act,
                surprise=surp,
                outcome=outcome(est, act, surp),
                reaction=move,
                reaction_from=frm,
                reaction_to=to,
                reaction_pending=pending,
                week_return=_week_of(series, week),
                time_inferred=inferred,
                surprise_nm=surprise_nm(est),
            )
        )
    return tuple(out)


earnings_results = bank_results


# A reaction smaller than this either way is no direction ("little changed").
SMALL_MOVE = 0.005


def reaction_counts(reactions: Sequence[float]) -> tuple[int, int, int]:
    """(up, down, flat): moves of SMALL_MOVE or more each way, and smaller ones."""
    up = sum(1 for r in reactions if r >= SMALL_MOVE)
    down = sum(1 for r in reactions if r <= -SMALL_MOVE)
    return up, down, len(reactions) - up - down


def classify(reactions: Sequence[float]) -> str | None:
    """'mixed' (a move of half a percent or more each way), 'broadly higher' or 'broadly
    lower' (two or more such moves, none the other way); None otherwise: one reaction, or
    one real move among small ones, is no direction for a group."""
    if len(reactions) < 2:
        return None
    up, down, _ = reaction_counts(reactions)
    if up and down:
        return "mixed"
    if up >= 2:
        return "broadly higher"
    if down >= 2:
        return "broadly lower"
    return None


def summarize(
    watchlist: str,
    reported: Sequence[BankResult],
    large: Sequence[BankResult],
    group_week_return: float | None,
    kre_week_return: float | None,
) -> BankSection:
    """Beats, misses, the best and worst reaction and their spread.

    Only releases whose figures are in the data count towards the reactions' direction:
    a date with no EPS is not a result, and "broadly higher" must not rest on it.
    """
    with_reaction = [r for r in reported if r.reaction is not None and r.outcome != NO_FIGURES]
    best = max(with_reaction, key=lambda r: r.reaction or 0.0, default=None)
    worst = min(with_reaction, key=lambda r: r.reaction or 0.0, default=None)
    moves = [r.reaction for r in with_reaction if r.reaction is not None]
    up, down, flat = reaction_counts(moves)
    spread = None
    if best is not None and worst is not None and len(with_reaction) >= 2:
        assert best.reaction is not None and worst.reaction is not None
        spread = best.reaction - worst.reaction
    return BankSection(
        watchlist=watchlist,
        reported=tuple(reported),
        large=tuple(large),
        beats=sum(1 for r in reported if r.outcome == "beat"),
        misses=sum(1 for r in reported if r.outcome == "miss"),
        in_line=sum(1 for r in reported if r.outcome == "in line"),
        best=best.ticker if best else None,
        worst=worst.ticker if worst and len(with_reaction) >= 2 else None,
        reaction_spread=spread,
        classification=classify(moves),
        group_week_return=group_week_return,
        kre_week_return=kre_week_return,
        reactions_up=up,
        reactions_down=down,
        reactions_flat=flat,
    )


def upcoming(
    earnings: pd.DataFrame,
    week: Week,
    groups: Mapping[str, Sequence[str]],
    names: Mapping[str, str],
    heavyweights: Mapping[str, float] | None = None,
    heavy_group: str = "S&P 500",
) -> tuple[Upcoming, ...]:
    """Releases expected in ``week`` (the next one): the ``heavyweights`` (ticker ->
    index weight) that report, largest first, then every other ticker of ``groups`` by
    date. ``names``: what to call each (a heavyweight without one: the names file)."""
    from recap.sources.symbols import company_names

    heavy = dict(heavyweights or {})
    start, end = pd.Timestamp(week.start), pd.Timestamp(week.end)
    group_of = {t: g for g, tickers in groups.items() for t in tickers}
    wanted = list(dict.fromkeys([*heavy, *group_of]))
    rows = earnings.loc[
        earnings["ticker"].isin(wanted) & (earnings["date"] >= start) & (earnings["date"] <= end)
    ].sort_values(["date", "ticker"])
    out = []
    for row in _rows(rows):
        day = row.date.date()
        when, inferred = timed(earnings, row.ticker, day, row.time)
        weight = heavy.get(row.ticker)
        out.append(
            Upcoming(
                ticker=row.ticker,
                name=names.get(row.ticker) or company_names().get(row.ticker, row.ticker),
                group=heavy_group if weight is not None else group_of[row.ticker],
                report_date=day,
                release_time=when,
                eps_estimate=_num(row.eps_estimate),
                time_inferred=inferred,
                index_weight=weight,
            )
        )
    # Stable: the heavyweights by weight, then the rest in date order.
    out.sort(key=lambda u: (u.index_weight is None, -(u.index_weight or 0.0)))
    return tuple(out)
