"""The 2026-01-16 page against its reviewed golden copy (make golden regenerates it)."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_golden.py"


def _golden_module():
    spec = importlib.util.spec_from_file_location("make_golden", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_page_matches_the_golden_file(reference_week):
    # The page as `make golden` builds it (an html build: test_render holds the two equal).
    golden = _golden_module()
    expected = golden.GOLDEN.read_text(encoding="utf-8")
    actual = golden.normalize(reference_week.files(pdf=False)["recap.html"].decode())
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), "golden", "now", n=1
            )
        )
        pytest.fail(
            "recap.html differs from tests/golden (run `make golden`, review):\n" + diff[:4000]
        )


def test_golden_file_is_normalized():
    text = (Path(__file__).parent / "golden" / "recap-2026-01-16.html").read_text()
    assert "built <time>" in text
    assert "<svg><!-- chart drawn here --></svg>" in text
    assert "Russell 2000 Sets a Third Straight Record" in text
