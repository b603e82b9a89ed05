"""The Jinja environment and the render functions: WeeklyRecap (+ charts) -> str.

One loader over the templates folder from config; autoescaping on for *.html.j2;
StrictUndefined so a renamed field fails loudly instead of rendering blank. Number
formatting comes only from the filters registered here (recap.formatting); ``yaml`` and
``md`` quote text for the blog post's front matter and Markdown (not HTML-escaped).
Delivery renders its pages, post and email parts through ``render_template``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from jinja2.bccache import Bucket

from recap import formatting, kept, layout, links, palette, stories
from recap.config import RecapConfig
from recap.errors import RenderError
from recap.model import WeeklyRecap

# The pages' icon, inline so a page asks no server for /favicon.ico: the masthead's
# navy with a rising line. Email may carry no SVG at all, so it gets the same as a PNG.
_ICON = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>"
    "<rect width='32' height='32' rx='6' fill='#0b3d66'/><path d='M6 22l7-7 5 4 8-10' "
    "fill='none' stroke='#fff' stroke-width='3' stroke-linecap='round' "
    "stroke-linejoin='round'/></svg>"
)
# base64, so the page's text holds no namespace URL that a check for links would trip on
ICON_SVG = "data:image/svg+xml;base64," + base64.b64encode(_ICON.encode()).decode()
ICON_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgBAMAAACBVGfHAAAAMFBMVEUCMl0AAABtiq"
    "PT3OQHHHEMPmYLPWa6ydQ6YoOTqbxRc5EuWHuessIKPGX8/P0QQWqgB9b4AAAAEHRSTlP2AP//Cmi3/////////v"
    "//rKQFcAAAARdJREFUeNpd0jFLw0AUB/B/ntkk2AuCushBraBECI7dCg7OTkU6+A0q7oLOlaqDH0En6SeQkE9Qzs"
    "ExcgpWtCUWrkEDEhwuxbu87f3ufwfv7hzm/gjMS53HtHD438O7DWm3D6M+6rQmTSiuHU+YAEVWz+GRtVwDTKAmt4"
    "FtPIRwjcDqKLcSxRhtYYLqoQU4iW480PbbbGdYJtQnOGtgkJYJqk9ealujfFOUh7IAy49jtAU0kB9jsdlDi5fAAu"
    "zBPZ5dSg3kx1l0AwxSaGABOl8XV/mpBAAX8CdZhPRpX18EQd2j8ypl8VxOBH6WRevA0lSDk+D37qgwZga++0Y/H8"
    "5KVCBE5RkObGjQO7c2dGl4YsJK4lS/wx/G3leev8trngAAAABJRU5ErkJggg=="
)

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
logger = logging.getLogger(__name__)


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between processes, checked against each template's source:
    a cold build skips compiling them (the prose template alone takes ~0.5 s). A folder
    that cannot be written costs time, never a build."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:  # e.g. the folder is a file: compile as if nothing was kept
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError as e:
            logger.debug("compiled template not kept in %s: %s", self.directory, e)


def yaml_scalar(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (Hugo and Jekyll both read it)."""
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=False)


def markdown_text(text: str) -> str:
    """``text`` with Markdown's special characters escaped, so it prints as written."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return "\\" + escaped if escaped[:1] in ("#", "+", "-", "=") else escaped


@lru_cache(maxsize=4)
def environment(templates_dir: Path) -> jinja2.Environment:
    """The one Jinja environment over ``templates_dir`` (built once per folder and process)."""
    where = kept.folder("templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=CompiledTemplates(str(where))
        if (where := kept.folder("templates"))
        else None,
    )
    env.filters.update({name: getattr(formatting, name) for name in formatting.__all__})
    env.globals.update(
        chart_dark_fills=palette.dark_fills(),
        chart_dark_strokes=palette.dark_strokes(),
        icon_svg=ICON_SVG,
        icon_png=ICON_PNG,
    )
    env.filters.update(yaml=yaml_scalar, md=markdown_text)
    return env


def render_template(templates_dir: Path, template: str, /, **context: Any) -> str:
    """``template`` of ``templates_dir`` rendered with ``context``; RenderError naming it."""
    env = environment(templates_dir)
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateError as e:
        where = getattr(e, "filename", None) or template
        line = getattr(e, "lineno", None)
        at = f"{where}, line {line}" if line else where
        raise RenderError(f"template {at}: {e}") from None


def _render(config: RecapConfig, name: str, **context: Any) -> str:
    return render_template(config.templates_dir, name, **context)


def _story(recap: WeeklyRecap, charts: Sequence[Any], config: RecapConfig) -> dict[str, Any]:
    """What every format shares: the sections shown (recap.layout) and the week's links."""
    lead = next((c.name for c in charts), "")
    return {
        "sections": layout.shown_sections(recap),
        # The one rule for stating a share of the year's gains (prose and risk measures).
        "risk_share": stories.stated_share(recap),
        "links": links.week_links(config, recap.week, recap.generated_at, lead),
    }


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
        **_story(recap, charts, config),
    )


def render_email_html(recap: WeeklyRecap, charts: Sequence[Any], config: RecapConfig) -> str:
    """The HTML part of the email as it is sent: charts by cid:, CSS inlined."""
    html = _render(
        config,
        "email.html.j2",
        recap=recap,
        charts=charts,
        chart_map={c.name: c for c in charts},
        report=config.report,
        **_story(recap, charts, config),
    )
    return inline_css(html)


def inline_css(html: str) -> str:
    """Move <style> rules into style attributes (media queries stay in a <style> block).

    Mail clients drop or rewrite <style> blocks, so the email's CSS travels inline.
    """
    inliner = css_inline.CSSInliner(
        keep_style_tags=False,
        keep_at_rules=True,
        load_remote_stylesheets=False,
        apply_width_attributes=True,
    )
    try:
        inlined = str(inliner.inline(html))
    except (css_inline.InlineError, ValueError) as e:
        raise RenderError(f"email.html: its CSS cannot be inlined ({e})") from None
    return _charset_first(inlined)


_CHARSET = re.compile(r'\s*<meta charset="utf-8">', re.IGNORECASE)
_HEAD = re.compile(r"<head>", re.IGNORECASE)


def _charset_first(html: str) -> str:
    """The charset declaration first in <head>: the inliner puts the kept @media rules
    there, and a browser reads the charset only within the first 1024 bytes."""
    found = _CHARSET.search(html)
    head = _HEAD.search(html)
    if not found or not head or found.start() < head.end():
        return html
    html = html[: found.start()] + html[found.end() :]
    return html[: head.end()] + '<meta charset="utf-8">' + html[head.end() :]


def render_text(recap: WeeklyRecap, config: RecapConfig) -> str:
    """The plain-text recap (the text/plain part of the email)."""
    return _render(
        config,
        "email.txt.j2",
        recap=recap,
        charts=(),
        report=config.report,
        **_story(recap, (), config),
    )
