"""The rendered report: HTML, PDF and email files of the 2026-01-16 week, built for real
from the snapshot. Text comes out of the PDF through pdftotext and pypdf."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from recap import render
from recap.charts import draw_charts
from recap.pdf import html_to_pdf

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECTIONS = (
    "Key Market Moves",
    "Sector Highlights and Drivers",
    "Regional Banks",
    "Risk Spotlight",
    "Week Ahead",
    "Conclusion",
    "Data notes",
)
MAX_PAGES = 12


@pytest.fixture(scope="module")
def files(market_dir):
    from tests._delivery import built_files

    return built_files(market_dir)


@pytest.fixture(scope="module")
def charts(reference_recap, market_dir, snapshot_source, reference_config):
    from recap import pipeline

    market = pipeline.fetch_market(snapshot_source, reference_config, reference_recap.week, None)
    return draw_charts(reference_recap, market.closes, reference_config)[0]


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "recap.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_pdf_has_the_headline_every_section_and_a_bounded_page_count(files, tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(files["recap.pdf"]))
    assert 3 <= len(reader.pages) <= MAX_PAGES
    text = " ".join(_pdf_text(files["recap.pdf"], tmp_path).split())
    assert "Russell 2000 Surges; Tech Risks Spotlighted" in text
    for heading in SECTIONS:
        assert heading.upper() in text.upper(), heading
    assert f"Page 1 of {len(reader.pages)}" in text
    assert "265.76" in text and "+2.13%" in text


def test_pdf_embeds_its_fonts_and_every_chart(files):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(files["recap.pdf"]))
    fonts, images = set(), 0
    for page in reader.pages:
        resources = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            desc = font.get_object().get("/DescendantFonts")
            obj = desc[0].get_object() if desc else font.get_object()
            fd = obj.get("/FontDescriptor")
            if fd is not None:
                fd = fd.get_object()
                embedded = any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                fonts.add((str(obj["/BaseFont"]), embedded))
        for xobj in resources.get("/XObject", {}).values():
            if xobj.get_object().get("/Subtype") == "/Image":
                images += 1
    assert fonts and all(embedded for _, embedded in fonts), fonts
    charts = [n for n in files if n.startswith("charts/")]
    assert len(charts) == 5
    assert images >= len(charts)


def test_html_has_every_chart_inline_and_alt_text(files):
    html = files["recap.html"].decode()
    charts = [n for n in files if n.startswith("charts/")]
    assert html.count("<svg") == len(charts)
    tags = _tags(html)
    for tag, attrs in tags:
        if tag == "img":
            assert (attrs.get("alt") or "").strip(), attrs
        if attrs.get("role") == "img":
            assert (attrs.get("aria-label") or "").strip()
    label = re.search(r'aria-label="(Bar chart of sector fund week returns[^"]*)"', html)
    assert label and "Real Estate led with +4.22%" in label.group(1)
    for heading in SECTIONS:
        assert f">{heading}</h2>" in html


def test_nothing_points_outside_the_output_folder(files):
    for name in ("recap.html", "email.html"):
        for tag, attrs in _tags(files[name].decode()):
            for key in ("src", "href"):
                url = attrs.get(key)
                if url is None:
                    continue
                assert not re.match(r"^(https?:|file:|//|/)", url), (name, tag, url)
                if key == "src" and not url.startswith("cid:"):
                    assert url in files, url


def test_email_parts(files):
    html = files["email.html"].decode()
    assert "<!-- greeting -->" in html and "<!-- unsubscribe -->" in html
    assert "<svg" not in html and "<script" not in html
    cids = set(re.findall(r'src="cid:([\w-]+)"', html))
    assert cids and all(f"charts/{c}.png" in files for c in cids)
    text = files["email.txt"].decode()
    assert "Russell 2000 Surges; Tech Risks Spotlighted" in text
    assert "KEY MARKET MOVES" in text and "<" not in text


def test_table_numbers_match_the_model(files, reference_recap):
    html = files["recap.html"].decode()
    for m in reference_recap.indexes:
        label = re.escape(m.label.replace("&", "&amp;"))
        row = re.search(rf"<th scope=\"row\">{label}</th>(.*?)</tr>", html, re.S)
        assert row, m.label
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
        assert cells[0] == f"{m.close:,.2f}"
        sign = "+" if m.week_return > 0 else "-"
        assert cells[1] == f"{sign}{abs(m.week_return) * 100:.2f}%"


def test_no_blank_or_nan_anywhere(files):
    for name in ("recap.html", "email.html", "email.txt"):
        text = files[name].decode()
        assert not re.search(r"\bnan%|\bNaN\b|>None<|\bNone\b%|\binf%", text), name
        assert "<td></td>" not in text and '<td class="num"></td>' not in text


def test_values_from_data_are_escaped(reference_recap, reference_config, charts):
    sectors = reference_recap.sectors
    evil = dataclasses.replace(sectors.sectors[0], name='<script>alert("x")</script>')
    recap = dataclasses.replace(
        reference_recap,
        headline="Stocks <b>Rise</b> & Fall",
        sectors=dataclasses.replace(sectors, sectors=(evil, *sectors.sectors[1:])),
    )
    html = render.render_html(recap, charts, reference_config)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Stocks &lt;b&gt;Rise&lt;/b&gt; &amp; Fall" in html


def test_sections_without_data_are_left_out_cleanly(reference_recap, reference_config, charts):
    recap = dataclasses.replace(reference_recap, banks=None, risks=None, week_ahead=None)
    html = render.render_html(recap, charts, reference_config)
    assert "No regional or large bank in the watchlists reported earnings this week." in html
    assert ">Risk Spotlight</h2>" not in html and ">Week Ahead</h2>" not in html
    assert "<tbody>\n    </tbody>" not in html and "<tbody></tbody>" not in html


def test_sample_data_is_marked_everywhere(reference_recap, reference_config, charts):
    recap = dataclasses.replace(
        reference_recap, data=dataclasses.replace(reference_recap.data, source="sample")
    )
    assert "SAMPLE DATA, NOT MARKET DATA" in render.render_html(recap, charts, reference_config)
    assert "SAMPLE DATA, NOT MARKET DATA" in render.render_email_html(
        recap, charts, reference_config
    )
    assert "SAMPLE DATA, NOT MARKET DATA" in render.render_text(recap, reference_config)
    printed = render.render_html(recap, charts, reference_config, for_print=True)
    assert "SAMPLE DATA, NOT MARKET DATA" in printed.split("@bottom-left")[1][:200]


def test_pdf_fetches_nothing_outside_the_build(tmp_path, caplog):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    html = (
        "<html><body><p>x</p>"
        '<img src="file:///etc/passwd" alt="a">'
        f'<img src="{secret.as_uri()}" alt="b">'
        '<img src="http://example.com/x.png" alt="c">'
        '<img src="../../etc/passwd" alt="d">'
        '<link rel="stylesheet" href="https://example.com/x.css">'
        '<img src="charts/ok.png" alt="e"></body></html>'
    )
    pdf = html_to_pdf(html, {"charts/ok.png": _tiny_png()})
    assert pdf.startswith(b"%PDF")
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert any("file:///etc/passwd" in m for m in refused)
    assert any("http://example.com" in m for m in refused)
    assert any("secret.png" in m for m in refused)
    assert not any("charts/ok.png" in m for m in refused)
    assert b"root:" not in pdf


def _tiny_png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    buf = io.BytesIO()
    Figure(figsize=(0.2, 0.2)).savefig(buf, format="png")
    return buf.getvalue()


def test_page_size_comes_from_config(reference_recap, charts, market_dir, tmp_path):
    from pypdf import PdfReader

    from recap.config import read_config

    toml = tmp_path / "recap.toml"
    toml.write_text('[report]\npage_size = "A4"\n')
    cfg = read_config(toml, {"data_dir": market_dir}, cwd=tmp_path)
    html = render.render_html(reference_recap, charts, cfg, for_print=True)
    pdf = html_to_pdf(html, {f"charts/{c.name}.png": c.png for c in charts})
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_charts_are_deterministic_and_described(reference_recap, reference_config, charts):
    from recap import pipeline

    assert [c.name for c in charts] == [
        "indexes",
        "small-vs-large",
        "sectors",
        "banks",
        "ytd-sectors",
    ]
    for c in charts:
        assert c.png.startswith(b"\x89PNG") and c.svg.startswith("<svg")
        assert c.alt and c.title
    assert "Real Estate led with +4.22%, Communication Services lagged at -2.32%" in charts[2].alt
    market = pipeline.fetch_market(
        pipeline_source(reference_config), reference_config, reference_recap.week, None
    )
    again = draw_charts(reference_recap, market.closes, reference_config)[0]
    assert [c.svg for c in again] == [c.svg for c in charts]


def pipeline_source(config):
    from recap.sources.snapshot import SnapshotSource

    return SnapshotSource(config.data_dir)


def test_a_chart_without_data_is_left_out_with_a_note(reference_recap, reference_config):
    import pandas as pd

    recap = dataclasses.replace(reference_recap, banks=None)
    charts, notes = draw_charts(recap, pd.DataFrame(), reference_config)
    names = [c.name for c in charts]
    assert "banks" not in names and "indexes" not in names and "sectors" in names
    assert any("bank earnings" in n for n in notes)
    assert any("four indexes" in n for n in notes)


def test_reference_week_dates(reference_recap):
    assert reference_recap.week.start == dt.date(2026, 1, 12)
