"""Helpers for the report tests (render, charts, PDF): the reference week and its charts
(built once per process, in tests/_reference.py), and text out of a PDF. Not a conftest:
the modules import these."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests._reference import NOW, REFERENCE_WEEK, real_week

WEEK = REFERENCE_WEEK
__all__ = [
    "CHARTS",
    "NOW",
    "SECTIONS",
    "WEEK",
    "pdf_pages",
    "reference",
    "reference_charts",
    "reference_markets",
]
SECTIONS = (
    "Key Market Moves",
    "Beyond Stocks",
    "Sector Highlights and Drivers",
    "Regional Banks",
    "Risk Spotlight",
    "Week Ahead",
    "Conclusion",
    "Data notes",
)
CHARTS = (
    "indexes",
    "small-vs-large",
    "sectors",
    "banks",
    "attribution",
    "top-stocks",
    "markets",
)


def reference(market_dir: Path) -> tuple[Any, Any, Any]:
    """(recap, closes, config) of the 2026-01-16 week, from the real snapshot."""
    week = real_week(market_dir, WEEK)
    return week.recap, week.market.closes, week.config


def reference_markets(market_dir: Path) -> Any:
    """The reference week's [markets] series (the "Beyond stocks" chart draws from them)."""
    return real_week(market_dir, WEEK).market.markets


def reference_charts(market_dir: Path) -> tuple[Any, ...]:
    """The reference week's charts, drawn once per process."""
    return real_week(market_dir, WEEK).charts


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
