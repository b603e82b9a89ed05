"""The CLI end to end on the real snapshot, and every kind of bad input it must refuse."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from recap.cli import cli
from tests._report import CHARTS, NOW

WEEK = "2026-01-16"
INDEX_FILES = ("SPY", "DIA", "QQQ", "IWM")


def _invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def built(market_dir, tmp_path_factory):
    from recap import cli as cli_mod

    out = tmp_path_factory.mktemp("out")
    store = out / "store.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_mod, "_now", lambda: NOW)  # the clock of the tests' shared builds
        result = _invoke(
            "build",
            "--week",
            WEEK,
            "--data-dir",
            str(market_dir),
            "--out",
            str(out),
            "--store",
            str(store),
            "--format",
            "html,pdf,json",
        )
    assert result.exit_code == 0, result.output
    return out / WEEK, result


def test_build_writes_every_format(built):
    folder, result = built
    assert {"recap.html", "recap.pdf", "recap.json"} <= {p.name for p in folder.iterdir()}
    assert str(folder / "recap.pdf") in result.output
    assert (folder / "recap.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_week_the_tests_share_is_what_recap_build_writes(built, reference_week):
    """tests/_reference.py builds the week in stages, once, for the tests to share: the
    files are those `recap build` writes, byte for byte (the PDF from the same step)."""
    folder, _ = built
    written = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.*")}
    shared = reference_week.files(pdf=False)
    pngs = {f"charts/{name}.png" for name in CHARTS} | {"charts/charts.json"}
    assert set(written) == {"recap.html", "recap.pdf", "recap.json", *pngs}
    assert all(written[name] == shared[name] for name in ("recap.html", "recap.json", *pngs))


def test_json_has_the_reference_facts(built):
    folder, _ = built
    doc = json.loads((folder / "recap.json").read_text())
    assert doc["schema"] == 1
    assert doc["week"] == {
        **doc["week"],
        "start": "2026-01-12",
        "end": WEEK,
        "sessions": 5,
        "base_date": "2026-01-09",
    }
    assert doc["data"]["source"] == "snapshot" and doc["data"]["last_bar"] == WEEK
    by = {i["symbol"]: i for i in doc["indexes"]}
    # The data README's index levels: the indexes themselves, not their ETFs.
    assert round(by["^RUT"]["week_return"], 4) == 0.0204 and by["^RUT"]["record_close"] is True
    assert round(by["^RUT"]["close"], 2) == 2677.74 and by["^RUT"]["is_proxy"] is False
    assert by["^RUT"]["label"] == "Russell 2000"
    assert round(by["^GSPC"]["week_return"], 4) == -0.0038 and by["^GSPC"]["record_close"] is False
    assert round(by["^GSPC"]["close"], 2) == 6940.01
    assert round(by["^DJI"]["week_return"], 4) == -0.0029
    assert round(by["^DJI"]["close"], 2) == 49359.33
    assert round(by["^IXIC"]["week_return"], 4) == -0.0066
    assert round(by["^IXIC"]["close"], 2) == 23515.39
    spread = doc["small_vs_large"]["spread"]
    assert spread == pytest.approx(by["^RUT"]["week_return"] - by["^GSPC"]["week_return"])
    assert doc["headline"]


def test_pdf_text_holds_headline_and_index_numbers(built):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    folder, _ = built
    doc = json.loads((folder / "recap.json").read_text())
    text = subprocess.run(
        ["pdftotext", "-layout", str(folder / "recap.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    squashed = " ".join(text.split())
    assert " ".join(doc["headline"].split()) in squashed
    for figure in ("+2.04%", "−0.38%", "−0.29%", "−0.66%", "2,677.74", "6,940.01", "49,359.33"):
        assert figure in text or figure.replace("−", "-") in text, figure


# --- bad input: a clear message, exit code 1, no partial output ---------------------


@pytest.fixture
def mini(market_dir, tmp_path):
    """A snapshot of just the four index ETFs, to break in small ways."""
    root = tmp_path / "snap"
    (root / "prices").mkdir(parents=True)
    for t in INDEX_FILES:
        shutil.copy(market_dir / "prices" / f"{t}.csv", root / "prices" / f"{t}.csv")
    return root


def _build_fails(data_dir, tmp_path, *extra, week=WEEK):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--week",
            week,
            "--data-dir",
            str(data_dir),
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.sqlite"),
            *extra,
        ],
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not (out / week).exists()
    return result.output


def _edit(path, fn):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(fn(lines)))


def test_unknown_ticker(mini, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[indexes]]\nname = "Nowhere"\nsymbol = "^NOPE"\nproxy = "NOPEX"\n')
    out = _build_fails(mini, tmp_path, "--config", str(cfg))
    assert "^NOPE" in out and "NOPEX" in out


def test_future_week(mini, tmp_path):
    out = _build_fails(mini, tmp_path, week="2099-01-16")
    assert "2099" in out


def test_week_without_data(mini, tmp_path):
    out = _build_fails(mini, tmp_path, week="2026-03-06")
    assert "no data for the week" in out and "2026-01-30" in out


def test_missing_last_bar(mini, tmp_path):
    _edit(mini / "prices" / "SPY.csv", lambda ls: [x for x in ls if not x.startswith(WEEK)])
    out = _build_fails(mini, tmp_path)
    assert "SPY" in out and WEEK in out


def test_nan_close(mini, tmp_path):
    def blank(lines):
        return [f"{WEEK},1,2,0.5,,,100\n" if x.startswith(WEEK) else x for x in lines]

    _edit(mini / "prices" / "IWM.csv", blank)
    out = _build_fails(mini, tmp_path)
    assert "IWM" in out and WEEK in out


def test_malformed_csv_names_file_and_line(mini, tmp_path):
    _edit(mini / "prices" / "DIA.csv", lambda ls: [ls[0], ls[1], "1998-01-21,oops\n", *ls[2:]])
    out = _build_fails(mini, tmp_path)
    assert "DIA.csv, line 3" in out


def test_a_row_without_a_date_names_file_and_line(mini, tmp_path):
    # It used to be kept, dated 1970-01-01 in the price cache.
    _edit(mini / "prices" / "DIA.csv", lambda ls: [ls[0], ls[1], ",1,2,0.5,1.5,1.5,100\n", *ls[2:]])
    out = _build_fails(mini, tmp_path)
    assert "DIA.csv, line 3: the Date is missing" in out


def test_a_header_with_spaces_is_read_like_the_plain_one(mini, tmp_path):
    # It passed the header check, then ended the build with a KeyError.
    _edit(mini / "prices" / "DIA.csv", lambda ls: [ls[0].replace(",", ", "), *ls[1:]])
    result = CliRunner().invoke(
        cli, ["build", "--week", WEEK, "--data-dir", str(mini), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output


def test_truncated_csv(mini, tmp_path):
    _edit(mini / "prices" / "QQQ.csv", lambda ls: [*ls[:-1], ls[-1][:14]])
    out = _build_fails(mini, tmp_path)
    assert "QQQ.csv, line" in out and "truncated" in out


def test_config_with_a_wrong_type(mini, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[report]\npage_size = 4\n")
    out = _build_fails(mini, tmp_path, "--config", str(cfg))
    assert "bad.toml" in out and "report.page_size" in out


def test_bad_date_option(mini, tmp_path):
    result = CliRunner().invoke(cli, ["build", "--week", "16/01/2026", "--data-dir", str(mini)])
    # One line and exit 1, as the README promises for bad input (not click's usage, 2).
    assert result.exit_code == 1 and "YYYY-MM-DD" in result.output
    assert "Usage:" not in result.output


def test_failed_build_keeps_the_previous_output(mini, market_dir, tmp_path):
    out = tmp_path / "out"
    ok = _invoke(
        "build",
        "--week",
        WEEK,
        "--data-dir",
        str(market_dir),
        "--out",
        str(out),
        "--store",
        str(tmp_path / "s.sqlite"),
        "--format",
        "json",
    )
    assert ok.exit_code == 0, ok.output
    before = (out / WEEK / "recap.json").read_bytes()
    _edit(mini / "prices" / "SPY.csv", lambda ls: [x for x in ls if not x.startswith(WEEK)])
    result = CliRunner().invoke(
        cli,
        ["build", "--week", WEEK, "--data-dir", str(mini), "--out", str(out), "--format", "json"],
    )
    assert result.exit_code == 1
    assert (out / WEEK / "recap.json").read_bytes() == before
    assert [p.name for p in out.iterdir()] == [WEEK]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["build", "--week", "last friday"], "Error: --week 'last friday' is not a date"),
        (["build", "--week", "2026-02-30"], "Error: --week '2026-02-30' is not a date"),
        (["publish", "--week", "garbage", "--site", "x"], "Error: --week 'garbage' is not a date"),
        (["backfill", "--from", "2026-01", "--to", "2026-01-30"], "Error: --from '2026-01' is"),
        (["snapshot", "--out", "x", "--until", "tomorrow"], "Error: --until 'tomorrow' is not"),
    ],
)
def test_a_garbage_date_is_one_line_and_exit_1(tmp_path, args, line):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), result.output
    assert "Usage:" not in result.output
