"""Helpers for the report tests (render, charts, PDF): the reference week's charts drawn
once per process, and text out of a PDF. Not a conftest: the modules import these."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from tests.conftest import CACHE_DIR

NOW = dt.datetime(2026, 1, 31, 23, tzinfo=dt.UTC)
WEEK = dt.date(2026, 1, 16)
SECTIONS = (
    "Key Market Moves",
    "Sector Highlights and Drivers",
    "Regional Banks",
    "Risk Spotlight",
    "Week Ahead",
    "Conclusion",
    "Data notes",
)
CHARTS = ("indexes", "small-vs-large", "sectors", "banks", "attribution", "top-stocks")


@lru_cache(maxsize=2)
def reference(market_dir: Path) -> tuple[Any, Any, Any]:
    """(recap, closes, config) of the 2026-01-16 week, from the real snapshot."""
    from recap import pipeline
    from recap.config import read_config

    cfg = read_config(None, {"data_dir": market_dir, "cache_dir": CACHE_DIR}, cwd=market_dir)
    week, market = pipeline.gather_market(pipeline.open_source(cfg, NOW), cfg, WEEK, NOW)
    return pipeline.compute_recap(market, week, cfg, NOW), market.closes, cfg


@lru_cache(maxsize=2)
def reference_charts(market_dir: Path) -> tuple[Any, ...]:
    """The reference week's charts, drawn once per process."""
    from recap.charts import draw_charts

    recap, closes, cfg = reference(market_dir)
    return draw_charts(recap, closes, cfg)[0]


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page (pdftotext when installed, else pypdf)."""
    path = tmp_path / "page-text.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]
