"""Rules of meaning and style the prose must keep, beyond its numbers (checker.py runs them).

Meaning: rank words fit the signs of what they rank ("did best" is wrong for funds that
all fell: they "fell least"); "rally", "gains" and "concentrated" only for an index that
rose over that period; small caps "beat" or "lead" large caps only when one of them rose;
a bank beat or missed by the cent, and its reaction is given only with a release time the
data holds, or with the assumption said; "no results in the data", never "no bank
reported"; a record only for an index that set one, and a fund's record as the fund's;
"best week since" and "widest since" only with the week behind them; a sized verb
("surged") only for a move of its size.

Style (EDITORIAL.md): no sentence over 40 words, a lead of at most 40 words; each index by
its full name at first reference and its short name after; a ticker at most once, an
index fund's only where the fund is the subject; no "in that order"; no Herfindahl; short
holiday names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from recap import words
from recap.model import BankResult, IndexMove, WeeklyRecap

MAX_WORDS = 40
ABBREVIATIONS = frozenset({"U.S", "Jr", "Inc", "Co", "Corp", "St", "Mr", "Ms", "No", "vs"})
ABBREVIATIONS |= frozenset({"Jan", "Feb", "Aug", "Sept", "Oct", "Nov", "Dec"})
SIGNED = re.compile(r"(?<![\w.])([+-])(\d+(?:\.\d+)?)%")
TOP_WORDS = re.compile(
    r"\b(?:led|did best|gained most|rose most|best performers?|strongest|outperformed)\b"
)
BOTTOM_WORDS = re.compile(
    r"\b(?:brought up the rear|lagged|fell most|did worst|had the worst week|"
    r"at the bottom|weakest|worst performers?)\b"
)
FELL_LEAST = re.compile(r"\bfell least\b")
ROSE_LEAST = re.compile(r"\brose least\b")
GAINS = re.compile(r"\b(?:rally|rallies|gains|concentrated)\b", re.I)
YEAR = re.compile(r"\b(?:this year|year to date|for the year|ytd|the year's)\b", re.I)
AHEAD = re.compile(
    r"\b(?:beat|beats|beating|lead|leads|led|leading|ahead|outpaced|outran|outperformed|"
    r"in front)\b"
)
OUTCOME = re.compile(r"\b(beat|beats|missed|misses|matched|in line)\b")
REACTION = re.compile(r"\b(?:on the day|that day|the next session|after (?:its|their) results)\b")
NO_TIME = re.compile(r"no release time")
NO_REPORT = re.compile(
    r"\bno (?:regional |large |big )?(?:-?banks?|lenders?)\b[^.]*\breported\b", re.I
)
DID_NOT_REPORT = re.compile(r"\bdid not report\b")
BANNED = (
    (re.compile(r"\bin that order\b|\brespectively\b", re.I), "say each figure with its name"),
    (re.compile(r"\bHerfindahl\b|\bHHI\b"), "plain words for concentration (EDITORIAL.md)"),
    (
        re.compile(
            r"Juneteenth National Independence Day|July 4th|President's Day|a market holiday"
        ),
        "a short holiday name ('Juneteenth', 'the July 3 closure')",
    ),
)
RECORD = re.compile(r"\brecords?\b|\ball-time high\b", re.I)
SINCE = re.compile(r"\b(best|worst) week since ([A-Z][a-z]+)(?: (\d{4}))?")
DAY_SINCE = re.compile(r"\b(best|worst) day since ([A-Z][a-z]+)(?: (\d{4}))?")
WIDEST = re.compile(r"\bwidest [a-z ]*since ([A-Z][a-z]+)(?: (\d{4}))?")
INDEX_FUNDS = frozenset({"SPY", "DIA", "QQQ", "IWM"})
TICKER = re.compile(r"\b[A-Z]{2,5}\b")


def sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping 'U.S. Bancorp' and 'Jr. Day' whole."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", text)
    out: list[str] = []
    for part in parts:
        last = out[-1].rsplit(" ", 1)[-1].rstrip(".") if out else ""
        if out and last in ABBREVIATIONS:
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return [s for s in out if s.strip()]


def clauses(sentence: str) -> list[str]:
    """A sentence cut at ';', ', while' and ', and': each clause ranks one group."""
    return [c for c in re.split(r";|, while |, and ", sentence) if c.strip()]


def _word_count(text: str) -> int:
    return len(text.split())


def _signs_of(clause: str) -> list[int]:
    return [1 if sign == "+" else -1 for sign, digits in SIGNED.findall(clause) if float(digits)]


# ---------------------------------------------------------------- style


def style_problems(where: str, text: str) -> list[str]:
    """Sentence length and banned phrasings in one paragraph."""
    out = []
    for s in sentences(text):
        n = _word_count(s)
        if n > MAX_WORDS:
            out.append(f"a sentence of {n} words (at most {MAX_WORDS}): {s[:60]!r}")
    for pattern, fix in BANNED:
        m = pattern.search(text)
        if m:
            out.append(f"'{m.group(0)}': {fix}")
    return out


def lead_problems(text: str) -> list[str]:
    """The lead says what happened and why in at most 40 words."""
    n = _word_count(text)
    return [f"the lead has {n} words (at most {MAX_WORDS})"] if n > MAX_WORDS else []


def _mentions(text: str, m: IndexMove) -> Iterator[tuple[int, bool]]:
    """(position, is_full) of every mention of the index by name in ``text``."""
    full = m.full_name.removeprefix("the ")
    short = m.later_name.removeprefix("the ")
    fulls = [x.start() for x in re.finditer(re.escape(full), text)] if full else []
    spans = [(p, p + len(full)) for p in fulls]
    for p in fulls:
        yield p, True
    for name in dict.fromkeys(n for n in (short, m.name) if n and n not in full):
        for x in re.finditer(rf"\b{re.escape(name)}\b", text):
            yield x.start(), False
    if short and short in full:
        for x in re.finditer(rf"\b{re.escape(short)}\b", text):
            if not any(a <= x.start() < b for a, b in spans):
                yield x.start(), False


def naming_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """Full name at first reference, short name after, for every index."""
    out = []
    for m in recap.indexes:
        if not m.full_name or m.full_name == m.later_name:
            continue
        found = sorted(_mentions(text, m))
        if not found:
            continue
        if not found[0][1]:
            out.append(f"{m.name}: first named '{m.later_name}', not its full name '{m.full_name}'")
        fulls = sum(1 for _, is_full in found if is_full)
        if fulls > 1:
            out.append(f"{m.name}: full name '{m.full_name}' {fulls} times (once, then short)")
    return out


def _tickers(recap: WeeklyRecap) -> set[str]:
    out = set(INDEX_FUNDS) | {m.symbol for m in recap.indexes}
    if recap.sectors is not None:
        for m in recap.sectors.sectors + recap.sectors.industries:
            out.add(m.ticker)
        for wl in recap.sectors.watchlists:
            out.update(x.ticker for x in wl.members)
    out.update(r.ticker for r in recap.earnings)
    names = {r.name for r in recap.earnings}
    if recap.banks is not None:
        out.update(r.ticker for r in recap.banks.reported + recap.banks.large)
        names.update(r.name for r in recap.banks.reported + recap.banks.large)
    if recap.sectors is not None:
        names.update(x.name for wl in recap.sectors.watchlists for x in wl.members)
    # A company whose name is its ticker (PNC, AMD) is named, not tickered.
    return {t for t in out if len(t) >= 2 and t not in names}


def ticker_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """A ticker at most once; an index fund's only where the fund is the subject."""
    known = _tickers(recap)
    counts: dict[str, int] = {}
    out = []
    for s in sentences(text):
        for t in TICKER.findall(s):
            if t not in known:
                continue
            counts[t] = counts.get(t, 0) + 1
            if t in INDEX_FUNDS and not re.search(r"\bfund\b|\bETF\b", s):
                out.append(f"'{t}' where the fund is not the subject: {s[:60]!r}")
    out += [f"ticker '{t}' {n} times (once at most)" for t, n in counts.items() if n > 1]
    return out


# ---------------------------------------------------------------- meaning


def rank_problems(text: str) -> list[str]:
    """Rank words against the signs of the figures they rank."""
    out = []
    for s in sentences(text):
        for c in clauses(s):
            signs = _signs_of(c)
            if not signs:
                continue
            m = TOP_WORDS.search(c)
            if m and all(x < 0 for x in signs):
                out.append(f"'{m.group(0)}' for figures that all fell (they 'fell least'): {c!r}")
            m = BOTTOM_WORDS.search(c)
            if m and all(x > 0 for x in signs):
                out.append(f"'{m.group(0)}' for figures that all rose (they 'rose least'): {c!r}")
            if FELL_LEAST.search(c) and any(x > 0 for x in signs):
                out.append(f"'fell least' for a figure that rose: {c!r}")
            if ROSE_LEAST.search(c) and any(x < 0 for x in signs):
                out.append(f"'rose least' for a figure that fell: {c!r}")
    return out


def _named(text: str, recap: WeeklyRecap) -> list[IndexMove]:
    """Indexes a piece of text names (by full, short or table name, or small/large caps)."""
    out = []
    svl = recap.small_vs_large
    for m in recap.indexes:
        names = {m.name, m.full_name.removeprefix("the "), m.later_name.removeprefix("the ")}
        hit = any(n and re.search(rf"\b{re.escape(n)}\b", text) for n in names)
        if svl is not None:
            if m.symbol == svl.small_symbol and re.search(r"\bsmall[- ]caps?\b", text, re.I):
                hit = True
            if m.symbol == svl.large_symbol and re.search(r"\blarge caps\b", text, re.I):
                hit = True
        if hit:
            out.append(m)
    return out


def _nearest(text: str, recap: WeeklyRecap) -> list[IndexMove]:
    """The indexes named last in ``text``: the nearest one, with any list it ends
    ("the S&P 500, the Dow and the Nasdaq")."""
    spots: list[tuple[int, int, IndexMove]] = []
    for m in recap.indexes:
        for a, b in _spans(text, m, recap):
            spots.append((a, b, m))
    if not spots:
        return []
    spots.sort(key=lambda x: x[0])
    out = [spots[-1]]
    for spot in reversed(spots[:-1]):
        between = text[spot[1] : out[-1][0]]
        if re.fullmatch(r"(?:'s)?(?:,| and|, and)? (?:the )?", between):
            out.append(spot)
        else:
            break
    return list(dict.fromkeys(x[2] for x in out))


def _spans(text: str, m: IndexMove, recap: WeeklyRecap) -> list[tuple[int, int]]:
    names = {m.name, m.full_name.removeprefix("the "), m.later_name.removeprefix("the ")}
    pats = [re.escape(n) for n in names if n]
    svl = recap.small_vs_large
    if svl is not None and m.symbol == svl.small_symbol:
        pats.append("small[- ]caps?")
    if svl is not None and m.symbol == svl.large_symbol:
        pats.append("large caps")
    return [
        (x.start(), x.end())
        for p in pats
        for x in re.finditer(rf"\b{p}\b", text, re.I if "caps" in p else 0)
    ]


def _period_return(m: IndexMove, text: str) -> float | None:
    return m.ytd_return if YEAR.search(text) else m.week_return


def gains_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """'Rally', 'gains', 'concentrated' only for an index that rose over that period: the
    index named last before the word in its clause (or anywhere in the clause)."""
    out = []
    for s in sentences(text):
        for c in clauses(s):
            out += _gains_in(recap, c)
    return out


def _gains_in(recap: WeeklyRecap, s: str) -> list[str]:
    out: list[str] = []
    m = GAINS.search(s)
    if m:
        for idx in _nearest(s[: m.start()], recap) or _named(s, recap):
            r = _period_return(idx, s)
            if r is not None and r <= 0:
                period = "this year" if YEAR.search(s) else "this week"
                out.append(
                    f"'{m.group(0)}' for {idx.name}, which did not rise {period}: {s[:60]!r}"
                )
    return out


def small_caps_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """Small caps 'beat' or 'lead' large caps only when one of them rose."""
    svl = recap.small_vs_large
    if svl is None:
        return []
    small = next((m for m in recap.indexes if m.symbol == svl.small_symbol), None)
    large = next((m for m in recap.indexes if m.symbol == svl.large_symbol), None)
    if small is None or large is None:
        return []
    out = []
    for s in sentences(text):
        named = _named(s, recap)
        if small not in named or large not in named:
            continue
        m = AHEAD.search(s)
        if not m or re.search(r"\bled by\b", s):
            continue
        rs, rl = _period_return(small, s), _period_return(large, s)
        if rs is not None and rl is not None and rs < 0 and rl < 0:
            out.append(f"'{m.group(0)}' while both fell (small caps 'fell less'): {s[:60]!r}")
    return out


def _results(recap: WeeklyRecap) -> list[BankResult]:
    found = {(r.ticker, r.report_date): r for r in recap.earnings}
    if recap.banks is not None:
        for r in recap.banks.reported + recap.banks.large:
            found.setdefault((r.ticker, r.report_date), r)
    return list(found.values())


def _outcome_of(word: str) -> str:
    return {"beat": "beat", "beats": "beat", "missed": "miss", "misses": "miss"}.get(
        word, "in line"
    )


def earnings_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """Beat, missed and in line by the cent; reactions only with a release time, or the
    assumption said; 'no results in the data' rather than 'no bank reported'."""
    results = _results(recap)
    out = []
    for s in sentences(text):
        for c in clauses(s):
            start = 0
            for m in OUTCOME.finditer(c):
                said = _outcome_of(m.group(1))
                before = c[start : m.start()]
                start = m.end()
                for r in results:
                    if re.search(rf"\b{re.escape(r.name)}\b", before) and r.outcome != said:
                        out.append(f"{r.name}: '{m.group(1)}', but the result was {r.outcome!r}")
        for r in results:
            if r.release_time != "time unknown" or not re.search(rf"\b{re.escape(r.name)}\b", s):
                continue
            if REACTION.search(s) and not NO_TIME.search(s):
                out.append(f"{r.name}: a reaction without a release time, and not said: {s[:60]!r}")
        m2 = NO_REPORT.search(s) or DID_NOT_REPORT.search(s)
        if m2:
            out.append(f"'{m2.group(0)}': say 'the data holds no results' (dates may be missing)")
    return out


def record_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """A record only for an index that set one, and a fund's record named as the fund's."""
    out = []
    for s in sentences(text):
        for c in clauses(s):
            m = RECORD.search(c)
            if not m or "too short to call a record" in c:
                continue
            named = _nearest(c[: m.start()], recap) or _named(c, recap)
            for idx in named:
                if not (idx.record_close or idx.record_sessions):
                    out.append(f"a record for {idx.name}, which set none this week: {c[:60]!r}")
                elif idx.is_proxy and not re.search(rf"\bfund\b|\b{idx.symbol}\b", c):
                    out.append(f"{idx.symbol}'s record told as the index's: {c[:60]!r}")
    return out


def since_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """'Best week since April' and 'widest since May' only with the week behind them."""
    out = []
    for m in SINCE.finditer(text):
        kind, month, year = m.groups()
        ok = any(
            i.larger_move_on is not None
            and i.larger_move_on.strftime("%B") == month
            and (not year or str(i.larger_move_on.year) == year)
            and (i.week_return > 0) == (kind == "best")
            for i in recap.indexes
        )
        if not ok:
            out.append(f"'{m.group(0)}' is not backed by the data")
    for m in DAY_SINCE.finditer(text):
        kind, month, year = m.groups()
        ok = any(
            i.big_day is not None
            and i.larger_day_on is not None
            and i.larger_day_on.strftime("%B") == month
            and (not year or str(i.larger_day_on.year) == year)
            and (i.big_day.day_return > 0) == (kind == "best")
            for i in recap.indexes
        )
        if not ok:
            out.append(f"'{m.group(0)}' is not backed by the data")
    svl = recap.small_vs_large
    for m in WIDEST.finditer(text):
        month, year = m.groups()
        on = svl.wider_on if svl else None
        if on is None or on.strftime("%B") != month or (year and str(on.year) != year):
            out.append(f"'{m.group(0)}' is not backed by the data")
    return out


EXTREME = re.compile(r"\b(highest|lowest) close in (\w+ months|a year)\b")
AS_JOIN = re.compile(r" as (?!of\b|much\b|many\b|a\b)")
_UP = frozenset({"rose", "climbed", "advanced", "jumped", "rallied", "surged", "soared"})
_UP |= {"gained", "added", "up", "higher"}
_DOWN = frozenset({"fell", "slipped", "eased", "declined", "dropped", "slid", "sank"})
_DOWN |= {"tumbled", "plunged", "down", "lower", "lost"}


def extreme_problems(recap: WeeklyRecap, text: str) -> list[str]:
    """'Its highest close in six months' only for a series whose close is that extreme."""
    out = []
    for m in EXTREME.finditer(text):
        kind, span = m.groups()
        months = "12" if span == "a year" else span.removesuffix(" months")
        want = "high" if kind == "highest" else "low"
        ok = any(
            x.extreme == want
            and x.extreme_months is not None
            and months in (str(x.extreme_months), _number_word(x.extreme_months))
            for x in recap.markets
        )
        if not ok:
            out.append(f"'{m.group(0)}' is not backed by the data")
    return out


def _number_word(n: int) -> str:
    from recap.words import number_word

    return number_word(n)


def _first_direction(part: str) -> int:
    for word in re.findall(r"[a-z]+", part.lower()):
        if word in _UP:
            return 1
        if word in _DOWN:
            return -1
    return 0


def as_problems(text: str) -> list[str]:
    """'Energy shares fell 5.4% as oil dropped 7.9%': 'as' joins two moves only when they
    go the same way (it states co-movement, never a cause)."""
    out = []
    for s in sentences(text):
        for c in clauses(s):
            parts = AS_JOIN.split(c, maxsplit=1)
            if len(parts) != 2:
                continue
            a, b = _first_direction(parts[0]), _first_direction(parts[1])
            if a and b and a != b:
                out.append(f"'as' joins moves that went opposite ways: {c[:60]!r}")
    return out


def verb_size_problems(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """A sized verb ('surged', 'edged') only for a move of its size, on the index or the
    stock scale. ``pairs``: (verb, the percentage that follows it)."""
    out = []
    for word, figure in pairs:
        printed = float(figure.rstrip("%")) / 100
        # The printed figure is rounded: 2.50% may be a 2.496% move, which "advanced" fits.
        half = 0.5 * 10 ** -(len(figure.rstrip("%").partition(".")[2]) + 2)
        values = (printed - half, printed, printed + half)
        if word == "edged":
            ok = any(words.band(v, scale) == 0 for v in values for scale in words.SCALES)
        else:
            ok = any(words.fits(word, v) or words.fits(word, -v) for v in values)
        if not ok:
            out.append(f"'{word} {figure}': the verb does not fit a move of that size")
    return out


__all__ = [
    "MAX_WORDS",
    "clauses",
    "earnings_problems",
    "gains_problems",
    "lead_problems",
    "naming_problems",
    "rank_problems",
    "record_problems",
    "sentences",
    "since_problems",
    "small_caps_problems",
    "style_problems",
    "ticker_problems",
    "verb_size_problems",
]
