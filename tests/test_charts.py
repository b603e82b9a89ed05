"""Charts of the 2026-01-16 week from the real snapshot: present, described from their data,
deterministic, in the house style, and left out with a note when their data is missing."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from recap import charts as charts_mod
from recap.charts import draw_charts
from tests._report import CHARTS, reference, reference_charts, reference_markets

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def ref(market_dir):
    return reference(market_dir)


@pytest.fixture(scope="module")
def charts(market_dir):
    return reference_charts(market_dir)


def test_every_chart_is_drawn_in_order(charts):
    assert [c.name for c in charts] == list(CHARTS)
    for c in charts:
        assert c.png.startswith(b"\x89PNG")
        assert c.svg.startswith("<svg") and c.svg.rstrip().endswith("</svg>")
        assert c.title and c.alt


def test_png_is_drawn_at_twice_the_screen_size(charts):
    from PIL import Image

    for c in charts:
        with Image.open(io.BytesIO(c.png)) as im:
            width, height = im.size
        view = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', c.svg)
        assert view, c.name
        # The SVG is in points (72 per inch), the PNG at 200 dpi: 2x a 100 dpi screen.
        assert width == pytest.approx(float(view.group(1)) / 72 * 200, abs=2), c.name
        assert height == pytest.approx(float(view.group(2)) / 72 * 200, abs=2), c.name


def test_titles_state_the_point_and_alt_text_comes_from_the_data(charts, ref):
    recap = ref[0]
    by_name = {c.name: c for c in charts}
    alt = by_name["sectors"].alt
    assert alt.count("Real Estate +4.22%") == 1 and "Communication Services -2.32%" in alt
    assert by_name["sectors"].title in alt
    assert by_name["sectors"].title.startswith("Real Estate led the sectors")
    assert "Russell 2000" in by_name["indexes"].title and "2.04%" in by_name["indexes"].title
    for m in recap.indexes:
        assert f"{m.label} " in by_name["indexes"].alt
    banks = recap.banks.reported + recap.banks.large
    for r in banks:
        assert r.ticker in by_name["banks"].alt
    # 3 of 5 beats rose (MTB slipped, BAC fell); every miss fell.
    assert by_name["banks"].title.startswith("Beats were no sure thing: 3 of 5 beats rose")
    attribution = by_name["attribution"]
    assert (
        attribution.title == "Industrials added the most to the Russell 2000 this week, +0.87 pts"
    )
    for sector in recap.attribution.week.sectors:
        assert sector.sector in attribution.alt
    assert "Industrials +0.87 pts this week, +2.79 pts this year" in attribution.alt
    assert "IWM holdings of November 5, 2025" in attribution.svg
    stocks = by_name["top-stocks"]
    assert stocks.title.startswith("Bloom Energy (BE) added the most to the Russell 2000, +0.11")
    for x in recap.attribution.week.top:
        assert f"({x.ticker})" in stocks.alt


def test_svg_is_deterministic_and_holds_no_urls_or_dates(charts, ref, market_dir):
    recap, closes, cfg = ref
    markets = reference_markets(market_dir)
    again, _ = draw_charts(recap, closes, cfg, parallel=False, markets=markets)
    assert [c.svg for c in again] == [c.svg for c in charts]
    assert [c.png for c in again] == [c.png for c in charts]
    for c in charts:
        assert "<metadata" not in c.svg and "<dc:date" not in c.svg.lower()
        # Only XML namespace names, which are never fetched.
        urls = set(re.findall(r'(?:href|src)="([^"]+)"', c.svg))
        assert all(u.startswith("#") for u in urls), urls


def test_house_style_font_and_colours(charts):
    names = {fe.name for fe in charts_mod.font_manager.fontManager.ttflist}
    family = "'Inter', 'DejaVu Sans'" if "Inter" in names else "'DejaVu Sans'"
    for c in charts:
        assert f"font-family: {family}" in c.svg, c.name
        assert "Source: " in c.svg, c.name
    sectors = next(c for c in charts if c.name == "sectors").svg.lower()
    assert charts_mod.UP.lower() in sectors and charts_mod.DOWN.lower() in sectors


def test_text_stays_text_in_the_svg(charts):
    sectors = next(c for c in charts if c.name == "sectors")
    assert ">Real Estate</text>" in sectors.svg
    assert ">+4.22%</text>" in sectors.svg


# Which charts are drawn or left out does not depend on the format: the tests below that
# read only names, notes or SVG text draw the SVGs alone (png=False), half the work.


def test_a_chart_without_data_is_left_out_with_a_note(ref):
    recap, _, cfg = ref
    no_banks = dataclasses.replace(recap, banks=None)
    charts, notes = draw_charts(no_banks, pd.DataFrame(), cfg, png=False)
    names = [c.name for c in charts]
    assert names == ["sectors", "attribution", "top-stocks"]
    assert any(
        n.startswith("Chart of bank earnings surprise against reaction left out") for n in notes
    )
    assert any(n.startswith("Chart of the four indexes over the week left out") for n in notes)
    assert any("small caps against large caps" in n for n in notes)
    assert any(
        n.startswith("Chart of the 10-year yield and oil over the year left out") for n in notes
    )
    assert len(notes) == 4


def test_no_sectors_means_no_sector_charts(ref):
    recap, closes, cfg = ref
    charts, notes = draw_charts(dataclasses.replace(recap, sectors=None), closes, cfg, png=False)
    # The attribution's charts need only the attribution.
    assert {c.name for c in charts} == {
        "indexes",
        "small-vs-large",
        "banks",
        "attribution",
        "top-stocks",
    }
    assert len(notes) == 2  # the sectors' chart, and the markets' (no series passed)
    no_attribution = dataclasses.replace(recap, attribution=None)
    charts, notes = draw_charts(no_attribution, closes, cfg, png=False)
    assert "attribution" not in {c.name for c in charts}
    assert any(n.startswith("Chart of points added by sector left out") for n in notes)


def test_short_history_leaves_out_the_year_chart(ref):
    recap, closes, cfg = ref
    recent = closes.loc[closes.index >= pd.Timestamp("2025-12-01")]
    charts, notes = draw_charts(recap, recent, cfg, png=False)
    assert "small-vs-large" not in {c.name for c in charts}
    assert "indexes" in {c.name for c in charts}
    assert any("three months" in n for n in notes)


def test_spread_keeps_labels_apart():
    placed = charts_mod._spread([1.0, 1.01, 5.0, 0.99], 0.5)
    ordered = sorted(placed)
    assert all(b - a >= 0.5 - 1e-9 for a, b in zip(ordered, ordered[1:], strict=False))
    assert placed[2] == pytest.approx(5.0, abs=0.6)


def test_dollar_signs_in_labels_are_text_not_mathtext(ref):
    """A config name with a pair of '$' used to vanish into mathtext ("$5 and $10" drew
    "5 and 10" in italics) or end the build with a traceback ("$x^$")."""
    recap, closes, cfg = ref
    renamed = {"XLK": "Tech $x^$ names", "XLE": "Energy $5 and $10"}
    sectors = tuple(
        dataclasses.replace(m, name=renamed.get(m.ticker, m.name)) for m in recap.sectors.sectors
    )
    recap = dataclasses.replace(recap, sectors=dataclasses.replace(recap.sectors, sectors=sectors))
    charts, _ = draw_charts(recap, closes, cfg, parallel=False, png=False)
    svg = next(c for c in charts if c.name == "sectors").svg
    assert "Tech $x^$ names" in svg and "Energy $5 and $10" in svg


# -- on phones and in dark mode ----------------------------------------------------------

_TEXT = re.compile(r"<text\b[^>]*style=\"([^\"]*)\"")
# The page's column: 343 px on a 375 px phone (16 px margins), 720 px on a desktop.
PHONE_COLUMN, DESKTOP_COLUMN = 343, 720


def _texts(svg: str) -> list[tuple[float, str]]:
    """(font size in the SVG's units, fill) of every text element."""
    out = []
    for style in _TEXT.findall(svg):
        size = re.search(r"font-size: ([\d.]+)px", style)
        fill = re.search(r"fill: (#[0-9a-f]{6})", style)
        assert size, style
        out.append((float(size.group(1)), fill.group(1) if fill else "#000000"))
    return out


def _view_width(svg: str) -> float:
    return float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))


def test_every_chart_has_a_phone_layout_with_9px_text(charts):
    for c in charts:
        assert c.svg_narrow.startswith("<svg"), c.name
        assert _view_width(c.svg_narrow) == pytest.approx(charts_mod.NARROW_WIDTH * 72)
        for svg, column in ((c.svg, DESKTOP_COLUMN), (c.svg_narrow, PHONE_COLUMN)):
            sizes = [size for size, _ in _texts(svg)]
            assert sizes and min(sizes) >= charts_mod.MIN_FONT, c.name
            assert min(sizes) * column / _view_width(svg) >= 9, c.name
        # The phone layout says the same: its title, and every value the page's shows.
        assert c.title.split()[0] in c.svg_narrow
        for value in re.findall(r">([+-]\d+\.\d\d%)</text>", c.svg):
            assert f">{value}</text>" in c.svg_narrow or value in c.svg_narrow, (c.name, value)


def _luminance(colour: str) -> float:
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_chart_text_reads_at_4_5_to_1_in_light_and_dark(charts):
    from recap import palette

    dark_paper = re.search(
        r"prefers-color-scheme: dark.*?--paper: (#[0-9a-f]{6})",
        (Path(__file__).parents[1] / "templates/css/screen.css").read_text(),
        re.S,
    ).group(1)
    fills = palette.dark_fills()
    for c in charts:
        for svg in (c.svg, c.svg_narrow):
            for _, fill in _texts(svg):
                assert _contrast(fill, palette.PAPER) >= 4.5, (c.name, fill)
                # Dark mode recolours every text fill the charts use.
                assert fill in fills, (c.name, fill)
    for light, dark in palette.TEXT_SHADES.values():
        assert _contrast(light, palette.PAPER) >= 4.5, light
        assert _contrast(dark, dark_paper) >= 4.5, dark
    # The Okabe-Ito orange itself would not do: 2.25:1 on white.
    assert _contrast(palette.ORANGE.lower(), palette.PAPER) < 3


def test_ids_are_the_charts_own(charts):
    for c in charts:
        for svg, prefix in ((c.svg, f"chart-{c.name}-"), (c.svg_narrow, f"chart-{c.name}-narrow-")):
            ids = re.findall(r'\bid="([^"]+)"', svg)
            assert ids and all(i.startswith(prefix) for i in ids), c.name
            refs = re.findall(r'(?:url\(#|href="#)([^)"]+)', svg)
            assert refs and set(refs) <= set(ids), c.name


def test_own_ids_rewrites_references_only_to_its_ids():
    svg = (
        '<svg><defs><clipPath id="p1"><rect/></clipPath><path id="m2"/></defs>'
        '<g clip-path="url(#p1)"><use xlink:href="#m2"/><use href="#elsewhere"/></g></svg>'
    )
    out = charts_mod.own_ids(svg, "chart-x-")
    assert 'id="chart-x-p1"' in out and "url(#chart-x-p1)" in out
    assert 'xlink:href="#chart-x-m2"' in out and 'href="#elsewhere"' in out
