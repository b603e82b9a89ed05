"""The page in a real browser: headless Chromium (Debian's chromium) at phone and desktop
widths. Skips when Chromium is not installed (make sysdeps installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make sysdeps)"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--hide-scrollbars",
]
# Headless Chromium will not make a window narrower than 500 px, so the page is laid out
# in an iframe of the width under test, which reports the width its content needs.
FRAME = (
    '<html><body style="margin:0"><iframe src="recap.html" style="width:{w}px;height:900px;'
    "border:0\" onload=\"document.body.setAttribute('data-scroll-width',"
    ' this.contentDocument.documentElement.scrollWidth)"></iframe></body></html>'
)


def _chromium(args: list[str]) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def week_dir(market_dir, tmp_path_factory):
    from tests._delivery import built_files

    out = tmp_path_factory.mktemp("week")
    for name, data in built_files(market_dir, pdf=False).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return out


@pytest.mark.parametrize("width", [375, 1280])
def test_page_fits_the_screen_without_sideways_scrolling(week_dir, width):
    probe = week_dir / f"probe-{width}.html"
    probe.write_text(FRAME.format(w=width))
    window = f"--window-size={max(width, 500) + 40},900"
    dom = _chromium(["--allow-file-access-from-files", window, "--dump-dom", probe.as_uri()])
    found = re.search(r'data-scroll-width="(\d+)"', dom)
    assert found, "the probe did not run"
    assert int(found.group(1)) <= width


@pytest.mark.parametrize(("page", "width"), [("recap.html", 1280), ("email.html", 600)])
def test_screenshot_shows_a_page(week_dir, page, width, tmp_path):
    from PIL import Image

    png = tmp_path / "shot.png"
    _chromium([f"--window-size={width},1600", f"--screenshot={png}", (week_dir / page).as_uri()])
    with Image.open(png) as im:
        assert im.size == (width, 1600)
        colours = im.convert("L").getcolors(maxcolors=4096)
    # A rendered page has text and rules: many grey levels, not a blank frame.
    assert colours is None or len(colours) > 20
