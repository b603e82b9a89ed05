"""`make golden`: regenerate tests/golden/recap-2026-01-16.html from the snapshot.

The page is normalized before it is compared or saved: the build time is replaced and
each inline chart's SVG body is reduced to its alt text (charts have their own tests,
and their exact geometry depends on the fonts installed). Review the diff, then commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEEK = dt.date(2026, 1, 16)
NOW = dt.datetime(2026, 1, 31, 18, tzinfo=dt.UTC)
GOLDEN = ROOT / "tests" / "golden" / "recap-2026-01-16.html"
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_BUILT = re.compile(r"built \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def normalize(html: str) -> str:
    """The page without what legitimately varies between machines and runs."""
    html = _BUILT.sub("built <time>", html)
    return _SVG.sub("<svg><!-- chart drawn here --></svg>", html)


def render(data_dir: Path) -> str:
    """recap.html of the golden week, normalized."""
    from recap import pipeline
    from recap.config import read_config

    # The project's cache folder (the columnar cache of closes), never the data folder.
    cfg = read_config(None, {"data_dir": data_dir, "cache_dir": ROOT / ".cache"}, cwd=data_dir)
    built = pipeline.build_week(
        pipeline.open_source(cfg, NOW), cfg, week_date=WEEK, now=NOW, formats=("html",)
    )
    return normalize(built.files["recap.html"].decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/market")
    args = parser.parse_args()
    if not (args.data_dir / "prices").is_dir():
        raise SystemExit(f"no snapshot at {args.data_dir}; pass --data-dir")
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(render(args.data_dir.resolve()), encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}; review it with: git diff -- tests/golden")


if __name__ == "__main__":
    main()
