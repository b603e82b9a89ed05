"""The PDF of the 2026-01-16 week, built for real: length, text, running header and footer,
embedded fonts and charts, page size from config, the sample-data mark on every page, and a
URL fetcher that reads nothing outside the build."""

from __future__ import annotations

import dataclasses
import io

import pytest

from recap import render
from recap.pdf import BASE_URL, build_fetcher, html_to_pdf
from tests._report import CHARTS, SECTIONS, pdf_pages, reference, reference_charts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The reference week prints on 9 Letter pages today (the attribution added two); allow
# some growth, catch a blow-up.
MIN_PAGES, MAX_PAGES = 4, 11


@pytest.fixture(scope="module")
def files(market_dir):
    from tests._delivery import built_files

    return built_files(market_dir)


@pytest.fixture(scope="module")
def pages(files, tmp_path_factory):
    return pdf_pages(files["recap.pdf"], tmp_path_factory.mktemp("pdf"))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_page_count_is_bounded(files):
    from pypdf import PdfReader

    assert files["recap.pdf"].startswith(b"%PDF")
    assert MIN_PAGES <= len(PdfReader(io.BytesIO(files["recap.pdf"])).pages) <= MAX_PAGES


def test_text_holds_the_headline_every_heading_and_the_figures(pages):
    text = _flat(" ".join(pages))
    assert "Russell 2000 Sets a Third Straight Record" in text
    for heading in SECTIONS:
        assert heading in text, heading
    order = [text.index(h) for h in SECTIONS]
    assert order == sorted(order), "sections out of order"
    assert "2,677.74" in text and "+2.04%" in text  # the Russell 2000's own level
    assert "CITED CONTEXT" in text.upper()


def test_every_page_has_header_and_footer(pages):
    n = len(pages)
    for i, page in enumerate(pages, start=1):
        flat = _flat(page)
        assert f"Page {i} of {n}" in flat
        assert "Not investment advice" in flat
        if i > 1:  # the first page carries the masthead instead
            assert "The Weekly Market Recap" in flat and "Week of Jan 12–16, 2026" in flat


def test_fonts_are_embedded_and_every_chart_is_drawn(files):
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
    assert images >= len(CHARTS)
    assert sorted(n for n in files if n.startswith("charts/")) == sorted(
        f"charts/{c}.png" for c in CHARTS
    )


def test_inter_is_used_when_installed(files):
    from matplotlib import font_manager

    if not any("Inter" in f for f in font_manager.findSystemFonts(fontext="otf")):
        pytest.skip("fonts-inter not installed (make sysdeps)")
    assert b"Inter" in files["recap.pdf"]


def test_print_html_uses_the_png_charts(market_dir):
    recap, _, cfg = reference(market_dir)
    charts = reference_charts(market_dir)
    html = render.render_html(recap, charts, cfg, for_print=True)
    for c in charts:
        assert f'<img src="charts/{c.name}.png"' in html
    assert "<svg" not in html
    assert "@page" in html and "prefers-color-scheme" not in html


@pytest.fixture(scope="module")
def a4_sample_pdf(market_dir, tmp_path_factory):
    """The reference week marked as sample data, printed with a config asking for A4: one
    render that two tests read (each part changes nothing the other checks)."""
    from recap.config import read_config

    recap, _, _ = reference(market_dir)
    charts = reference_charts(market_dir)
    folder = tmp_path_factory.mktemp("a4")
    toml = folder / "recap.toml"
    toml.write_text('[report]\npage_size = "A4"\n')
    cfg = read_config(toml, {"data_dir": market_dir}, cwd=folder)
    sample = dataclasses.replace(recap, data=dataclasses.replace(recap.data, source="sample"))
    html = render.render_html(sample, charts, cfg, for_print=True)
    return html_to_pdf(html, {f"charts/{c.name}.png": c.png for c in charts})


def test_page_size_comes_from_config(a4_sample_pdf):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(a4_sample_pdf))
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_sample_data_is_marked_on_every_page(a4_sample_pdf, tmp_path):
    pages = pdf_pages(a4_sample_pdf, tmp_path)
    assert len(pages) >= 2
    for page in pages:
        assert "SAMPLE DATA, NOT MARKET DATA" in page


def test_pdf_fetches_nothing_outside_the_build(tmp_path, caplog):
    secret = tmp_path / "secret.png"
    secret.write_bytes(_tiny_png())
    html = (
        "<html><body><p>x</p>"
        '<img src="file:///etc/passwd" alt="a">'
        f'<img src="{secret.as_uri()}" alt="b">'
        '<img src="http://example.com/x.png" alt="c">'
        '<img src="../../etc/passwd" alt="d">'
        '<link rel="stylesheet" href="https://example.com/x.css">'
        '<style>@import url("http://example.com/y.css"); '
        'body { background: url("file:///etc/hostname") }</style>'
        '<img src="charts/ok.png" alt="e"></body></html>'
    )
    pdf = html_to_pdf(html, {"charts/ok.png": _tiny_png()})
    assert pdf.startswith(b"%PDF")
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert any("file:///etc/passwd" in m for m in refused)
    assert any("http://example.com/x.png" in m for m in refused)
    assert any("secret.png" in m for m in refused)
    assert not any("charts/ok.png" in m for m in refused)
    assert b"root:" not in pdf


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/x.png",
        "https://example.com/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        BASE_URL + "../etc/passwd",
        BASE_URL + "charts/missing.png",
        "https://recap-build.invalid.example.com/charts/ok.png",
    ],
)
def test_fetcher_refuses_everything_but_the_build_files(url):
    fetch = build_fetcher({"charts/ok.png": b"png"})
    with pytest.raises(ValueError, match="refused"):
        fetch.fetch(url)


def test_fetcher_serves_the_build_files():
    fetch = build_fetcher({"charts/ok.png": b"\x89PNG"})
    response = fetch.fetch(BASE_URL + "charts/ok.png")
    body = response.read() if hasattr(response, "read") else response.body
    assert body == b"\x89PNG"


def _tiny_png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    buf = io.BytesIO()
    Figure(figsize=(0.2, 0.2)).savefig(buf, format="png")
    return buf.getvalue()
