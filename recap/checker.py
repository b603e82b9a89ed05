"""Hold the prose to the numbers: run on every build, a build with problems fails.

Three checks over the headline, dek and every paragraph:
  1. every number in the text is one of the model's figures, as the filters format it;
  2. a direction word (rose, fell, beat, up...) and the number after it agree in sign,
     and a signed figure (+2.13%) has the sign of a model figure that prints that way;
  3. no superlative ("record", "all-time high", "best week since") without the fact;
  4. a figure tagged to a fund or stock ("Financials (XLF, -2.31%)") is that one's return.
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
    | {"beat", "beating", "beats", "ahead", "higher"}
)
DOWN_WORDS = frozenset(
    {"fell", "slipped", "tumbled", "dropped", "declined", "lost", "down", "lower"}
    | {"missed", "missing", "misses", "behind", "trailed", "trailing"}
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


TAGGED_TICKER = re.compile(r"\(([A-Z]{1,5}), ([+-]?\d+\.\d+%)\)")
TAGGED_NAME = re.compile(r"([A-Z][A-Za-z&.' -]*?) \(([+-]?\d+\.\d+%)\)")


def _moves_by_key(recap: WeeklyRecap) -> dict[str, set[str]]:
    """Ticker or name -> how its week return prints, for "Name (TICKER, +2.13%)" checks."""
    out: dict[str, set[str]] = defaultdict(set)
    s = recap.sectors
    if s is None:
        return out
    for m in list(s.sectors) + list(s.industries) + [x for w in s.watchlists for x in w.members]:
        for digits in (1, 2):
            out[m.ticker].add(f.signed(m.week_return, digits))
            out[m.name].add(f.signed(m.week_return, digits))
    return out


def _tagged_problems(text: str, moves: dict[str, set[str]]) -> list[str]:
    problems = []
    for ticker, figure in TAGGED_TICKER.findall(text):
        if ticker in moves and figure not in moves[ticker]:
            problems.append(f"'{ticker}, {figure}' is not {ticker}'s week return")
    for before, figure in TAGGED_NAME.findall(text):
        words = before.split()
        name = next(
            (" ".join(words[i:]) for i in range(len(words)) if " ".join(words[i:]) in moves), None
        )
        if name is not None and figure not in moves[name]:
            problems.append(f"'{name} ({figure})' is not {name}'s week return")
    return problems


def check_story(recap: WeeklyRecap) -> tuple[str, ...]:
    """Every problem found in the headline, dek and paragraphs, each naming its text."""
    signs = _signs_without_prose(recap)
    moves = _moves_by_key(recap)
    texts = [("headline", recap.headline), ("dek", recap.dek)]
    texts += [(p.section, p.text) for p in recap.narrative]
    problems: list[str] = []
    for where, text in texts:
        found = (
            _number_problems(text, signs)
            + _direction_problems(text, signs)
            + _claim_problems(text, recap)
            + _tagged_problems(text, moves)
        )
        problems.extend(f"{where}: {p} (in: {text[:80]!r})" for p in found)
    return tuple(problems)


def _signs_without_prose(recap: WeeklyRecap) -> dict[str, set[int]]:
    # The prose itself is in the model: leave it out, or every number would vouch for itself.
    bare = dataclasses.replace(recap, headline="", dek="", narrative=())
    return _signs(bare)
