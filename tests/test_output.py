"""The output writer: whole folders moved into place, never half a week."""

from __future__ import annotations

import datetime as dt

import pytest

from recap import output

END = dt.date(2026, 1, 16)


def test_write_then_replace(tmp_path):
    first = output.write_week(tmp_path, END, {"recap.json": b"{}", "charts/a.png": b"png"})
    assert first == tmp_path / "2026-01-16"
    assert (first / "charts" / "a.png").read_bytes() == b"png"
    output.write_week(tmp_path, END, {"recap.json": b'{"v": 2}'})
    assert (first / "recap.json").read_bytes() == b'{"v": 2}'
    assert not (first / "charts").exists()  # replaced whole, no stale files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-01-16"]


def test_failed_write_keeps_the_previous_week(tmp_path):
    output.write_week(tmp_path, END, {"recap.json": b"old"})
    with pytest.raises(output.OutputError, match="outside the week's folder"):
        output.write_week(tmp_path, END, {"recap.json": b"new", "../escape.txt": b"x"})
    assert (tmp_path / "2026-01-16" / "recap.json").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-01-16"]


def test_read_week(tmp_path):
    assert output.read_week(tmp_path, END) is None
    output.write_week(tmp_path, END, {"recap.json": b"{}", "charts/a.png": b"p"})
    assert output.read_week(tmp_path, END) == {"recap.json": b"{}", "charts/a.png": b"p"}
