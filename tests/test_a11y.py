"""The page, the email as sent and the blog archive, as their readers' software checks them:
the Nu HTML checker; axe-core in headless Chromium, light and dark, at 1280 and 375 px; and
what neither checks: chart text size and contrast as rendered, the key-number cards at
320 px, the email fluid from 320 to 600 px.

The tools come from `make install`: Debian's chromium and Java, playwright (it drives that
chromium and downloads no browser), axe-core and vnu.jar from tests/package.json. A test
skips, naming what is missing, when its tool is not there. One browser serves the module,
and each page is loaded once per colour scheme and width.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from recap.charts import DPI, MIN_FONT
from tests._delivery import NOW, built_files, config, smtp_toml
from tests._report import CHARTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = ("recap.html", "email.html", "archive.html")
SCHEMES = ("light", "dark")
WIDTHS = (1280, 375)
MIN_CHART_PX = 9.0
# The email's layout tables carry the attributes Outlook reads (width, cellpadding...),
# and its preview text Outlook's mso-hide: the Nu checker's word on those is the one
# thing allowed.
OUTLOOK = re.compile(
    r"The “(width|border|cellpadding|cellspacing|align)” attribute on the “t[dr]?"
    r"|CSS: “mso-hide”: Property “mso-hide” doesn't exist"
)


@pytest.fixture(scope="module")
def pages(market_dir, tmp_path_factory) -> dict[str, Path]:
    """recap.html as built, the email's HTML as a subscriber receives it, the archive."""
    from recap.delivery.blog import ArchiveEntry, BlogSettings, render_index
    from recap.delivery.edition import load_edition
    from recap.delivery.email import EmailSettings, compose, prepare
    from recap.delivery.subscribers import Subscriber

    files = built_files(market_dir, pdf=False)
    out = tmp_path_factory.mktemp("pages")
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    # Without the PDF attachment, which plays no part in the HTML checked here.
    cfg = config(out, market_dir, toml=smtp_toml(2525, attach_pdf="false"))
    settings = EmailSettings.from_config(cfg)
    edition = load_edition(files)
    msg = compose(prepare(edition, settings), Subscriber("ann@example.org", "Ann"), settings, NOW)
    sent = msg.get_body(("html",)).get_content()
    # A mail client shows the cid: parts; a browser needs the files.
    (out / "email.html").write_text(
        re.sub(r'src="cid:([\w-]+)"', r'src="email/\1.png"', sent), encoding="utf-8"
    )
    entry = ArchiveEntry(
        edition.week_start, edition.week_end, edition.headline, edition.dek, has_pdf=True
    )
    archive = render_index([entry], BlogSettings.from_config(cfg))
    (out / "archive.html").write_text(archive, encoding="utf-8")
    return {name: out / name for name in PAGES}


# -- the Nu HTML checker -----------------------------------------------------------------


def test_nu_checker_finds_no_errors(pages):
    if JAVA is None or not VNU.is_file():
        pytest.skip("the Nu HTML checker needs java and tests/node_modules (make install)")
    # C1 only: the checker runs once, and the full JIT would take 8x as long to warm up.
    java = [JAVA, "-XX:TieredStopAtLevel=1", "-Xss4m", "-jar", str(VNU)]
    done = subprocess.run(
        [*java, "--format", "json", "--errors-only", *map(str, pages.values())],
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        report = json.loads(done.stderr)
    except ValueError:
        pytest.fail(f"the Nu checker did not report: {(done.stdout + done.stderr)[-2000:]}")
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}"
        for m in report["messages"]
        if m["type"] == "error"
        and not (m.get("url", "").endswith("email.html") and OUTLOOK.search(m["message"]))
    ]
    assert errors == []


# -- in the browser ----------------------------------------------------------------------

_CHART_TEXT = """() => {
  const texts = [];
  for (const svg of document.querySelectorAll('.chart svg')) {
    const box = svg.getBoundingClientRect();
    if (!box.width) continue;  // the layout this width does not show
    const scale = box.width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      const style = getComputedStyle(t);
      texts.push({chart: svg.closest('figure').id, text: t.textContent,
                  px: parseFloat(style.fontSize) * scale, fill: style.fill,
                  bold: parseInt(style.fontWeight, 10) >= 700});
    }
  }
  return texts;
}"""
_AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations', 'incomplete']});
  const nodes = v => v.nodes.map(n =>
    n.target.join(' ') + ': ' + n.any.concat(n.all, n.none).map(c => c.message).join('; '));
  return {
    violations: r.violations.map(v => ({id: v.id, nodes: nodes(v)})),
    // Chart text is checked as drawn, by test_chart_text_is_9px_and_readable_as_drawn:
    // axe cannot see an SVG text's background (the plot behind it).
    unchecked: r.incomplete.filter(v => v.id === 'color-contrast').map(v => ({...v,
      nodes: v.nodes.filter(n => !document.querySelector(n.target.join(' '))
                                   ?.closest('.chart svg'))})).flatMap(nodes),
  };
}"""
_PAGE_FACTS = """() => ({
  background: getComputedStyle(document.body).backgroundColor,
  scrollWidth: document.documentElement.scrollWidth,
})"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (make install)"
    )
    if CHROMIUM is None:
        pytest.skip("chromium not installed (make sysdeps)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def rendered(browser, pages):
    """(scheme, width, page) -> axe's violations, chart text as drawn, page facts.

    Each page is loaded once; the colour scheme and the width change under it.
    """
    if not AXE.is_file():
        pytest.skip("axe-core not installed in tests/node_modules (make install)")
    axe = AXE.read_text(encoding="utf-8")
    out = {}
    context = browser.new_context()
    for name, path in pages.items():
        tab = context.new_page()
        tab.goto(path.as_uri())
        tab.add_script_tag(content=axe)
        for scheme in SCHEMES:
            for width in WIDTHS:
                tab.emulate_media(color_scheme=scheme)
                tab.set_viewport_size({"width": width, "height": 900})
                axe_result = tab.evaluate(_AXE_RUN)
                out[scheme, width, name] = {
                    "violations": axe_result["violations"],
                    "unchecked": axe_result["unchecked"],
                    "texts": tab.evaluate(_CHART_TEXT),
                    **tab.evaluate(_PAGE_FACTS),
                }
        tab.close()
    context.close()
    return out


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_no_violations(rendered, scheme, width, page):
    found = rendered[scheme, width, page]["violations"]
    assert [(v["id"], v["nodes"]) for v in found] == []


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_axe_checks_every_contrast(rendered, scheme, width, page):
    """No colour-contrast check ends "incomplete": axe sees each text's background (the
    tables' scroll shading once hid it, leaving about 800 unchecked a page). Chart text
    is left to the chart test below, which reads its colours as drawn."""
    assert rendered[scheme, width, page]["unchecked"] == []


def _rgb(css: str) -> tuple[float, float, float]:
    values = re.findall(r"[\d.]+", css)
    return float(values[0]), float(values[1]), float(values[2])


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (0-255 channels)."""

    def luminance(rgb: tuple[float, float, float]) -> float:
        lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
               for c in rgb]  # fmt: skip
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_chart_text_is_9px_and_readable_as_drawn(rendered, scheme, width):
    facts = rendered[scheme, width, "recap.html"]
    texts = facts["texts"]
    assert {t["chart"] for t in texts} == {f"chart-{n}" for n in CHARTS}
    small = [(t["chart"], t["text"], round(t["px"], 2)) for t in texts if t["px"] < MIN_CHART_PX]
    assert small == []
    paper = _rgb(facts["background"])
    faint = []
    for t in texts:
        large = t["px"] >= 24 or (t["bold"] and t["px"] >= 18.66)
        ratio = contrast(_rgb(t["fill"]), paper)
        if ratio < (3.0 if large else 4.5):
            faint.append((t["chart"], t["text"], t["fill"], round(ratio, 2)))
    assert faint == []


def test_contrast_ratio_matches_wcag_examples():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    # The Okabe-Ito orange on white, as the issue measured it.
    assert contrast((0xE6, 0x9F, 0x00), (255, 255, 255)) == pytest.approx(2.25, abs=0.01)


_CARDS = """() => {
  const page = document.querySelector('.page');
  const column = page.getBoundingClientRect().right
    - parseFloat(getComputedStyle(page).paddingRight);
  return [...document.querySelectorAll('.card')].map(card => {
    const box = card.getBoundingClientRect();
    const right = Math.max(...[...card.querySelectorAll('*')].map(e =>
      e.getBoundingClientRect().right));
    return {text: card.textContent.trim().replace(/\\s+/g, ' '),
            overflow: Math.max(card.scrollWidth - card.clientWidth, right - box.right,
                               box.right - column)};
  });
}"""
_EMAIL = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  column: document.querySelector('table.inner').getBoundingClientRect().width,
  images: [...document.querySelectorAll('img.chart')].map(i => ({
    width: i.getBoundingClientRect().width, height: i.getBoundingClientRect().height,
    ratio: i.naturalHeight / i.naturalWidth, attr: i.getAttribute('height'),
    natural: i.naturalWidth})),
})"""


def test_key_number_cards_fit_a_320px_screen(browser, pages):
    context = browser.new_context(viewport={"width": 320, "height": 900})
    tab = context.new_page()
    tab.goto(pages["recap.html"].as_uri())
    cards = tab.evaluate(_CARDS)
    width = tab.evaluate(_PAGE_FACTS)["scrollWidth"]
    context.close()
    assert len(cards) == 4
    assert [c["text"] for c in cards if c["overflow"] > 0.5] == []
    assert width <= 320


_TABLES = """() => [...document.querySelectorAll('.table-wrap')].filter(
    w => !w.closest('details:not([open])')).map(w => ({
  caption: w.querySelector('caption').textContent.trim().replace(/\\s+/g, ' '),
  overflow: w.scrollWidth - w.clientWidth,
  captionOverflow: w.querySelector('caption').getBoundingClientRect().width - w.clientWidth,
  heads: [...w.querySelectorAll('thead tr:last-child th')].filter(
    th => th.getBoundingClientRect().width > 0).map(th => th.textContent.trim())}))"""
# The columns a phone must show whole, by table (the rest drop at 375 px: dates, estimates,
# the small-cap funds' columns).
KEY_COLUMNS = {
    "Regional banks that reported": {"Bank", "Result", "Reaction"},
    "Large banks, for context": {"Bank", "Result", "Reaction"},
    "Earnings in the watchlists": {"Company", "Result", "Reaction"},
    "Small caps beside large caps, by sector": {
        "Large, week",
        "Small, week",
        "Large, YTD",
        "Small, YTD",
    },
    "Industry funds": {"Industry", "Week", "YTD"},
    "Earnings expected": {"Company", "Date", "EPS est."},
}


def test_phone_tables_show_their_key_columns_without_scrolling(browser, pages):
    """At 375 px no table scrolls sideways: each keeps its key columns (name, result,
    reaction; week, YTD) and drops its secondary ones; a caption reads whole. The
    reference tables (industries and themes) are checked opened."""
    context = browser.new_context(viewport={"width": 375, "height": 900})
    tab = context.new_page()
    tab.goto(pages["recap.html"].as_uri())
    closed = tab.evaluate(_TABLES)
    tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    tables = tab.evaluate(_TABLES)
    context.close()
    assert len(closed) < len(tables) and len(tables) >= 7
    assert [(t["caption"], t["overflow"]) for t in tables if t["overflow"] > 0] == []
    for t in tables:
        for caption, keys in KEY_COLUMNS.items():
            if t["caption"].startswith(caption):
                assert keys <= set(t["heads"]), (caption, t["heads"])
    assert [t["caption"] for t in tables if t["captionOverflow"] > 0.5] == []


def test_page_height_at_375px(browser, pages):
    """The page at 375 px is at most 8 screens of 812 px (17 before issue 20): the story
    and a chart or two a section in view, the reference tables and the notes folded. The
    first screen holds the headline, the dek and the four index cards."""
    context = browser.new_context(viewport={"width": 375, "height": 812})
    tab = context.new_page()
    tab.goto(pages["recap.html"].as_uri())
    height = tab.evaluate("document.documentElement.scrollHeight")
    cards = tab.evaluate("document.querySelector('.strip').getBoundingClientRect().bottom")
    folded = tab.evaluate("document.querySelectorAll('details:not([open])').length")
    context.close()
    print(f"recap.html at 375 px: {height} px, {height / 812:.1f} screens")
    assert height / 812 <= 8
    assert cards <= 812
    assert folded >= 6  # the reference tables and the notes


@pytest.mark.parametrize("width", [320, 375, 412, 600, 1280])
def test_email_is_fluid_up_to_600px(browser, pages, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.goto(pages["email.html"].as_uri())
    facts = tab.evaluate(_EMAIL)
    context.close()
    assert facts["scrollWidth"] <= width
    assert facts["column"] == pytest.approx(min(width, 600), abs=1)
    assert len(facts["images"]) >= 3
    for img in facts["images"]:
        assert img["attr"] and int(img["attr"]) > 0
        assert img["height"] == pytest.approx(img["width"] * img["ratio"], abs=2)
        assert img["width"] <= min(width, 600)
        if width >= 375:
            # Drawn at 2x: the image's smallest text (MIN_FONT pt at DPI) as shown.
            smallest = MIN_FONT * DPI / 72 * img["width"] / (img["natural"] / 2)
            assert smallest >= MIN_CHART_PX, (width, smallest)


def test_email_charts_turn_dark_in_dark_mode(browser, pages):
    """In a client that reads prefers-color-scheme, the email's charts (drawn on white)
    turn dark: their ground is near the email's own and their text light, with no
    second set of images. In light mode they stay on white."""
    from PIL import Image

    shots = {}
    for scheme in SCHEMES:
        context = browser.new_context(viewport={"width": 375, "height": 900})
        tab = context.new_page()
        tab.emulate_media(color_scheme=scheme)
        tab.goto(pages["email.html"].as_uri())
        first = tab.locator("img.chart").first
        first.scroll_into_view_if_needed()
        shots[scheme] = Image.open(io.BytesIO(first.screenshot())).convert("L")
        context.close()
    light, dark = shots["light"], shots["dark"]
    assert light.getpixel((4, 4)) >= 250 and dark.getpixel((4, 4)) <= 30
    # Most of a chart is its ground; its text and lines stay apart from it in both modes.
    for im, ground in ((light, lambda v: v >= 245), (dark, lambda v: v <= 35)):
        values = list(im.getdata())
        assert sum(map(ground, values)) / len(values) > 0.6
        assert min(values) < 100 if im is light else max(values) > 200
