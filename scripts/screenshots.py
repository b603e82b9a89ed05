"""`make screenshots`: look at what the build makes.

Builds the 2026-01-16 recap from the snapshot into a temporary folder (or reuses a built
week folder given with --week-dir), then writes into --out: the PDF's pages as PNG
(pdftoppm -r 60), the page at phone (375 px) and desktop (1280 px) widths, dark mode at
both, and email.html at 600 px, all with headless Chromium. With --readme it also writes
docs/report.png, the top of the desktop page, for the README. Open the PNGs and look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEEK = dt.date(2026, 1, 16)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--hide-scrollbars",
]


def chromium() -> str | None:
    """The Chromium binary (Debian's `chromium`), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, width: int, height: int, dark: bool = False) -> None:
    """One headless Chromium screenshot of a local file.

    Chromium's headless window is at least 500 px wide; narrower widths are laid out in
    an iframe of that width and the shot is cropped to it.
    """
    if width < 500:
        frame = page.with_name(f"frame-{width}-{page.name}")
        frame.write_text(
            f'<html><body style="margin:0"><iframe src="{page.name}" '
            f'style="width:{width}px;height:{height}px;border:0"></iframe></body></html>'
        )
        _shoot(frame, png, 520, height, dark)
        from PIL import Image

        with Image.open(png) as im:
            im.crop((0, 0, width, height)).save(png)
        return
    _shoot(page, png, width, height, dark)


def _shoot(page: Path, png: Path, width: int, height: int, dark: bool) -> None:
    exe = chromium()
    if exe is None:
        raise SystemExit("chromium is not installed (make sysdeps installs it)")
    flags = [*CHROMIUM_FLAGS, f"--window-size={width},{height}", f"--screenshot={png}"]
    flags.append("--allow-file-access-from-files")
    if dark:
        flags.append("--force-dark-mode")
        flags.append("--blink-settings=preferredColorScheme=0")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [exe, *flags, f"--user-data-dir={profile}", page.resolve().as_uri()],
            check=True,
            capture_output=True,
            timeout=120,
        )


def readme_image(shot: Path, dest: Path, limit: int = 400_000) -> None:
    """The top of the desktop page, cropped to the column and kept under ``limit`` bytes."""
    from PIL import Image

    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(shot) as im:
        column = im.convert("RGB").crop((240, 0, 1040, 1190))
    for colours in (256, 128, 64):
        column.quantize(colours, dither=Image.Dither.NONE).save(dest, optimize=True)
        if dest.stat().st_size < limit:
            return
    raise SystemExit(f"{dest} is over {limit} bytes")


def _email_image(week: Path) -> Any:
    """cid:<name> -> the file a browser can show: the email's own PNG, else the chart's."""

    def src(m: re.Match[str]) -> str:
        name = m.group(1)
        own = week / "email" / f"{name}.png"
        return f'src="{"email" if own.is_file() else "charts"}/{name}.png"'

    return src


def page_height(page: Path, width: int) -> int | None:
    """The page's height in CSS pixels laid out ``width`` px wide (playwright), or None."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    exe = chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": width, "height": 812})
        tab.goto(page.resolve().as_uri())
        height = int(tab.evaluate("document.documentElement.scrollHeight"))
        browser.close()
    return height


def build(data_dir: Path, out: Path) -> Path:
    """The week's files, built from the snapshot into ``out``."""
    from recap import output, pipeline
    from recap.config import read_config

    data_dir = data_dir.resolve()
    cfg = read_config(None, {"data_dir": data_dir, "out_dir": out}, cwd=ROOT)
    now = dt.datetime.now(dt.UTC)
    built = pipeline.build_week(pipeline.open_source(cfg, now), cfg, week_date=WEEK, now=now)
    return output.write_built(out, built)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/market")
    parser.add_argument("--out", type=Path, default=ROOT / "output" / "screenshots")
    parser.add_argument("--week-dir", type=Path, help="a built week folder to reuse")
    parser.add_argument("--readme", action="store_true", help="also write docs/report.png")
    args = parser.parse_args()
    if args.week_dir is None and not (args.data_dir / "prices").is_dir():
        raise SystemExit(f"no snapshot at {args.data_dir}; pass --data-dir")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.week_dir is not None:
            week = Path(tmp) / "week"
            shutil.copytree(args.week_dir, week)
        else:
            week = build(args.data_dir, Path(tmp))
        for old in args.out.glob("pdf-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(week / "recap.pdf"), str(args.out / "pdf")],
            check=True,
        )
        screenshot(week / "recap.html", args.out / "html-1280.png", 1280, 4200)
        screenshot(week / "recap.html", args.out / "html-375.png", 375, 6000)
        screenshot(week / "recap.html", args.out / "html-375-dark.png", 375, 2400, dark=True)
        screenshot(week / "recap.html", args.out / "html-1280-dark.png", 1280, 2400, dark=True)
        # Mail clients resolve cid: images from the message; a browser needs files.
        preview = week / "email-preview.html"
        html = (week / "email.html").read_text(encoding="utf-8")
        preview.write_text(re.sub(r'src="cid:([\w-]+)"', _email_image(week), html))
        screenshot(preview, args.out / "email-600.png", 640, 3600)
        screenshot(preview, args.out / "email-375.png", 375, 6000)
        screenshot(preview, args.out / "email-375-dark.png", 375, 2400, dark=True)
        # A phone screen: 375 x 812 CSS px (the iPhone X to 13 mini).
        for name, page in (("page", week / "recap.html"), ("email", preview)):
            height = page_height(page, 375)
            if height is not None:
                print(f"{name} at 375 px: {height} px tall, {height / 812:.1f} screens of 812 px")
    if args.readme:
        readme_image(args.out / "html-1280.png", ROOT / "docs" / "report.png")
    for png in sorted(args.out.glob("*.png")):
        print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)


if __name__ == "__main__":
    main()
