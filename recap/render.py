"""The Jinja environment and the render functions: WeeklyRecap (+ charts) -> str.

One loader over the templates folder from config; autoescaping on for *.html.j2;
StrictUndefined so a renamed field fails loudly instead of rendering blank. Number
formatting comes only from the filters registered here (recap.formatting).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from recap import formatting
from recap.config import RecapConfig
from recap.errors import RenderError
from recap.model import WeeklyRecap


@lru_cache(maxsize=4)
def environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update({name: getattr(formatting, name) for name in formatting.__all__})
    return env


def _render(config: RecapConfig, name: str, **context: Any) -> str:
    env = environment(config.templates_dir)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as e:
        where = getattr(e, "filename", None) or name
        line = getattr(e, "lineno", None)
        at = f"{where}, line {line}" if line else where
        raise RenderError(f"template {at}: {e}") from None


def render_html(
    recap: WeeklyRecap, charts: Sequence[Any], config: RecapConfig, *, for_print: bool = False
) -> str:
    """The standalone web page (inline SVG charts), or its print variant for the PDF."""
    return _render(
        config,
        "recap.html.j2",
        recap=recap,
        charts=charts,
        chart_map={c.name: c for c in charts},
        report=config.report,
        for_print=for_print,
    )


def render_email_html(recap: WeeklyRecap, charts: Sequence[Any], config: RecapConfig) -> str:
    """The HTML part of the email (charts by cid:, CSS inlined by delivery)."""
    return _render(
        config,
        "email.html.j2",
        recap=recap,
        charts=charts,
        chart_map={c.name: c for c in charts},
        report=config.report,
    )


def render_text(recap: WeeklyRecap, config: RecapConfig) -> str:
    """The plain-text recap (the text/plain part of the email)."""
    return _render(config, "email.txt.j2", recap=recap, charts=(), report=config.report)
