"""Hold the prose to the numbers and to its meaning: run on every build, a build with
problems fails.

Over the headline, dek and every paragraph:
  1. every number in the text is one of the model's figures, as the filters format it;
  2. a direction word (rose, fell, beat, up, added, subtracted...) and the number after
     it agree in sign, and a signed figure (+2.13%) has the sign of a model figure that
     prints that way;
  3. a sized verb ("surged", "edged up") fits the size of its figure (recap.words);
  4. no superlative ("record", "all-time high", "best week since", "worst day since")
     without the fact;
  5. a figure tagged to a fund or stock ("Financials (-2.31%)") is that one's return or
     reaction to results, and points tagged to a sector or stock ("Industrials (+0.87
     pts)", "Bloom Energy (BE, +0.11 pts)") are what that one added to the index;
  6. a share of the gains ("56% of the Russell 2000's gains") is the model's share, and
     only stated where the model gives one (the index gained, its stocks priced cover
     90% of its weight and explain its move within a point);
  7. the rules of meaning and style in recap.prose_rules: rank words against signs,
     "gains" only for an index that rose, beats and misses by the cent, records for the
     index that set them, sentences of at most 40 words, full names at first reference,
     a ticker at most once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any

from recap import formatting as f
from recap import prose_rules as rules
from recap import words as w
from recap.model import WeeklyRecap

UP_WORDS = frozenset(
    {"surged", "soared", "climbed", "rose", "gained", "added", "rallied", "advanced"}
    | {"jumped", "up", "beat", "beating", "beats", "ahead", "higher"}
)
DOWN_WORDS = frozenset(
    {"fell", "slipped", "eased", "tumbled", "plunged", "dropped", "declined", "slid", "sank"}
    | {"lost", "down", "lower", "missed", "missing", "misses", "behind", "trailed", "trailing"}
    | {"subtracted"}
)
# A comparison between the verb and the figure: the figure is a gap, not the move.
COMPARATIVES = frozenset({"than", "less", "more", "further", "gap", "margin"})
SIZED = frozenset(v for v in w.SCALED_VERBS if " " not in v) | {"edged"}
UNIT = r"(?:%| pts| percentage points?| bp|x\b)?"
NUMBER = re.compile(r"(?<![\w.])[+-]?\$?\d+(?:,\d{3})*(?:\.\d+)?" + UNIT)
WORD = re.compile(r"[A-Za-z][A-Za-z-]*|[+-]?\$?\d+(?:,\d{3})*(?:\.\d+)?" + UNIT)
POINTS = re.compile(r" percentage points?$")
# How many words may sit between a direction word and its number ("beat the estimate by 4.5%").
REACH = 6
# "Best week since April" is held to the week behind it (prose_rules.since_problems);
# these have no fact in the model at all.
SUPERLATIVES = (
    re.compile(r"\b(?:best|worst) month since\b", re.I),
    re.compile(r"\b(?:highest|lowest) since\b", re.I),
)
RECORD = re.compile(r"\b(?:record|all-time high)\b", re.I)
NO_RECORD_CLAIM = re.compile(r"too short to call a record", re.I)
BAD_TOKENS = re.compile(r"\b(?:nan|None|inf)\b|\u2014%")
STANDING = ("50", "52", "100")
HEADLINE_LENGTH = 70  # "50-day average", "52-week high", "rebased to 100"


def _walk(value: Any) -> list[Any]:
    """Every value in the model, depth first (a list: nested generators cost more than
    the formatting of what they yield)."""
    out: list[Any] = []
    _collect(value, out)
    return out


def _collect(value: Any, out: list[Any]) -> None:
    if is_dataclass(value) and not isinstance(value, type):
        for name in _field_names(type(value)):
            _collect(getattr(value, name), out)
        ratio = getattr(value, "volatility_ratio", None)
        if ratio is not None:
            out.append(ratio)
    elif isinstance(value, tuple | list):
        for v in value:
            _collect(v, out)
    else:
        out.append(value)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(fl.name for fl in fields(cls))


def _signs(recap: WeeklyRecap) -> dict[str, set[int]]:
    """Every way the model's figures print, with the signs of the figures behind them."""
    out: dict[str, set[int]] = defaultdict(set)
    seen: set[tuple[type, object]] = set()
    for value in _walk(recap):
        if isinstance(value, bool) or value is None:
            continue
        # A value met again prints the same ways (a float by its bits: -0.0 is not 0.0).
        key = (type(value), value.hex() if isinstance(value, float) else value)
        if key in seen:
            continue
        seen.add(key)
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
        for text in _float_texts(value):
            out[text].add(sign)
    for token in STANDING:
        out[token].add(0)
    return out


def _float_texts(value: float) -> list[str]:
    """Every way the filters may print a float figure."""
    texts = [f.price(value), f.ratio(value), f.times(value), f.eps(value), f.bps(value)]
    texts.append(f.price(abs(value)))  # "fell 26.27 points": the verb carries the sign
    texts.append(f.eps(abs(value)))  # "lost $0.12 a share": the verb carries the sign
    if value.is_integer():
        texts.append(f"{int(value):,}")  # a round level: "6,500"
    for digits in (0, 1, 2):
        points = f.pp(value, digits)
        texts += [f.pct(value, digits), f.signed(value, digits), points, points.lstrip("+-")]
    return texts


def _unit(token: str) -> str:
    """'2.4 percentage points' -> '2.4 pts', as the filters print it."""
    return POINTS.sub(" pts", token)


def _number_problems(text: str, signs: dict[str, set[int]]) -> list[str]:
    problems = []
    for token in map(_unit, NUMBER.findall(text)):
        if token not in signs:
            problems.append(f"'{token}' is not a figure of the model")
        elif token[0] in "+-" and token[1:2] != "$":
            want = 1 if token[0] == "+" else -1
            if want not in signs[token]:
                problems.append(f"'{token}' has the wrong sign for the model's figure")
    return problems


def _figure_after(tokens: list[str], i: int, skip: frozenset[str] = frozenset()) -> str | None:
    """The unsigned figure a word at ``i`` governs: the first number within reach, unless
    another direction word, a comparison or a signed figure comes first."""
    for nxt in tokens[i + 1 : i + 1 + REACH]:
        lower = nxt.lower()
        if lower in skip:
            continue
        if lower in UP_WORDS | DOWN_WORDS or lower in COMPARATIVES:
            return None
        if not NUMBER.fullmatch(nxt):
            continue
        return None if nxt[0] in "+-" else _unit(nxt)  # a signed figure carries its sign
    return None


def _clause_tokens(text: str) -> list[list[str]]:
    """Words and figures clause by clause: a direction word reaches no further."""
    return [WORD.findall(c) for s in rules.sentences(text) for c in re.split(r"[;:]", s)]


def _direction_problems(text: str, signs: dict[str, set[int]]) -> list[str]:
    problems = []
    for tokens in _clause_tokens(text):
        problems += _directions_in(tokens, signs)
    return problems


def _directions_in(tokens: list[str], signs: dict[str, set[int]]) -> list[str]:
    problems = []
    for i, word in enumerate(tokens):
        lower = word.lower()
        want = 1 if lower in UP_WORDS else -1 if lower in DOWN_WORDS else 0
        if not want:
            continue
        nxt = _figure_after(tokens, i)
        found = signs.get(nxt, set()) if nxt else set()
        if nxt and found and want not in found and 0 not in found:
            problems.append(f"'{word} ... {nxt}': the figure {nxt} moved the other way")
    return problems


def _size_problems(text: str) -> list[str]:
    pairs = []
    for tokens in _clause_tokens(text):
        for i, word in enumerate(tokens):
            if word.lower() not in SIZED:
                continue
            edged = word.lower() == "edged"
            skip = frozenset({"up", "down", "higher", "lower"}) if edged else frozenset()
            nxt = _figure_after(tokens, i, skip)
            if nxt and nxt.endswith("%"):
                pairs.append((word.lower(), nxt))
    return rules.verb_size_problems(pairs)


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
    """Ticker or name -> how its week return (or its reaction to results) prints, for
    "Name (TICKER, +2.13%)" checks."""
    out: dict[str, set[str]] = defaultdict(set)
    s = recap.sectors
    results = list(recap.earnings) + (
        list(recap.banks.reported + recap.banks.large) if recap.banks else []
    )
    for r in results:
        if r.reaction is not None:
            for digits in (1, 2):
                out[r.ticker].add(f.signed(r.reaction, digits))
                out[r.name].add(f.signed(r.reaction, digits))
    if s is None:
        return out
    for m in list(s.sectors) + list(s.industries) + [x for wl in s.watchlists for x in wl.members]:
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


def _meaning_problems(where: str, text: str, recap: WeeklyRecap) -> list[str]:
    return (
        rules.style_problems(where, text)
        + rules.rank_problems(text)
        + rules.gains_problems(recap, text)
        + rules.small_caps_problems(recap, text)
        + rules.earnings_problems(recap, text)
        + rules.record_problems(recap, text)
        + rules.since_problems(recap, text)
        + rules.extreme_problems(recap, text)
        + rules.as_problems(text)
    )


class SentenceCheck:
    """The English guard over one text at a time, against one week's model (what the
    prose is written from, so built once): numbers, directions, sizes, superlatives,
    tagged figures, shares of gains and the rules of meaning and style."""

    def __init__(self, recap: WeeklyRecap) -> None:
        self.recap = dataclasses.replace(recap, headline="", dek="", narrative=())
        self.signs = _signs(self.recap)
        for m in self.recap.markets:
            self.signs[f"${m.last:,.2f}"].add(0)  # a price level: "$3,843.01"
            # yields: basis points as whole numbers and the level in percent
            if m.change_unit == "bp":
                self.signs[str(round(abs(m.week_change)))].add(
                    (m.week_change > 0) - (m.week_change < 0)
                )
                self.signs[f"{m.last:.2f}%"].add(0)
        self.moves = _moves_by_key(self.recap)
        self.points = _points_by_key(self.recap)

    def problems(self, where: str, text: str) -> list[str]:
        """What is wrong with ``text`` (a sentence, a paragraph, the dek or the headline)."""
        recap = self.recap
        found = (
            _number_problems(text, self.signs)
            + _direction_problems(text, self.signs)
            + _size_problems(text)
            + _claim_problems(text, recap)
            + _tagged_problems(text, self.moves, self.points)
            + _share_problems(text, recap)
            + _meaning_problems(where, text, recap)
        )
        if where == "headline" and len(text) > HEADLINE_LENGTH:
            found.append(f"{len(text)} characters (at most {HEADLINE_LENGTH})")
        return found

    def whole(self, body: str, lead: str) -> list[str]:
        """Problems only the whole text shows: names at first reference, tickers once,
        the lead's length."""
        out = rules.naming_problems(self.recap, body) + rules.ticker_problems(self.recap, body)
        if lead:
            out += rules.lead_problems(lead)
        return out


def check_story(recap: WeeklyRecap) -> tuple[str, ...]:
    """Every problem found in the headline, dek and paragraphs, each naming its text."""
    check = SentenceCheck(recap)
    texts = [("headline", recap.headline), ("dek", recap.dek)]
    texts += [(p.section, p.text) for p in recap.narrative]
    problems: list[str] = []
    for where, text in texts:
        problems.extend(f"{where}: {p} (in: {text[:80]!r})" for p in check.problems(where, text))
    body = " ".join(p.text for p in recap.narrative)
    lead = recap.narrative[0].text if recap.narrative else ""
    problems.extend(f"prose: {p}" for p in check.whole(body, lead))
    return tuple(problems)


def _signs_without_prose(recap: WeeklyRecap) -> dict[str, set[int]]:
    # The prose itself is in the model: leave it out, or every number would vouch for itself.
    bare = dataclasses.replace(recap, headline="", dek="", narrative=())
    return _signs(bare)
