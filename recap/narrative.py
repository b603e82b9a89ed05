"""The prose: headline, dek, lead and a paragraph per section, realized from planned claims.

1. ``stories.select_stories`` ranks the week's stories, news first (milestones, records,
   streaks, drawdowns, the biggest day) and ``headlines`` picks the headline: the top
   story (and the second where it fits), never one of the four previous weeks'.
2. ``storyplan`` decides every sentence as a typed message made of claims.
3. Each message is realized by the macro of its kind in templates/narrative/<section>.txt.j2
   and checked at once (recap.checker.SentenceCheck). A sentence the checker refuses is
   replaced by the plain realization of the same claims, itself checked, and the data
   notes say one sentence was simplified: one sentence never costs the week its edition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from recap import render, words
from recap.checker import SentenceCheck
from recap.claims import Claim, Closes, Measure
from recap.config import RecapConfig
from recap.errors import RenderError
from recap.headlines import dated, headline_options, pick_headline
from recap.model import IndexMove, Paragraph, Sentence, WeeklyRecap
from recap.stories import Story, select_stories
from recap.storyplan import (
    SECTION_PLANNERS,
    Kind,
    Message,
    Planner,
    leading_sectors,
    plan_dek,
    plan_indexes,
    plan_lead,
)

TEMPLATE_OF = {"dek": "dek", "lead": "lead"}


def verb(value: float) -> str:
    """The first verb of the house scale for an index move: 'climbed' for +2.04%."""
    return words.verb(value)


def join_names(items: Sequence[str]) -> str:
    """['A', 'B', 'C'] -> 'A, B and C'."""
    return words.join(items)


def ordinal(n: int) -> str:
    """1 -> '1st', 11 -> '11th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Namer:
    """Index names as a reader meets them: full at first reference, short after."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, m: IndexMove) -> str:
        if m.symbol in self._seen:
            return m.later_name or m.name
        self._seen.add(m.symbol)
        return m.full_name or m.name

    def state(self) -> frozenset[str]:
        return frozenset(self._seen)

    def restore(self, state: frozenset[str]) -> None:
        self._seen = set(state)


@lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> jinja2.Environment:
    # The report's environment (loader, StrictUndefined, number filters) plus the prose
    # filters; *.txt.j2 is not autoescaped: the HTML templates escape the prose they show.
    env = render.environment(templates_dir).overlay()
    env.filters.update(cap=words.cap, sector=words.sector_word)
    return env


def _kind_template(kind: Kind, section: str) -> str:
    if kind.value.startswith("dek_"):
        return "dek"
    if kind.value.startswith("lead_"):
        return "lead"
    if kind in (Kind.MARKET_MOVE, Kind.CO_MOVE):
        return "markets"
    return section


PERIODS = {
    "week": "on the week",
    "ytd": "this year",
    "day": "on the day",
    "release": "after its results",
    "52w": "from its 52-week high",
    "3m": "over three months",
}
MEASURES = {
    Measure.CONTRIBUTION: "points added to the index",
    Measure.SPREAD: "difference",
    Measure.SURPRISE: "earnings surprise",
    Measure.SHARE: "share of the gains",
    Measure.MULTIPLE: "multiple",
    Measure.CORRELATION: "correlation",
}


@dataclass
class Realizer:
    """Turns messages into checked sentences, one at a time, in reading order."""

    recap: WeeklyRecap
    env: jinja2.Environment
    check: SentenceCheck

    def __post_init__(self) -> None:
        self.nm = Namer()
        self.simplified: list[str] = []
        self.dropped: list[str] = []
        self._indexes = {m.symbol: m for m in self.recap.indexes}
        day = self.recap.week.end
        self._globals: dict[str, Any] = {
            "nm": self.nm,
            "join": words.join,
            "number_word": words.number_word,
            "choose": lambda key, *options: words.choose(options, day, key),
        }
        self._modules: dict[str, Any] = {}

    def _module(self, name: str) -> Any:
        if name not in self._modules:
            try:
                template = self.env.get_template(f"narrative/{name}.txt.j2")
                self._modules[name] = template.make_module(vars=self._globals)
            except jinja2.TemplateError as e:
                raise RenderError(f"template narrative/{name}.txt.j2: {e}") from None
        return self._modules[name]

    def words_of(self, msg: Message) -> str:
        """The message in its own phrasing (the template macro named after its kind)."""
        module = self._module(_kind_template(msg.kind, msg.section))
        macro = getattr(module, msg.kind.value, None)
        if macro is None:
            raise RenderError(
                f"no phrasing for message kind {msg.kind.value!r} in "
                f"templates/narrative/{_kind_template(msg.kind, msg.section)}.txt.j2"
            )
        try:
            text = str(macro(_Words(msg.words), _Claims(msg.claims)))
        except jinja2.TemplateError as e:
            raise RenderError(f"template narrative, {msg.kind.value}: {e}") from None
        return tidy(text)

    def plain(self, msg: Message) -> str:
        """The same claims said plainly: subject, direction and figure, nothing else."""
        parts = []
        for c in msg.claims.values():
            name = self._name(c)
            figure = c.text
            if c.measure in (
                Measure.COUNT,
                Measure.SHARE,
                Measure.MULTIPLE,
                Measure.CORRELATION,
                Measure.BELOW_HIGH,
                Measure.CLOSE,
            ):
                label = MEASURES.get(c.measure, c.measure.value.replace("_", " "))
                parts.append(f"{name}: {figure} ({label}, {PERIODS.get(c.period, c.period)})")
                continue
            way = "unchanged" if c.direction == 0 else "up" if c.value > 0 else "down"
            figure = figure.lstrip("+-")
            if c.measure is Measure.POINTS and c.kind == "index":
                figure += " points"
            what = MEASURES.get(c.measure)
            tail = f" ({what})" if what else ""
            parts.append(
                f"{name} {PERIODS.get(c.period, c.period)}: {way}"
                + ("" if way == "unchanged" else f" {figure}")
                + tail
            )
        return " ".join(tidy(words.cap(part) + ".") for part in parts)

    def _name(self, c: Claim) -> str:
        m = self._indexes.get(c.key)
        if c.kind == "index" and m is not None:
            return self.nm(m)
        return c.subject

    def sentence(self, msg: Message, where: str) -> Sentence | None:
        """The message realized and checked; its plain form when refused; None when it has
        no plain form either (a sentence without figures), dropped with a note."""
        state = self.nm.state()
        text = self.words_of(msg)
        problems = self.check.problems(where, text)
        if not problems:
            # the claims it states: a planned figure its wording leaves out is not stated
            stated = tuple(c for c in msg.claims.values() if c.text in text)
            return Sentence(text=text, claims=stated)
        self.nm.restore(state)
        plain = self.plain(msg)
        if plain and not self.check.problems(where, plain):
            self.simplified.append(f"{msg.kind.value}: {problems[0]}")
            return Sentence(text=plain, claims=tuple(msg.claims.values()), plain=True)
        if not plain:
            self.dropped.append(f"{msg.kind.value}: {problems[0]}")
            return None
        raise RenderError(
            "the prose contradicts the numbers, and so does its plain form: "
            + "; ".join(problems + self.check.problems(where, plain)),
            tuple(problems),
        )


class _Claims(dict[str, Claim]):
    """Claims by role; a role the message lacks reads as missing in a template."""

    def __getattr__(self, name: str) -> Claim | None:
        return self.get(name)


class _Words(dict[str, Any]):
    """Words by name; a word the planner did not set reads as missing (None)."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def tidy(text: str) -> str:
    """Whitespace collapsed and no space before punctuation."""
    text = " ".join(text.split())
    for mark in (",", ".", ";", ":"):
        text = text.replace(f" {mark}", mark)
    return text


def told(headline: str, story: Story) -> bool:
    """True when the headline tells ``story`` (the dek then tells the next ones)."""
    return any(p in headline for p in story.phrases) or (
        bool(story.risk) and f"{story.risk} Risks" in headline
    )


@dataclass(frozen=True)
class Written:
    """What write_story makes."""

    headline: str
    dek: str
    paragraphs: tuple[Paragraph, ...]
    notes: tuple[str, ...]
    simplified: tuple[str, ...] = ()  # what each plain or dropped sentence was refused for


def compose(
    recap: WeeklyRecap,
    config: RecapConfig,
    earlier: Sequence[Sequence[str]] = (),
    closes: Closes | None = None,
) -> Written:
    """Headline, dek, paragraphs and the data notes the prose needs (simplified sentences)."""
    stories = select_stories(recap)
    check = SentenceCheck(recap)
    options = [
        h for h in headline_options(stories, recap.week.end) if not check.problems("headline", h)
    ]
    headline = pick_headline(
        options or [dated("Stocks Close Out the Week", recap.week.end)], earlier
    )
    planner = Planner(recap, closes)
    r = Realizer(recap, _environment(config.templates_dir), check)
    dek = _dek(r, plan_dek(planner, stories, lambda s: told(headline, s)))
    paragraphs: list[Paragraph] = []
    leads = plan_lead(planner, stories)
    told_res = next((m.words.get("res") for m in leads if m.kind is Kind.LEAD_EARNINGS), None)
    planner.lead_ticker = told_res.ticker if told_res is not None else ""
    lead = [s for s in (r.sentence(m, "indexes") for m in leads) if s]
    if lead:
        paragraphs.append(_paragraph("indexes", lead))
    top = stories[0] if stories else None
    given = {
        c.key
        for s in lead
        for c in s.claims
        if c.kind == "index" and c.measure is Measure.RETURN and c.period == "week"
    }
    planned = plan_indexes(planner, top, given)
    rest = [s for s in (r.sentence(m, "indexes") for m in planned) if s]
    if rest:
        paragraphs.append(_paragraph("indexes", rest))
    for section, plan in SECTION_PLANNERS:
        said = [s for s in (r.sentence(m, section) for m in plan(planner)) if s]
        if said:
            paragraphs.append(_paragraph(section, said))
    paragraphs = _whole(r, paragraphs)
    notes = []
    if r.simplified:
        n = len(r.simplified)
        notes.append(
            f"{words.number_word(n).capitalize()} sentence{'s' if n > 1 else ''} of the story "
            f"{'were' if n > 1 else 'was'} said plainly, as {'their' if n > 1 else 'its'} "
            "first wording did not pass the checks against the data."
        )
    if r.dropped:
        n = len(r.dropped)
        notes.append(
            f"{words.number_word(n).capitalize()} sentence{'s' if n > 1 else ''} without "
            f"figures {'were' if n > 1 else 'was'} left out of the story, as "
            f"{'their' if n > 1 else 'its'} wording did not pass the checks."
        )
    return Written(headline, dek, tuple(paragraphs), tuple(notes), tuple(r.simplified + r.dropped))


def _paragraph(section: str, sentences: Sequence[Sentence]) -> Paragraph:
    return Paragraph(
        section=section, text=" ".join(s.text for s in sentences), sentences=tuple(sentences)
    )


def _dek(r: Realizer, messages: Sequence[Message]) -> str:
    """One sentence of at most two clauses; a clause the checks refuse is left out."""
    clauses = []
    for msg in messages:
        text = r.words_of(msg)
        if not r.check.problems("dek", words.cap(text) + "."):
            clauses.append(text)
    while clauses:
        dek = words.cap("; ".join(clauses)) + "."
        if not r.check.problems("dek", dek):
            return dek
        clauses.pop()
    return ""


def _whole(r: Realizer, paragraphs: list[Paragraph]) -> list[Paragraph]:
    """Checks over the whole text (a ticker once, full names first, a short lead): a
    sentence that breaks one is said plainly."""
    for _ in range(8):
        body = " ".join(p.text for p in paragraphs)
        problems = r.check.whole(body, paragraphs[0].text if paragraphs else "")
        if not problems:
            return paragraphs
        target = _offender(paragraphs, problems[0])
        if target is None:
            raise RenderError(
                "the prose contradicts the numbers: " + "; ".join(problems), tuple(problems)
            )
        pi, si = target
        p = paragraphs[pi]
        old = p.sentences[si]
        plain = _plain_sentence(r, old)
        if plain is None or plain == old.text:
            sentences = p.sentences[:si] + p.sentences[si + 1 :]
            r.dropped.append(problems[0])
        else:
            sentences = (
                *p.sentences[:si],
                Sentence(plain, old.claims, True),
                *p.sentences[si + 1 :],
            )
            r.simplified.append(problems[0])
        paragraphs[pi] = _paragraph(p.section, sentences)
        paragraphs = [x for x in paragraphs if x.sentences]
    raise RenderError("the prose contradicts the numbers: " + "; ".join(problems), tuple(problems))


def _plain_sentence(r: Realizer, s: Sentence) -> str | None:
    if not s.claims:
        return None
    msg = Message("plain", Kind.QUESTIONS, {str(i): c for i, c in enumerate(s.claims)})
    # names in a plain sentence are the short ones: the first reference came earlier
    r.nm.restore(frozenset(r._indexes))
    text = r.plain(msg)
    return text or None


def _offender(paragraphs: Sequence[Paragraph], problem: str) -> tuple[int, int] | None:
    """The last sentence that holds what ``problem`` quotes (a ticker, a name)."""
    import re

    quoted = re.findall(r"'([^']+)'", problem)
    if problem.startswith("the lead has"):
        return (0, len(paragraphs[0].sentences) - 1) if paragraphs else None
    for pi in range(len(paragraphs) - 1, -1, -1):
        for si in range(len(paragraphs[pi].sentences) - 1, -1, -1):
            if any(q in paragraphs[pi].sentences[si].text for q in quoted):
                return pi, si
    return None


def write_story(
    recap: WeeklyRecap,
    config: RecapConfig,
    earlier: Sequence[Sequence[str]] = (),
    closes: Closes | None = None,
) -> tuple[str, str, tuple[Paragraph, ...]]:
    """(headline, dek, paragraphs) for a recap whose facts are computed.

    ``earlier`` holds the headline options of the weeks before (at most four): the
    headline is none of them.
    """
    story = compose(recap, config, earlier, closes)
    return story.headline, story.dek, story.paragraphs


def paragraphs(recap: WeeklyRecap, config: RecapConfig) -> tuple[Paragraph, ...]:
    """The story's paragraphs, tagged by section (the dek aside)."""
    return compose(recap, config, (), None).paragraphs


def options_for(recap: WeeklyRecap) -> tuple[str, ...]:
    """Every headline this week's facts allow (what later weeks must not repeat)."""
    return headline_options(select_stories(recap), recap.week.end)


def kinds_without_phrasing(templates_dir: Path) -> list[str]:
    """Message kinds with no macro in their section's template (a test keeps this empty)."""
    env = _environment(templates_dir)
    found: set[str] = set()
    for name in (
        "dek",
        "lead",
        "indexes",
        "markets",
        "attribution",
        "sectors",
        "banks",
        "risks",
        "week_ahead",
        "conclusion",
    ):
        module = env.get_template(f"narrative/{name}.txt.j2").make_module(
            vars={
                "nm": Namer(),
                "join": words.join,
                "number_word": words.number_word,
                "choose": lambda key, *o: o[0],
            }
        )
        found.update(k.value for k in Kind if hasattr(module, k.value))
    return sorted(k.value for k in Kind if k.value not in found)


__all__ = [
    "Namer",
    "compose",
    "join_names",
    "kinds_without_phrasing",
    "leading_sectors",
    "options_for",
    "ordinal",
    "paragraphs",
    "verb",
    "write_story",
]
