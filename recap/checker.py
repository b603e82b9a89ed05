"""Hold the prose to the numbers: run on every build, a build with problems fails.

Checks over the headline, dek and every paragraph:
  1. every number in the text is one of the model's figures, as the filters format it;
  2. a direction word (rose, fell, beat, up, added, subtracted...) and the number after
     it agree in sign, and a signed figure (+2.13%) has the sign of a model figure that
     prints that way;
  3. no superlative ("record", "all-time high", "best week since") without the fact;
  4. a figure tagged to a fund or stock ("Financials (XLF, -2.31%)") is that one's return,
     and points tagged to a sector or stock ("Industrials (+0.87 pts)", "Bloom Energy
     (BE, +0.11 pts)") are what that one added to the index;
  5. a share of the gains ("56% of the Russell 2000's gains") is the model's share, and
     only stated where the model gives one (the index gained, its stocks priced cover
     90% of its weight and explain its move within a point).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from recap import formatting as f
from recap.model import WeeklyRecap

UP_WORDS = frozenset(
    {"surged", "climbed", "rose", "gained", "rallied", "advanced", "jumped", "up"}
    | {"beat", "beating", "beats", "ahead", "higher", "added"}
)
DOWN_WORDS = frozenset(
    {"fell", "slipped", "tumbled", "dropped", "declined", "lost", "down", "lower"}
    | {"missed", "missing", "misses", "behind", "trailed", "trailing", "subtracted"}
)
NUMBER = re.compile(r"(?<![\w.])[+-]?\$?\d+(?:,\d{3})*(?:\.\d+)?(?:%| pts| bp|x\b)?")
WORD = re.compile(r"[A-Za-z][A-Za-z-]*|[+-]?\$?\d+(?:,\d{3})*(?:\.\d+)?(?:%| pts| bp|x\b)?")
# How many words may sit between a direction word and its number ("beat the estimate by 4.5%").
REACH = 6
SUPERLATIVES = (
    re.compile(r"\bbest (?:week|day|month) since\b", re.I),
    re.compile(r"\bworst (?:week|day|month) since\b", re.I),
    re.compile(r"\b(?:highest|lowest) since\b", re.I),
)
RECORD = re.compile(r"\b(?:record|all-time high)\b", re.I)
NO_RECORD_CLAIM = re.compile(r"too short to call a record", re.I)
BAD_TOKENS = re.compile(r"\b(?:nan|None|inf)\b|\u2014%")
STANDING = ("50", "52", "100")  # "50-day average", "52-week high", "rebased to 100"


def _walk(value: Any) -> Iterator[Any]:
    if is_dataclass(value) and not isinstance(value, type):
        for fl in fields(value):
            yield from _walk(getattr(value, fl.name))
        ratio = getattr(value, "volatility_ratio", None)
        if ratio is not None:
            yield ratio
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def _signs(recap: WeeklyRecap) -> dict[str, set[int]]:
    """Every way the model's figures print, with the signs of the figures behind them."""
    out: dict[str, set[int]] = defaultdict(set)
    for value in _walk(recap):
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            out[str(value)].add(0)
            out[f.count(value)].add(0)
            continue
        if isinstance(value, dt.date):
            for text in (str(value.day), str(value.year), f.day(value), f.long_date(value)):
                for token in NUMBER.findall(text):
                    out[token].add(0)
            continue
        if isinstance(value, str):
            # Numbers inside names ("Russell 2000", "Nasdaq-100"), never percentages.
            for token in NUMBER.findall(value):
                if not token.endswith(("%", "pts", "bp")):
                    out[token].add(0)
            continue
        if not isinstance(value, float):
            continue
        sign = (value > 0) - (value < 0)
        texts = [f.price(value), f.ratio(value), f.times(value), f.eps(value), f.bps(value)]
        for digits in (0, 1, 2):
            texts += [f.pct(value, digits), f.signed(value, digits), f.pp(value, digits)]
            texts.append(f.pp(value, digits).lstrip("+-"))
        for text in texts:
            out[text].add(sign)
    for token in STANDING:
        out[token].add(0)
    return out


def _number_problems(text: str, signs: dict[str, set[int]]) -> list[str]:
    problems = []
    for token in NUMBER.findall(text):
        if token not in signs:
            problems.append(f"'{token}' is not a figure of the model")
        elif token[0] in "+-" and token[1:2] != "$":
            want = 1 if token[0] == "+" else -1
            if want not in signs[token]:
                problems.append(f"'{token}' has the wrong sign for the model's figure")
    return problems


def _direction_problems(text: str, signs: dict[str, set[int]]) -> list[str]:
    problems = []
    words = WORD.findall(text)
    for i, word in enumerate(words):
        lower = word.lower()
        want = 1 if lower in UP_WORDS else -1 if lower in DOWN_WORDS else 0
        if not want:
            continue
        for nxt in words[i + 1 : i + 1 + REACH]:
            if nxt.lower() in UP_WORDS | DOWN_WORDS:
                break
            if not NUMBER.fullmatch(nxt):
                continue
            if nxt[0] in "+-":
                break  # a signed figure carries its own direction (checked above)
            found = signs.get(nxt, set())
            if found and want not in found and 0 not in found:
                problems.append(f"'{word} ... {nxt}': the figure {nxt} moved the other way")
            break
    return problems


def _claim_problems(text: str, recap: WeeklyRecap) -> list[str]:
    problems = [
        f"unsupported superlative '{m.group(0)}'" for p in SUPERLATIVES for m in p.finditer(text)
    ]
    has_record = any(m.record_close or m.record_sessions for m in recap.indexes)
    claims = RECORD.findall(NO_RECORD_CLAIM.sub("", text))
    if claims and not has_record:
        problems.append(f"'{claims[0]}' claimed, but no index set a record close this week")
    bad = BAD_TOKENS.search(text)
    if bad:
        problems.append(f"a missing value printed in the text: {bad.group(0)!r}")
    return problems


TAGGED_TICKER = re.compile(r"\(([A-Z][A-Z0-9-]{0,5}), ([+-]?\d+\.\d+%)\)")
TAGGED_NAME = re.compile(r"([A-Z][A-Za-z&.' -]*?) \(([+-]?\d+\.\d+%)\)")
TAGGED_TICKER_POINTS = re.compile(r"\(([A-Z][A-Z0-9-]{0,5}), ([+-]?\d+\.\d+ pts)\)")
TAGGED_NAME_POINTS = re.compile(r"([A-Z][A-Za-z&.' -]*?) \(([+-]?\d+\.\d+ pts)\)")
SHARE_OF_GAINS = re.compile(r"(\d+(?:\.\d+)?%) of (?:the |its |their )?[^.;:%]*?\bgains\b")


def _moves_by_key(recap: WeeklyRecap) -> dict[str, set[str]]:
    """Ticker or name -> how its week return prints, for "Name (TICKER, +2.13%)" checks."""
    out: dict[str, set[str]] = defaultdict(set)
    s = recap.sectors
    moves = []
    if s is not None:
        moves = list(s.sectors) + list(s.industries) + [x for w in s.watchlists for x in w.members]
    for m in moves:
        for digits in (1, 2):
            out[m.ticker].add(f.signed(m.week_return, digits))
            out[m.name].add(f.signed(m.week_return, digits))
    a = recap.attribution
    if a is not None and a.week is not None:
        for stock in a.week.top + a.week.bottom:
            for digits in (1, 2):
                out[stock.ticker].add(f.signed(stock.stock_return, digits))
                out[stock.name].add(f.signed(stock.stock_return, digits))
    return out


def _points_by_key(recap: WeeklyRecap) -> dict[str, set[str]]:
    """Sector, ticker or company -> how the points it added print (week or year to date)."""
    out: dict[str, set[str]] = defaultdict(set)
    a = recap.attribution
    if a is None:
        return out
    for period in (a.week, a.ytd):
        if period is None:
            continue
        for sector in period.sectors:
            if sector.contribution is not None:
                for digits in (1, 2):
                    out[sector.sector].add(f.pp(sector.contribution, digits))
        for stock in period.top + period.bottom:
            for digits in (1, 2):
                out[stock.ticker].add(f.pp(stock.contribution, digits))
                out[stock.name].add(f.pp(stock.contribution, digits))
    return out


def _longest_known(before: str, known: dict[str, set[str]]) -> str | None:
    words = before.split()
    return next(
        (" ".join(words[i:]) for i in range(len(words)) if " ".join(words[i:]) in known), None
    )


def _tagged_problems(
    text: str, moves: dict[str, set[str]], points: dict[str, set[str]]
) -> list[str]:
    problems = []
    for ticker, figure in TAGGED_TICKER.findall(text):
        if ticker in moves and figure not in moves[ticker]:
            problems.append(f"'{ticker}, {figure}' is not {ticker}'s week return")
    for before, figure in TAGGED_NAME.findall(text):
        name = _longest_known(before, moves)
        if name is not None and figure not in moves[name]:
            problems.append(f"'{name} ({figure})' is not {name}'s week return")
    for ticker, figure in TAGGED_TICKER_POINTS.findall(text):
        if ticker not in points or figure not in points[ticker]:
            problems.append(f"'{ticker}, {figure}' is not what {ticker} added to the index")
    for before, figure in TAGGED_NAME_POINTS.findall(text):
        name = _longest_known(before, points)
        if name is None or figure not in points[name]:
            who = name or before.split()[-1]
            problems.append(f"'{who} ({figure})' is not what {who} added to the index")
    return problems


def _share_problems(text: str, recap: WeeklyRecap) -> list[str]:
    share = recap.risks.concentration_share if recap.risks else None
    allowed = {f.pct(share, digits) for digits in (0, 1)} if share is not None else set()
    problems = []
    for figure in SHARE_OF_GAINS.findall(text):
        if figure not in allowed:
            why = (
                "the model gives no share of gains this week (the index did not gain, or its "
                "priced stocks cover under 90% of it or miss its move by over a point)"
                if share is None
                else f"the model's share is {f.pct(share, 0)}"
            )
            problems.append(f"'{figure} of ... gains': {why}")
    return problems


def check_story(recap: WeeklyRecap) -> tuple[str, ...]:
    """Every problem found in the headline, dek and paragraphs, each naming its text."""
    signs = _signs_without_prose(recap)
    moves = _moves_by_key(recap)
    points = _points_by_key(recap)
    texts = [("headline", recap.headline), ("dek", recap.dek)]
    texts += [(p.section, p.text) for p in recap.narrative]
    problems: list[str] = []
    for where, text in texts:
        found = (
            _number_problems(text, signs)
            + _direction_problems(text, signs)
            + _claim_problems(text, recap)
            + _tagged_problems(text, moves, points)
            + _share_problems(text, recap)
        )
        problems.extend(f"{where}: {p} (in: {text[:80]!r})" for p in found)
    return tuple(problems)


def _signs_without_prose(recap: WeeklyRecap) -> dict[str, set[int]]:
    # The prose itself is in the model: leave it out, or every number would vouch for itself.
    bare = dataclasses.replace(recap, headline="", dek="", narrative=())
    return _signs(bare)
