"""Is an email's HTML fit to send? Judged on its parsed elements and attributes, not its text.

A mail client fetches what an element or a stylesheet points at and runs what an
attribute holds; the words of the recap are neither. So a URL in a risk note's source,
or "<script>" and "onload=" escaped into an alt text, are text and never count against
the message, while a remote image, a script, an SVG, an event handler or a javascript:
link do, wherever they sit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Attributes whose value the client loads by itself when it shows the element.
_RESOURCE_ATTRS = frozenset({"src", "srcset", "background", "poster", "lowsrc", "dynsrc"})
_LINK_ATTRS = frozenset({"href", "xlink:href", "action", "formaction"})
_EMBEDS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet"})
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT = re.compile(r"@import\b", re.IGNORECASE)
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
_EMBEDDED_IMAGE = re.compile(r"data:image/(png|jpeg|gif);", re.IGNORECASE)


def _is_remote(url: str) -> bool:
    low = url.strip().lower()
    return low.startswith(("http://", "https://", "//"))


def _srcset_urls(value: str) -> list[str]:
    return [part.split()[0] for part in value.split(",") if part.split()]


@dataclass
class HtmlFacts:
    """What the parsed HTML holds that matters to a mail client."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    content_ids: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # every http(s) URL in markup or CSS

    def flag(self, what: str, example: str = "") -> None:
        """Note a problem, with an example of where it is."""
        found = self.problems.setdefault(what, [])
        if example and example not in found:
            found.append(example)


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = HtmlFacts()
        self._in_style = 0

    def _resource(self, tag: str, url: str) -> None:
        url = url.strip()
        low = url.lower()
        if low.startswith("cid:"):
            cid = url[4:]
            if cid and cid not in self.facts.content_ids:
                self.facts.content_ids.append(cid)
        elif low.startswith("data:image/svg") or low.split("?")[0].endswith(".svg"):
            self.facts.flag("an SVG image", f"<{tag}>")
        elif _is_remote(url):
            self.facts.urls.append(url)
            self.facts.flag("external URLs", url)
        elif low.startswith(_SCRIPT_SCHEMES):
            self.facts.flag("a script", f"a {low.split(':')[0]}: URL in <{tag}>")
        elif not _EMBEDDED_IMAGE.match(low):
            self.facts.flag("images that are not embedded", url or f"an empty src in <{tag}>")

    def _css(self, tag: str, css: str) -> None:
        if _CSS_IMPORT.search(css):
            self.facts.flag("a remote stylesheet", "@import")
        for m in _CSS_URL.finditer(css):
            self._resource(tag, m.group(2))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "script":
            self.facts.flag("a script", "<script>")
        elif tag in ("svg", "math"):
            self.facts.flag("an SVG image", f"<{tag}>")
        elif tag in _EMBEDS:
            self.facts.flag("an embedded document", f"<{tag}>")
        elif tag == "base":
            self.facts.flag("a <base> element")
        elif tag == "link":
            rel = values.get("rel", "").lower()
            href = values.get("href", "")
            # An icon carried in the message itself (the page's icon, as PNG) loads nothing.
            if rel.split() != ["icon"] or not _EMBEDDED_IMAGE.match(href.strip().lower()):
                what = "a remote stylesheet" if "stylesheet" in rel else "a <link> element"
                self.facts.flag(what, href)
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.facts.flag("a meta refresh")
        elif tag == "style":
            self._in_style += 1
        for name, value in values.items():
            if name.startswith("on"):
                self.facts.flag("an event handler", f"{name} on <{tag}>")
            elif name in _RESOURCE_ATTRS or (name == "data" and tag == "object"):
                urls = _srcset_urls(value) if name == "srcset" else [value]
                for url in urls:
                    self._resource(tag, url)
            elif name in _LINK_ATTRS and tag != "link":
                if value.strip().lower().startswith(_SCRIPT_SCHEMES):
                    self.facts.flag("a script", f"a {value.split(':')[0]}: link in <{tag}>")
                elif _is_remote(value):
                    self.facts.urls.append(value.strip())
            elif name == "style":
                self._css(tag, value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._in_style:
            self._in_style -= 1

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css("style", data)


def inspect_html(html: str) -> HtmlFacts:
    """Parse ``html`` and collect its problems, cid: references and URLs."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.facts


def content_ids(html: str) -> list[str]:
    """The Content-IDs the HTML's images and CSS refer to with cid:, in order, once each."""
    return inspect_html(html).content_ids


def external_urls(html: str) -> list[str]:
    """Every http(s) URL in the HTML's attributes and CSS (loaded resources and links)."""
    return inspect_html(html).urls


def unfit_reasons(html: str, available_cids: set[str] | frozenset[str]) -> list[str]:
    """Why a mail client would block, break or distrust this HTML; [] when it is fit."""
    facts = inspect_html(html)
    missing = [c for c in facts.content_ids if c not in available_cids]
    if missing:
        facts.flag("cid: images without a chart PNG", ", ".join(missing))
    out = []
    for what, examples in facts.problems.items():
        shown = sorted(examples)[:5] if what == "external URLs" else examples[:5]
        out.append(f"{what} ({', '.join(shown)})" if shown else what)
    return out


__all__ = ["HtmlFacts", "content_ids", "external_urls", "inspect_html", "unfit_reasons"]
