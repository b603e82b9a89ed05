"""The rendered page and email of the 2026-01-16 week, built for real from the snapshot:
sections and charts present, alt text, nothing fetched from outside the output folder,
escaping, sections left out when their data is absent, and the sample-data banner."""

from __future__ import annotations

import dataclasses
import io
import re
from html import escape as html_escape
from html.parser import HTMLParser

import pytest

from recap import render
from tests._report import CHARTS, SECTIONS, reference, reference_charts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def files(market_dir):
    from tests._delivery import built_files

    return built_files(market_dir, pdf=False)


@pytest.fixture(scope="module")
def ref(market_dir):
    recap, _, cfg = reference(market_dir)
    return recap, reference_charts(market_dir), cfg


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each h1/h2."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2"):
            self._open, self._text = tag, ""

    def handle_data(self, data):
        if self._open:
            self._text += data

    def handle_endtag(self, tag):
        if tag == self._open:
            self.headings.append((tag, " ".join(self._text.split())))
            self._open = None


def _parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def test_page_has_every_section_in_order_and_one_h1(files):
    page = _parse(files["recap.html"].decode())
    assert [t for t, _ in page.headings].count("h1") == 1
    h1 = [text for tag, text in page.headings if tag == "h1"]
    assert len(h1) == 1 and h1[0].startswith("Russell 2000 Sets a Third Straight Record")
    h2 = [text for tag, text in page.headings if tag == "h2"]
    assert [h for h in h2 if h in SECTIONS] == list(SECTIONS)
    assert "Key numbers" in h2


def test_the_page_follows_the_registry(ref):
    """The page includes each section's partial in recap/layout.py's order: a section the
    registry leaves out this week has no heading, and each partial titles its section
    as the registry does."""
    from recap import layout

    recap, charts, cfg = ref
    for shown in (recap, dataclasses.replace(recap, risks=None, week_ahead=None)):
        h2 = [
            t for tag, t in _parse(render.render_html(shown, charts, cfg)).headings if tag == "h2"
        ]
        titles = [s.title for s in layout.shown_sections(shown)]
        assert [h for h in h2 if h in {s.title for s in layout.SECTIONS}] == titles
    assert "Risk Spotlight" not in titles and "Week Ahead" not in titles


def test_every_chart_is_inline_svg_with_alt_text(files):
    html = files["recap.html"].decode()
    # Each chart twice: the page's layout and the phone's, one of them shown by the CSS.
    assert html.count("<svg") == 2 * len(CHARTS)
    labelled = [a for t, a in _parse(html).tags if a.get("role") == "img"]
    assert len(labelled) == 2 * len(CHARTS)
    assert [a.get("class") for a in labelled] == ["svg wide", "svg narrow"] * len(CHARTS)
    assert all((a.get("aria-label") or "").strip() for a in labelled)
    for name in CHARTS:
        assert f'id="chart-{name}"' in html
    assert "Real Estate +4.22%" in html and "Communication Services -2.32%" in html


def test_each_format_gets_only_the_charts_it_shows(reference_week, files, monkeypatch):
    """An html build draws the page's SVGs and no PNG; an email build draws only the
    phone-width PNGs the email shows (email/*.png), no SVG and no page-width PNG. Each
    gives the same bytes as a build of every format (the reference week's)."""
    from recap import charts, pipeline

    drawn = []
    real = charts.draw_charts

    def keep(*args, **kwargs):
        result = real(*args, **kwargs)
        drawn.append(result[0])
        return result

    monkeypatch.setattr(charts, "draw_charts", keep)
    w = reference_week
    html = pipeline.render_files(w.recap, w.market, w.config, ("html",))
    assert list(html) == ["recap.html"]
    assert html["recap.html"] == files["recap.html"]
    mail = pipeline.render_files(w.recap, w.market, w.config, ("email",))
    assert set(mail) == {"email.html", "email.txt", *(f"email/{c}.png" for c in CHARTS)}
    assert all(mail[name] == files[name] for name in mail)
    page, email = drawn
    assert [c.name for c in page] == [c.name for c in email] == list(CHARTS)
    assert all(c.svg and c.svg_narrow and not c.png for c in page)
    assert all(c.png_phone and not c.png and not c.svg and not c.svg_narrow for c in email)


def test_every_img_has_alt_text(files):
    for name in ("recap.html", "email.html"):
        imgs = [a for t, a in _parse(files[name].decode()).tags if t == "img"]
        assert all((a.get("alt") or "").strip() for a in imgs), name
    assert len([1 for t, _ in _parse(files["email.html"].decode()).tags if t == "img"]) >= 3


def test_nothing_points_outside_the_output_folder(files):
    for name in ("recap.html", "email.html"):
        html = files[name].decode()
        for tag, attrs in _parse(html).tags:
            for key in ("src", "href", "srcset", "poster", "data"):
                url = attrs.get(key)
                if url is None:
                    continue
                assert not re.match(r"^(https?:|file:|//|/|\.\.)", url), (name, tag, url)
                if key == "src" and not url.startswith("cid:"):
                    assert url in files, url
        assert not re.search(r"url\(\s*['\"]?(https?:|file:|//)", html), name
        assert "@import" not in html, name
    assert not re.search(r"https?://", files["email.html"].decode())


def test_tables_are_marked_up_for_screen_readers(files):
    html = files["recap.html"].decode()
    tags = _parse(html).tags
    ths = [a for t, a in tags if t == "th"]
    assert ths and all(a.get("scope") in ("col", "row", "colgroup") for a in ths)
    # A column group's header spans its columns.
    assert all(a.get("colspan") for a in ths if a.get("scope") == "colgroup")
    assert html.count("<caption>") == html.count("<table")
    wraps = [a for t, a in tags if t == "div" and "table-wrap" in (a.get("class") or "")]
    assert wraps and all(a.get("role") == "region" and a.get("aria-label") for a in wraps)
    # Named apart from the sections (the "Regional banks" watchlist sits in "Regional Banks").
    assert 'aria-label="Table: Regional banks"' in html
    labels = [(a.get("aria-label") or "").lower() for t, a in tags if a.get("role") == "region"]
    assert len(labels) == len(set(labels))


def test_every_id_is_unique_and_every_reference_resolves(files):
    html = files["recap.html"].decode()
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), [i for i in set(ids) if ids.count(i) > 1][:5]
    for svg in re.findall(r"<svg\b.*?</svg>", html, re.S):
        own = set(re.findall(r'\bid="([^"]+)"', svg))
        refs = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', svg))
        assert refs and refs <= own, refs - own


def test_pages_have_a_description_and_an_icon(files, ref):
    for name in ("recap.html", "email.html"):
        tags = _parse(files[name].decode()).tags
        meta = [a for t, a in tags if t == "meta" and a.get("name") == "description"]
        assert meta and meta[0].get("content") == ref[0].dek, name
        icons = [a for t, a in tags if t == "link" and a.get("rel") == "icon"]
        assert len(icons) == 1 and (icons[0].get("href") or "").startswith("data:image/"), name


def test_screen_css_has_dark_mode_and_phone_rules(files):
    html = files["recap.html"].decode()
    assert "@media (prefers-color-scheme: dark)" in html
    assert "@media (max-width: 640px)" in html
    assert ".table-wrap { overflow-x: auto;" in html
    assert 'name="viewport"' in html


def test_index_cards_match_the_model(files, ref):
    """The key-number cards are the page's one statement of each index's close, week and
    year (the index table that repeated them is gone)."""
    html = files["recap.html"].decode()
    cards = re.findall(r'<li class="card">(.*?)</li>', html, re.S)
    assert len(cards) == len(ref[0].indexes)
    for m, card in zip(ref[0].indexes, cards, strict=True):
        # An index shows no ticker (its Yahoo symbol is no name for a reader); a proxy ETF does.
        if m.tick:
            assert re.search(rf'<span class="tick">{re.escape(m.tick)}</span>', card), m.label
        assert "^" not in card, m.label
        assert f'<span class="close">{m.close:,.2f}</span>' in card
        sign = "+" if m.week_return > 0 else "-"
        assert f"{sign}{abs(m.week_return) * 100:.2f}%" in card
    assert "Index moves" not in html  # no table repeating the cards


def test_numbers_carry_colour_and_sign(files):
    html = files["recap.html"].decode()
    cells = re.findall(r'<td class="num (up|down|flat)">([^<]*)</td>', html)
    assert len(cells) > 50
    for cls, text in cells:
        if cls == "up":
            assert text.startswith("+"), text
        elif cls == "down":
            assert text.startswith("-"), text


def test_no_blank_or_nan_anywhere(files):
    for name in ("recap.html", "email.html", "email.txt"):
        text = files[name].decode()
        assert not re.search(r"\bnan%|\bNaN\b|>None<|\bNone\b%|\binf%", text), name
        assert "<td></td>" not in text and '<td class="num"></td>' not in text


def test_values_from_data_are_escaped(ref):
    recap, charts, cfg = ref
    sectors = recap.sectors
    evil = dataclasses.replace(sectors.industries[0], name='<script>alert("x")</script>')
    bad = dataclasses.replace(
        recap,
        headline="Stocks <b>Rise</b> & Fall",
        dek='<img src="http://example.com/x.png">',
        sectors=dataclasses.replace(sectors, industries=(evil, *sectors.industries[1:])),
    )
    for html in (
        render.render_html(bad, charts, cfg),
        render.render_html(bad, charts, cfg, for_print=True),
        render.render_email_html(bad, charts, cfg),
    ):
        assert "<script>" not in html and '<img src="http' not in html
        assert "Stocks &lt;b&gt;Rise&lt;/b&gt; &amp; Fall" in html
    assert "&lt;script&gt;" in render.render_html(bad, charts, cfg)


def test_sections_without_data_are_left_out_cleanly(ref):
    recap, charts, cfg = ref
    gone = {"banks", "risks", "week_ahead", "sectors", "attribution"}
    bare = dataclasses.replace(
        recap,
        banks=None,
        risks=None,
        week_ahead=None,
        sectors=None,
        attribution=None,
        market_breadth=None,
        sp500_attribution=None,
        narrative=tuple(p for p in recap.narrative if p.section not in gone),
    )
    kept = tuple(c for c in charts if c.name in ("indexes", "small-vs-large"))
    printed = render.render_html(bare, kept, cfg, for_print=True)
    for html in (render.render_html(bare, kept, cfg), printed):
        assert "The data holds no regional- or large-bank results for this week." in html
        assert "No sector or theme data for this week." in html
        assert ">Risk Spotlight</h2>" not in html and ">Week Ahead</h2>" not in html
        assert not re.search(r"<tbody>\s*</tbody>", html)
        assert html.count("<table") == 1  # Beyond Stocks; the key-number cards carry the indexes
    text = render.render_text(bare, cfg)
    assert "RISK SPOTLIGHT" not in text and "WEEK AHEAD" not in text


def test_banks_with_no_reports_say_so_in_one_line(ref):
    recap, charts, cfg = ref
    empty = dataclasses.replace(
        recap.banks,
        reported=(),
        large=(),
        beats=0,
        misses=0,
        in_line=0,
        best=None,
        worst=None,
        reaction_spread=None,
        classification=None,
    )
    html = render.render_html(dataclasses.replace(recap, banks=empty), charts, cfg)
    section = html.split('aria-labelledby="banks"')[1].split("</section>")[0]
    assert "The data holds no regional- or large-bank results" in section
    assert "<table" not in section


def test_sample_data_is_marked_everywhere(ref):
    recap, charts, cfg = ref
    sample = dataclasses.replace(recap, data=dataclasses.replace(recap.data, source="sample"))
    html = render.render_html(sample, charts, cfg)
    assert '<div class="sample-banner" role="alert">SAMPLE DATA, NOT MARKET DATA' in html
    assert html.index('sample-banner"') < html.index("<h1")
    assert "SAMPLE DATA, NOT MARKET DATA" in render.render_email_html(sample, charts, cfg)
    assert "SAMPLE DATA, NOT MARKET DATA" in render.render_text(sample, cfg)
    printed = render.render_html(sample, charts, cfg, for_print=True)
    assert "SAMPLE DATA, NOT MARKET DATA" in printed.split("@bottom-left")[1][:200]
    real = render.render_html(recap, charts, cfg)
    assert "SAMPLE DATA" not in real


def test_email_parts(files, ref):
    html = files["email.html"].decode()
    assert html.index("<!-- greeting -->") < html.index("<h1")
    assert html.rstrip().endswith("</html>")
    assert html.index("<!-- unsubscribe -->") > html.index("Not investment advice")
    assert "<svg" not in html and "<script" not in html
    # Fluid up to 600 px; Outlook, which ignores max-width, gets a 600 px table.
    assert "max-width: 600px" in html and "<!--[if mso]><table" in html
    assert 'role="main"' in html
    tags = _parse(html).tags
    imgs = [a for t, a in tags if t == "img" and (a.get("src") or "").startswith("cid:")]
    for img in imgs:
        from PIL import Image

        # Drawn 4 in wide at 200 dpi, shown 400 px wide: 8 pt text is 9.6 px at 347 px.
        png = files[f"email/{img['src'][4:]}.png"]
        with Image.open(io.BytesIO(png)) as im:
            w, h = im.size
            assert im.mode == "P", "an 8-bit palette PNG"
        assert w == 800 and int(img["width"]) == 400
        assert int(img["height"]) == round(400 * h / w)
    # The numbers tables are data tables: header cells for columns and rows, a caption.
    # The indexes, Beyond Stocks, then the banks and the week ahead the prose points to.
    nums = [a for t, a in tags if t == "table" and a.get("class") == "nums"]
    assert len(nums) == 4 and all("role" not in a for a in nums)
    tables = re.findall(r'<table class="nums".*?</table>', html, re.S)
    assert [t.count('scope="row"') for t in tables] == [4, 12, 3, 12]
    assert [t.count('scope="col"') for t in tables] == [5, 4, 4, 3]
    assert all("<caption" in t for t in tables)
    # Figures' column heads sit over their figures: right-aligned, as the figures are.
    heads = re.findall(r'<th class="r[^"]*" scope="col" style="([^"]*)"', html)
    assert len(heads) == 4 + 3 + 2 + 1 and all("text-align: right" in h for h in heads)
    cids = set(re.findall(r'src="cid:([\w-]+)"', html))
    assert cids and all(f"email/{c}.png" in files for c in cids)
    # Preview text: the dek, first in the body and hidden, so the inbox shows it.
    body = html[html.index("<body") :]
    dek = re.escape(html_escape(ref[0].dek)[:30])
    assert re.search(rf'<div class="preheader"[^>]*display: none[^>]*>{dek}', body)
    assert body.index("preheader") < body.index("<h1")
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "prefers-color-scheme: dark" in html
    text = files["email.txt"].decode()
    assert "Russell 2000 Sets a Third Straight Record" in text
    assert "KEY MARKET MOVES" in text and "<" not in text
    assert all(len(line) <= 78 for line in text.splitlines()), "plain text wraps at 78"


def _count_compiles(monkeypatch) -> list:
    """The names of the templates Jinja compiles from now on, in order."""
    import jinja2

    compiled: list = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return real(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def test_templates_compile_once_per_process(reference_week, monkeypatch):
    """One cached Jinja environment (and the prose's overlay of it, also cached): building
    the pages and the prose again compiles no template again."""

    from recap import pipeline
    from recap.narrative import write_story

    w = reference_week

    def build():
        write_story(w.recap, w.config)
        return pipeline.render_drawn(w.recap, *w.drawn, w.config, ("html", "email"))

    first = build()
    compiled = _count_compiles(monkeypatch)
    assert build() == first
    assert compiled == []


def test_compiled_templates_are_kept_between_processes_and_follow_their_source(
    tmp_path, monkeypatch
):
    """What the CLI turns on (kept.keep_in): a new process finds the compiled
    template and compiles nothing; an edited template is compiled again; a cache folder
    that cannot be written costs time, never the render."""
    import jinja2

    from recap.render import CompiledTemplates

    (tmp_path / "t").mkdir()
    page = tmp_path / "t" / "page.html.j2"
    page.write_text("<p>{{ x }}</p>\n")

    def fresh_process(folder):
        cache = CompiledTemplates(str(folder))
        loader = jinja2.FileSystemLoader(str(tmp_path / "t"))
        return jinja2.Environment(loader=loader, bytecode_cache=cache, autoescape=True)

    compiled = _count_compiles(monkeypatch)
    cache = tmp_path / "cache" / "templates"  # made on first use
    assert fresh_process(cache).get_template("page.html.j2").render(x="<b>") == "<p>&lt;b&gt;</p>"
    assert compiled == ["page.html.j2"] and len(list(cache.iterdir())) == 1
    assert fresh_process(cache).get_template("page.html.j2").render(x=1) == "<p>1</p>"
    assert compiled == ["page.html.j2"], "the second process compiled it again"
    page.write_text("<div>{{ x }}</div>\n")
    assert fresh_process(cache).get_template("page.html.j2").render(x=2) == "<div>2</div>"
    assert compiled == ["page.html.j2"] * 2
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert fresh_process(blocked / "templates").get_template("page.html.j2").render(x=3)


def _h2(html: str) -> list[str]:
    return [t for tag, t in _parse(html).headings if tag == "h2"]


def test_every_format_tells_the_same_story(files):
    """The email and its text part have the page's sections, under the page's names, in
    its order; the email shows the page's charts in the page's order with the same alt
    text (recap/layout.py is the one list they all follow)."""
    page, mail = files["recap.html"].decode(), files["email.html"].decode()
    sections = [h for h in _h2(page) if h in SECTIONS and h != "Data notes"]
    assert sections == list(SECTIONS[:-1])
    assert _h2(mail) == sections
    text = files["email.txt"].decode()
    in_text = [line.strip() for line in text.splitlines()]
    assert [h.upper() for h in sections] == [
        x for x in in_text if x in {h.upper() for h in sections}
    ]
    page_alts = [
        a["aria-label"] for t, a in _parse(page).tags if "svg wide" in (a.get("class") or "")
    ]
    mail_imgs = [
        a for t, a in _parse(mail).tags if t == "img" and a.get("src", "").startswith("cid:")
    ]
    order = re.findall(r'<figure class="chart" id="chart-([\w-]+)"', page)
    assert sorted(order) == sorted(CHARTS)
    assert [a["src"][4:] for a in mail_imgs] == order
    assert [a["alt"] for a in mail_imgs] == page_alts
    # No format points to a table it does not show.
    assert "Index moves" not in page


def test_page_has_jump_links_to_each_section(files):
    html = files["recap.html"].decode()
    nav = html[html.index('<nav class="contents"') : html.index("</nav>")]
    targets = re.findall(r'href="#([\w-]+)"', nav)
    assert targets == [
        "moves",
        "beyond",
        "sectors",
        "banks",
        "risks",
        "ahead",
        "conclusion",
        "notes",
    ]
    for t in targets:
        assert f'<h2 id="{t}"' in html


def test_links_and_share_tags_follow_the_blog_url(ref, tmp_path):
    """With a real [blog] base_url the page names its published URL and share image, links
    the weeks around it and the archive, and the email links to it; with the shipped
    placeholder (example.com) nothing links out."""
    from recap.config import read_config

    recap, charts, cfg = ref
    assert "og:title" not in render.render_html(recap, charts, cfg)
    toml = tmp_path / "recap.toml"
    toml.write_text('[blog]\nbase_url = "https://recap.example.org/"\n')
    site = read_config(toml, {"data_dir": cfg.data_dir}, cwd=tmp_path)
    root = "https://recap.example.org/archive"
    html = render.render_html(recap, charts, site)
    assert f'<link rel="canonical" href="{root}/2026-01-16/recap.html">' in html
    assert f'<meta property="og:image" content="{root}/2026-01-16/charts/indexes.png">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert f'href="{root}/2026-01-09/recap.html" rel="prev"' in html
    assert f'href="{root}/2026-01-23/recap.html" rel="next"' in html  # the data runs past it
    assert f'href="{root}/"' in html
    printed = render.render_html(recap, charts, site, for_print=True)
    assert "og:title" not in printed and 'rel="prev"' not in printed
    mail = render.render_email_html(recap, charts, site)
    assert f'<a href="{root}/2026-01-16/recap.html"' in mail and "View in your browser" in mail
    assert f"{root}/2026-01-16/recap.html" in render.render_text(recap, site)


def test_risk_measures_state_a_share_only_as_the_story_does(ref):
    """A share of the year's gains outside (0, 100%] (other sectors lost, as in January
    2017: 185%) is never printed: the risk measures give the points instead, as the prose
    does, and no headline is made of it."""
    from recap.stories import select_stories, stated_share

    recap, charts, cfg = ref
    assert stated_share(recap) == recap.risks.concentration_share  # 56%, stated
    risks = dataclasses.replace(recap.risks, concentration_share=1.85, concentration_flagged=True)
    odd = dataclasses.replace(recap, risks=risks)
    assert stated_share(odd) is None
    html = render.render_html(odd, charts, cfg)
    measures = html[html.index('<dl class="figures"') : html.index("</dl>")]
    assert "185%" not in measures and "no share of gains is stated" in measures
    assert not any("185%" in p for s in select_stories(odd) for p in s.phrases)
