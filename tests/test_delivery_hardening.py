"""What an adversarial pass over delivery found (issue 21): each case on real parts, a real
SMTP server on 127.0.0.1 (aiosmtpd), real SQLite files, the real feed parser, the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from recap.cli import cli
from recap.delivery.batch import send_batch
from recap.delivery.edition import load_edition
from recap.delivery.email import EmailSettings, prepare, unsubscribe_links
from recap.delivery.ledger import DeliveryLog
from recap.delivery.subscribers import parse_subscribers
from tests._delivery import (
    NOW,
    REFERENCE_WEEK,
    Inbox,
    Server,
    built_files,
    config,
    email_args,
    free_port,
    smtp_toml,
    statuses,
    subscribers,
)

WEEK = "2026-01-16"
SECRET = "0123456789abcdef-test-secret"
TOKEN_URL = "https://news.example.com/unsubscribe?email={email}&token={token}"


@pytest.fixture
def smtp():
    server = Server(Inbox(), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def week_files(market_dir):
    return built_files(market_dir, pdf=False)


def _cli(args, **kwargs):
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kwargs)


def _no_sleep(seconds: float) -> None:
    pass


def _send(cfg, files, text, **kwargs):
    settings = EmailSettings.from_config(cfg)
    news = prepare(load_edition(files), settings)
    subs = parse_subscribers(text).subscribers
    with DeliveryLog(cfg.state_path) as log:
        return send_batch(news, subs, settings, log, now=NOW, sleep=_no_sleep, **kwargs)


def _week_on_disk(cfg, files, text):
    from recap import output

    output.write_week(cfg.out_dir, REFERENCE_WEEK, files)
    path = cfg.out_dir.parent / "subs.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _raw_headers(raw: bytes) -> dict[str, str]:
    """The header block as sent: name (lower case) -> the value with folding undone."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    out: dict[str, str] = {}
    for line in re.split(r"\r\n(?![ \t])", head):
        name, _, value = line.partition(":")
        out[name.lower()] = re.sub(r"\r\n[ \t]", " ", value).strip()
    return out


# -- High: List-Unsubscribe in its <https://...> form, with List-Unsubscribe-Post -------


def test_list_unsubscribe_with_a_token_url_goes_out_in_angle_brackets(
    tmp_path, smtp, week_files, monkeypatch
):
    monkeypatch.setenv("RECAP_UNSUBSCRIBE_SECRET", SECRET)
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, unsubscribe_url=f'"{TOKEN_URL}"'))
    _send(cfg, week_files, subscribers(2), secret=SECRET.encode())
    settings = EmailSettings.from_config(cfg)
    for i in range(2):
        address = f"reader{i}@example.org"
        (raw,) = [r for rcpts, r in smtp.inbox._received if address in rcpts]
        headers = _raw_headers(raw)
        https, mailto = unsubscribe_links(settings, address, SECRET.encode())
        # RFC 2369: each URI in angle brackets, as is; RFC 8058: the POST header beside it.
        assert headers["list-unsubscribe"] == f"<{https}>, <{mailto}>"
        assert "=?" not in headers["list-unsubscribe"]
        assert headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"


# -- Medium: display names with commas and colons stay one quoted name -------------------


@pytest.mark.parametrize(
    "name",
    [
        "Smith, John: boss@example.net",
        "Müller, Jörg: boss@example.net",
        "A long name, with a comma and: a colon, boss@example.net, then words to fold",
    ],
)
def test_a_display_name_with_commas_and_colons_is_one_recipient(tmp_path, smtp, week_files, name):
    toml = smtp_toml(smtp.port, from_name='"Recap, Weekly: Markets"')
    cfg = config(tmp_path, toml=toml)
    text = f'email,name\nann@example.org,"{name}"\n'
    report = _send(cfg, week_files, text)
    assert report.sent == ["ann@example.org"]
    (msg,) = smtp.inbox.to("ann@example.org")
    assert smtp.inbox.rcpts == ["ann@example.org"]
    to = [(a.display_name, a.addr_spec) for a in msg["To"].addresses]
    assert to == [(name, "ann@example.org")]
    sender = [(a.display_name, a.addr_spec) for a in msg["From"].addresses]
    assert sender == [("Recap, Weekly: Markets", "recap@news.example.com")]


# -- High: the delivery state survives `make clean` and runs from another folder ----------


def test_make_clean_and_another_folder_keep_the_send_log_and_the_suppression_list(
    tmp_path, smtp, week_files, monkeypatch
):
    import shutil
    import subprocess

    from tests._reference import PROJECT_ROOT

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_ROOT / "Makefile", project / "Makefile")
    toml = tmp_path / "recap.toml"
    toml.write_text(smtp_toml(smtp.port))
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    subs = _week_on_disk(cfg, week_files, subscribers(3))
    # No --store, no --state: the defaults, as a user runs it from the project folder.
    args = ["--week", WEEK, "--to", str(subs), "--config", str(toml), "--out", str(cfg.out_dir)]
    monkeypatch.chdir(project)
    assert _cli(["unsubscribe", "reader1@example.org", "--config", str(toml)]).exit_code == 0
    first = _cli(["email", *args])
    assert first.exit_code == 0, first.output
    assert sorted(smtp.inbox.rcpts) == ["reader0@example.org", "reader2@example.org"]
    assert (project / ".cache").is_dir(), "the store is where it always was"

    subprocess.run(["make", "clean"], cwd=project, check=True, capture_output=True)
    assert not (project / ".cache").exists()
    again = _cli(["email", *args])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    third = _cli(["email", *args])
    for result in (again, third):
        assert result.exit_code == 0, result.output
        assert "sent the week ending 2026-01-16 to 0 recipients" in result.output
        assert "2 already had it" in result.output
        assert "skipped 1 on the suppression list (1 unsubscribed)" in result.output
    assert sorted(smtp.inbox.rcpts) == ["reader0@example.org", "reader2@example.org"]


def test_the_state_path_never_depends_on_the_current_folder(tmp_path, monkeypatch):
    from recap.config import read_config
    from recap.errors import ConfigError

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    a = read_config(cwd=tmp_path / "a")
    b = read_config(cwd=tmp_path / "b")
    assert a.state_path == b.state_path == tmp_path / "xdg" / "recap" / "delivery.sqlite"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # the XDG spec: ignore it
    assert read_config().state_path == Path("~/.local/state/recap/delivery.sqlite").expanduser()
    (tmp_path / "recap.toml").write_text('[paths]\nstate = "state.sqlite"\n')
    with pytest.raises(ConfigError, match=r"paths\.state' must be an absolute path"):
        read_config(tmp_path / "recap.toml")
    (tmp_path / "recap.toml").write_text(f'[paths]\nstate = "{tmp_path}/s.sqlite"\n')
    assert read_config(tmp_path / "recap.toml").state_path == tmp_path / "s.sqlite"


def test_an_older_send_log_in_the_store_is_brought_over_once(tmp_path, smtp, week_files):
    from recap.delivery.ledger import SENT

    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    subs = _week_on_disk(cfg, week_files, subscribers(3))
    # What an older recap left in the store: the week sent to reader0, reader2 unsubscribed.
    with DeliveryLog(cfg.store_path) as old:
        old.record(WEEK, "reader0@example.org", SENT, message_id="<x@y>")
        old.suppress("reader2@example.org", "unsubscribed")
    assert not cfg.state_path.exists()
    result = _cli(email_args(cfg, subs))
    assert result.exit_code == 0, result.output
    assert smtp.inbox.rcpts == ["reader1@example.org"]
    assert statuses(cfg.state_path) == {
        "reader0@example.org": "sent",
        "reader1@example.org": "sent",
    }


def test_a_week_published_in_the_site_but_unknown_to_the_send_log_is_not_sent_again(
    tmp_path, smtp, week_files
):
    from recap.delivery.ledger import backup_path

    site = tmp_path / "site"
    site.mkdir()
    toml = smtp_toml(smtp.port) + f'[weekly]\nsite = "{site}"\nsubscribers = ""\n'
    cfg = config(tmp_path, toml=toml)
    subs = _week_on_disk(cfg, week_files, subscribers(3))
    published = _cli(
        ["publish", "--week", WEEK, "--site", str(site), "--config", str(cfg.sources[-1])]
        + ["--out", str(cfg.out_dir), "--store", str(cfg.store_path)]
    )
    assert published.exit_code == 0, published.output
    assert _cli(email_args(cfg, subs)).exit_code == 0
    assert len(smtp.inbox.rcpts) == 3
    # The send log is lost (a new machine, a wiped home): the site still shows the week.
    cfg.state_path.unlink()
    backup_path(cfg.state_path).unlink()
    refused = _cli(email_args(cfg, subs))
    assert refused.exit_code == 1
    assert "already published in" in refused.output and "--new-send-log" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert len(smtp.inbox.rcpts) == 3, "nobody got a second copy"
    # Told so explicitly, it sends.
    forced = _cli(email_args(cfg, subs, "--new-send-log"))
    assert forced.exit_code == 0, forced.output
    assert len(smtp.inbox.rcpts) == 6


def test_the_weekly_job_checks_the_send_log_before_it_publishes(
    tmp_path, smtp, week_files, reference_recap
):
    from recap.delivery.jobs import run_weekly
    from recap.errors import DeliveryError
    from recap.pipeline import BuiltWeek

    site = tmp_path / "site"
    site.mkdir()
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, retries=0))
    subs = tmp_path / "subs.csv"
    subs.write_text(subscribers(2))
    built = BuiltWeek(reference_recap, week_files)
    # The mail server is down: the week is published, the email is not sent.
    smtp.stop()
    run = run_weekly(cfg, NOW, subscribers=subs, site=site, build=built)
    assert run.steps == ["built", "published", "emailed"] and run.emailed.report.stopped
    # The next run is not refused: the send log saw that publish.
    smtp.start()
    run = run_weekly(cfg, NOW, subscribers=subs, site=site, build=built)
    assert run.emailed.report.sent == ["reader0@example.org", "reader1@example.org"]
    # The send log lost: refused before publishing or sending anything.
    cfg.state_path.unlink()
    post = next((site / "static" / "archive").glob("*/recap.json"))
    before = post.stat().st_mtime_ns
    with pytest.raises(DeliveryError, match="already published in"):
        run_weekly(cfg, NOW, subscribers=subs, site=site, build=built)
    assert len(smtp.inbox.rcpts) == 2
    assert post.stat().st_mtime_ns == before


# -- High: a damaged send log is refused, with how to restore it -------------------------


def _zero_a_leaf(path: Path) -> None:
    """Damage the file as a bad disk does: a table page that claims to hold no rows."""
    data = bytearray(path.read_bytes())
    for start in range(4096 * 3, len(data), 4096):
        if data[start] == 0x0D and int.from_bytes(data[start + 3 : start + 5], "big"):
            data[start + 3 : start + 5] = b"\x00\x00"
            path.write_bytes(bytes(data))
            return
    raise AssertionError("no table leaf to damage")


def _damage_the_index(path: Path) -> None:
    """Damage the send log's index only: a few of its entries name another week. The
    rows are intact and quick_check finds nothing, but WHERE week = ? misses rows."""
    data = bytearray(path.read_bytes())
    changed = 0
    for start in range(4096, len(data), 4096):
        if data[start] != 0x0A:  # an index leaf page
            continue
        page = bytes(data[start : start + 4096])
        at = page.find(b"2026-01-16reader5")
        while at != -1 and changed < 5:
            data[start + at + 9] = ord("7")
            changed += 1
            at = page.find(b"2026-01-16reader5", at + 1)
    assert changed, "no index entry to damage"
    path.write_bytes(bytes(data))


READERS = 60  # the send log then spans a few pages


@pytest.mark.parametrize("damage", [_zero_a_leaf, _damage_the_index])
def test_a_damaged_send_log_is_refused_and_the_backup_restores_it(
    tmp_path, smtp, week_files, damage
):
    import shlex
    import sqlite3

    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    subs = _week_on_disk(cfg, week_files, subscribers(READERS))
    assert _cli(email_args(cfg, subs)).exit_code == 0
    assert len(smtp.inbox.rcpts) == READERS
    with sqlite3.connect(cfg.state_path) as conn:  # everything in the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with sqlite3.connect(cfg.state_path) as conn:
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    conn.close()
    damage(cfg.state_path)
    for args in (email_args(cfg, subs), ["unsubscribe", "x@example.org"]):
        refused = _cli(args)
        assert refused.exit_code == 1
        (line,) = refused.output.strip().splitlines()
        assert "the delivery log is damaged" in line and "nothing was sent" in line
    assert len(smtp.inbox.rcpts) == READERS, "nobody got a second copy"
    # The message says how to restore it; done, the next run sends nobody twice.
    command = re.search(r"\(cp ([^;]+);", line).group(1)
    source, target = shlex.split(command)
    Path(target).write_bytes(Path(source).read_bytes())
    for suffix in ("-wal", "-shm"):
        Path(target + suffix).unlink(missing_ok=True)
    again = _cli(email_args(cfg, subs))
    assert again.exit_code == 0, again.output
    assert f"{READERS} already had it" in again.output
    assert len(smtp.inbox.rcpts) == READERS


def test_a_file_that_is_not_a_database_is_refused_in_one_line(tmp_path):
    from recap.errors import DeliveryError

    path = tmp_path / "delivery.sqlite"
    path.write_bytes(b"<html>not a database</html>" * 200)
    with pytest.raises(DeliveryError, match="the delivery log is damaged"):
        DeliveryLog(path)


# -- Medium: an invisible line break in a name does not split the row --------------------


def test_a_line_separator_in_a_name_keeps_the_row_whole(tmp_path, smtp, week_files):
    text = (
        "email,name\n"
        "ann@example.org,Ann\u2028boss@example.net\n"
        "bob@example.org,Bob\u0085\u2029Smith\n"
        "carol@example.org,Carol\n"
    )
    parsed = parse_subscribers(text)
    assert [(s.email, s.name, s.line) for s in parsed.subscribers] == [
        ("ann@example.org", "Ann boss@example.net", 2),
        ("bob@example.org", "Bob Smith", 3),
        ("carol@example.org", "Carol", 4),
    ]
    assert parsed.problems == ()
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    subs = _week_on_disk(cfg, week_files, text)
    result = _cli(email_args(cfg, subs))
    assert result.exit_code == 0, result.output
    assert smtp.inbox.rcpts == ["ann@example.org", "bob@example.org", "carol@example.org"]
    (msg,) = smtp.inbox.to("ann@example.org")
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("Ann boss@example.net", "ann@example.org")
    ]


def test_a_skipped_subscriber_line_makes_the_send_exit_1_after_sending_the_rest(
    tmp_path, smtp, week_files
):
    text = "email,name\nann@example.org,Ann\nnot-an-address,X\ncarol@example.org,Carol\n"
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    result = _cli(email_args(cfg, _week_on_disk(cfg, week_files, text)))
    assert smtp.inbox.rcpts == ["ann@example.org", "carol@example.org"]
    assert result.exit_code == 1
    assert "skipped line 3: 'not-an-address' is not an email address" in result.output
    assert "1 subscriber line(s) skipped (line 3)" in result.output.splitlines()[-1]


def test_a_name_over_100_characters_is_left_out_but_its_reader_is_sent_to(
    tmp_path, smtp, week_files
):
    long_name = "Dr. " + "Anne-Marie " * 12
    text = f"email,name\nann@example.org,{long_name}\n"
    parsed = parse_subscribers(text)
    assert [(s.email, s.name) for s in parsed.subscribers] == [("ann@example.org", "")]
    (note,) = parsed.notes
    assert note.line == 2 and "sent without it" in note.reason
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    result = _cli(email_args(cfg, _week_on_disk(cfg, week_files, text)))
    assert result.exit_code == 0, result.output
    assert "note: line 2: the name is 135 characters (over 100); sent without it" in result.output
    assert smtp.inbox.rcpts == ["ann@example.org"]


# -- Medium and Low: holdings files that cannot be whole ---------------------------------


def _holdings_rows(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(head lines through the column header, equity and other rows, the footer) of a real file."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Ticker,"))
    body = lines[at + 1 :]
    end = next((i for i, line in enumerate(body) if not line.strip()), len(body))
    return lines[: at + 1], body[:end], body[end:]


def _folder_with(tmp_path: Path, market_dir: Path, name: str, text: str) -> Path:
    import shutil

    folder = tmp_path / "holdings"
    folder.mkdir(parents=True)
    shutil.copy(market_dir / "holdings" / "IWM-2025-11-05.csv", folder)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_holdings_file_cut_in_half_is_refused(tmp_path, market_dir):
    from recap.errors import DataError
    from recap.sources.holdings import read_holdings_folder

    head, rows, footer = _holdings_rows(market_dir / "holdings" / "IWM-2026-01-21.csv")
    whole = _folder_with(
        tmp_path / "a", market_dir, "IWM-2026-01-21.csv", "\n".join(head + rows + footer) + "\n"
    )
    assert [f.positions for f in read_holdings_folder(whole, "IWM")] == [1962, 1952]
    # Cut where a copy or a download stops: half the rows, no footer.
    cut = "\n".join(head + rows[: len(rows) // 2])
    folder = _folder_with(tmp_path / "b", market_dir, "IWM-2026-01-21.csv", cut)
    with pytest.raises(DataError, match=r"IWM-2026-01-21\.csv: the weights add up to \d"):
        read_holdings_folder(folder, "IWM")


def test_a_holdings_file_with_far_fewer_positions_than_the_last_is_refused(tmp_path, market_dir):
    from recap.errors import DataError
    from recap.sources.holdings import read_holdings_folder

    head, rows, footer = _holdings_rows(market_dir / "holdings" / "IWM-2026-01-21.csv")
    import csv

    header = head[-1].split(",")
    weight = header.index("Weight (%)")
    parsed = list(csv.reader(rows))
    kept = parsed[: len(parsed) * 3 // 4]
    gone = sum(float(r[weight].replace(",", "")) for r in parsed[len(kept) :])
    # What is gone reappears as cash: the weights still add up, the positions do not.
    cash = list(kept[0])
    cash[0], cash[header.index("Asset Class")] = "USD", "Cash"
    cash[weight] = f"{gone:.2f}"
    out = io_text(head, kept + [cash], footer)
    folder = _folder_with(tmp_path, market_dir, "IWM-2026-01-21.csv", out)
    with pytest.raises(DataError, match=r"positions, where IWM-2025-11-05\.csv .* had 1962"):
        read_holdings_folder(folder, "IWM")


def io_text(head: list[str], rows: list[list[str]], footer: list[str]) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return "\n".join(head) + "\n" + buf.getvalue() + "\n".join(footer) + "\n"


@pytest.mark.parametrize(
    "row, message",
    [
        ("B,Beta,Energy,Equity,-2.0", r"line 6: weight -2\.0 is negative"),
        ("A,Alpha,Energy,Equity,48.0", r"line 6: repeats line 5 exactly"),
    ],
)
def test_a_negative_or_repeated_holdings_row_names_its_line(tmp_path, row, message):
    from recap.errors import DataError
    from recap.sources.holdings import read_holdings

    path = tmp_path / "IWM.csv"
    path.write_text(
        'Fund\nFund Holdings as of,"Nov 05, 2025"\n\n'
        "Ticker,Name,Sector,Asset Class,Weight (%)\n"
        "A,Alpha,Energy,Equity,48.0\n"
        f"{row}\n"
        "C,Gamma,Energy,Equity,52.0\n"
    )
    with pytest.raises(DataError, match=r"IWM\.csv, " + message):
        read_holdings(path)


# -- Medium: two publishes into one site -------------------------------------------------


def _tiny_week_files(end, headline: str) -> dict[str, bytes]:
    import datetime as dt
    import json

    from tests._delivery import tiny_week

    files = tiny_week()
    facts = json.loads(files["recap.json"])
    facts["week"].update(start=(end - dt.timedelta(days=4)).isoformat(), end=end.isoformat())
    facts["data"]["last_bar"] = end.isoformat()
    facts["headline"] = headline
    files["recap.json"] = json.dumps(facts).encode()
    return files


def test_two_publishes_into_one_site_with_different_stores_never_drop_a_week(tmp_path):
    import datetime as dt
    import os
    import select
    import signal
    import subprocess
    import sys
    import time

    import feedparser

    from recap import output

    site = tmp_path / "site"
    site.mkdir()
    weeks = {dt.date(2026, 1, 9): "Stocks Slip", dt.date(2026, 1, 16): "Small Caps Lead"}
    outs = {}
    for i, (end, headline) in enumerate(weeks.items()):
        outs[end] = tmp_path / f"run{i}"
        output.write_week(outs[end] / "out", end, _tiny_week_files(end, headline))

    def args(end):
        run = outs[end]
        return ["publish", "--week", str(end), "--site", str(site), "--out", str(run / "out")] + [
            "--store",
            str(run / "store.sqlite"),
            "--state",
            str(run / "state.sqlite"),
        ]

    first, second = weeks
    env = {**os.environ, "RECAP_TEST_PAUSE_AT": "publish-staged"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recap", *args(first)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready = select.select([proc.stderr], [], [], 1.0)[0]
            if ready and proc.stderr.readline().strip() == "paused at publish-staged":
                break
        else:
            pytest.fail("the first publish never reached its pause")
        # The first run has read the archive and staged its index; the second is refused.
        refused = _cli(args(second))
        assert refused.exit_code == 1
        assert f"another recap run is publishing into {site}" in refused.output
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    # Run again, it completes the stopped publish and adds its own week: both are listed.
    again = _cli(args(second))
    assert again.exit_code == 0, again.output
    archive = site / "static" / "archive"
    index = (archive / "index.html").read_text()
    feed = feedparser.parse((archive / "feed.xml").read_bytes())
    for end, headline in weeks.items():
        assert headline in index
        assert any(end.isoformat() in e.link for e in feed.entries)
    assert len(feed.entries) == 2


# -- Medium: a backfill worker killed mid-week --------------------------------------------


def _backfill(cfg, market_dir):
    return _cli(
        ["backfill", "--from", "2026-01-05", "--to", "2026-01-30", "--format", "json"]
        + ["--no-progress", "--data-dir", str(market_dir), "--out", str(cfg.out_dir)]
        + ["--store", str(cfg.store_path)]
    )


@pytest.mark.parametrize("every_time", [False, True])
def test_a_killed_backfill_worker_costs_at_most_its_own_week(
    tmp_path, market_dir, monkeypatch, every_time
):
    import datetime as dt
    import os
    import signal

    from recap import pipeline

    real = pipeline.compute_recap
    marker = tmp_path / "killed-once"

    def killed_on_the_16th(market, week, config, now):
        if week.end == dt.date(2026, 1, 16) and (every_time or not marker.exists()):
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or kill -9 does
        return real(market, week, config, now)

    # Workers are forked, so they inherit the patched function.
    monkeypatch.setattr(pipeline, "compute_recap", killed_on_the_16th)
    cfg = config(tmp_path, market_dir)
    result = _backfill(cfg, market_dir)
    built = sorted(p.name for p in cfg.out_dir.iterdir())
    assert marker.exists(), "a worker was killed"
    if every_time:
        assert result.exit_code == 1
        assert "failed: week ending 2026-01-16: its worker process died each time" in (
            result.output
        )
        assert "built 3 of 4 weeks" in result.output
        assert built == ["2026-01-09", "2026-01-23", "2026-01-30"]
    else:
        assert result.exit_code == 0, result.output
        assert "built 4 of 4 weeks" in result.output
        assert built == ["2026-01-09", "2026-01-16", "2026-01-23", "2026-01-30"]


# -- Low: a full disk mid-send -------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 4 MB tmpfs: a real file system that fills up (needs root; skipped otherwise)."""
    import os
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


class _FillingInbox(Inbox):
    """Takes every message; on DATA for ``fill_at``, fills the disk the send log is on."""

    def __init__(self, disk: Path, fill_at: str) -> None:
        super().__init__()
        self.disk, self.fill_at = disk, fill_at

    async def handle_DATA(self, server, session, envelope):
        if self.fill_at in envelope.rcpt_tos:
            with (self.disk / "filler").open("wb") as fh:
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass  # full
        return await super().handle_DATA(server, session, envelope)


def test_a_full_disk_after_a_250_lists_that_recipient_as_delivered(tmp_path, tiny_disk, week_files):
    inbox = _FillingInbox(tiny_disk, "reader1@example.org")
    server = Server(inbox, free_port())
    server.start()
    try:
        cfg = config(tmp_path, toml=smtp_toml(server.port))
        subs = _week_on_disk(cfg, week_files, subscribers(4))
        state = ["--state", str(tiny_disk / "state.sqlite")]
        result = _cli(email_args(cfg, subs, *state))
        assert inbox.rcpts[:2] == ["reader0@example.org", "reader1@example.org"]
        assert result.exit_code == 1
        assert "delivered, not recorded: reader1@example.org got the week" in result.output
        last = result.output.strip().splitlines()[-1]
        assert "2 not tried (reader2@example.org, reader3@example.org)" in last
        assert "reader1" not in last
        # Space again: the re-run sends to the two not tried, never again to reader1.
        (tiny_disk / "filler").unlink()
        again = _cli(email_args(cfg, subs, *state))
        assert inbox.rcpts.count("reader1@example.org") == 1
        assert sorted(inbox.rcpts[2:]) == ["reader2@example.org", "reader3@example.org"]
        assert "outcome unknown: reader1@example.org" in again.output
    finally:
        server.stop()


# -- Low: one-line errors instead of tracebacks --------------------------------------------


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[email]\ntimeout_seconds = inf\n", "key 'email.timeout_seconds' must be a number <="),
        ("[email]\nbackoff_seconds = 1e308\n", "key 'email.backoff_seconds' must be a number <="),
        ("[yahoo]\ntimeout_seconds = inf\n", "key 'yahoo.timeout_seconds' must be a number <="),
        ("[email]\nbackoff_seconds = nan\n", "key 'email.backoff_seconds' must be a number"),
        ("a = " + "[" * 500 + "]" * 500 + "\n", "nests arrays or tables too deeply"),
    ],
)
def test_a_config_that_would_crash_later_is_refused_in_one_line(tmp_path, toml, message):
    path = tmp_path / "recap.toml"
    path.write_text(toml)
    result = _cli(["build", "--week", WEEK, "--config", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert message in line


@pytest.mark.parametrize("command", ["build", "email", "publish"])
def test_a_week_far_in_the_future_is_one_line(tmp_path, command):
    extra = {"build": [], "email": ["--to", "x.csv"], "publish": ["--site", str(tmp_path)]}
    result = _cli([command, "--week", "9999-12-31", *extra[command]])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "--week 9999-12-31 is out of range" in line


def test_weekly_with_the_mail_server_down_does_not_say_it_emailed(
    tmp_path, market_dir, week_files, reference_recap, monkeypatch
):
    from recap import pipeline
    from recap.pipeline import BuiltWeek

    # The build is the real reference week (built once per test process), handed in.
    monkeypatch.setattr(
        pipeline, "build_week", lambda *a, **k: BuiltWeek(reference_recap, week_files)
    )
    site = tmp_path / "site"
    site.mkdir()
    cfg = config(tmp_path, market_dir, toml=smtp_toml(free_port(), retries=0))
    subs = tmp_path / "subs.csv"
    subs.write_text(subscribers(2))
    result = _cli(
        ["weekly", "--to", str(subs), "--site", str(site), "--data-dir", str(market_dir)]
        + ["--config", str(cfg.sources[-1]), "--out", str(cfg.out_dir)]
        + ["--store", str(cfg.store_path)]
    )
    assert result.exit_code == 1
    assert "emailed" not in result.output.split("done:")[1].splitlines()[0]
    assert "done: built, published; email: not everyone got it" in result.output
    assert "2 not tried (reader0@example.org, reader1@example.org)" in result.output


# -- Low: recap snapshot -------------------------------------------------------------------


def _snapshot(out: Path, market_dir: Path, since: str, until: str):
    return _cli(
        ["snapshot", "--out", str(out), "--data-dir", str(market_dir)]
        + ["--since", since, "--until", until]
    )


def test_snapshot_since_after_until_is_refused_and_writes_nothing(tmp_path, market_dir):
    out = tmp_path / "snap"
    result = _snapshot(out, market_dir, "2026-01-16", "2026-01-02")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "--since 2026-01-16 is after --until 2026-01-02" in line
    assert not out.exists()


def test_snapshot_into_a_non_empty_folder_suggests_nothing_that_does_not_exist(
    tmp_path, market_dir
):
    out = tmp_path / "snap"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = _snapshot(out, market_dir, "2026-01-12", "2026-01-16")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "is not empty; write the snapshot into a new or empty folder" in line
    # Every option the message names exists.
    options = set(re.findall(r"--[a-z-]+", _cli(["snapshot", "--help"]).output))
    assert set(re.findall(r"--[a-z-]+", line)) <= options
    assert "pass overwrite" not in line
    assert (out / "keep.txt").read_text() == "x"


# -- Low: price files edited in place, and one far too large -------------------------------


def test_a_price_file_edited_to_the_same_size_with_its_time_restored_is_read_again(
    tmp_path, market_dir, monkeypatch
):
    import os
    import shutil

    from recap.sources import snapshot
    from recap.sources.snapshot import SnapshotSource

    monkeypatch.setattr(snapshot, "_CACHES", {})
    prices = tmp_path / "snap" / "prices"
    prices.mkdir(parents=True)
    for ticker in ("BE", "IWM"):
        shutil.copy2(market_dir / "prices" / f"{ticker}.csv", prices)
    cache = tmp_path / "cache"
    start, end = REFERENCE_WEEK.replace(day=2), REFERENCE_WEEK
    first = SnapshotSource(tmp_path / "snap", cache_dir=cache)
    assert first.fetch_closes(("BE", "IWM"), start, end).loc["2026-01-16", "BE"] == 149.5
    path = prices / "BE.csv"
    before = path.stat()
    text = path.read_text()
    assert "2026-01-16,,,,149.5,," in text
    path.write_text(text.replace("2026-01-16,,,,149.5,,", "2026-01-16,,,,194.5,,"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the time stamp restored
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    snapshot._CACHES.clear()  # a new process
    again = SnapshotSource(tmp_path / "snap", cache_dir=cache)
    assert again.fetch_closes(("BE", "IWM"), start, end).loc["2026-01-16", "BE"] == 194.5
    assert again._closes.parsed == 1, "only the edited file"


def test_a_200_mb_price_file_is_refused_by_its_size_before_it_is_read(tmp_path, market_dir):
    import shutil
    import tracemalloc

    prices = tmp_path / "snap" / "prices"
    prices.mkdir(parents=True)
    shutil.copy2(market_dir / "prices" / "BE.csv", prices)
    huge = prices / "IWM.csv"
    with huge.open("wb") as fh:  # a real 200 MB file (sparse: the disk is not filled)
        fh.write(b"Date,Open,High,Low,Close,Adj Close,Volume\n")
        fh.truncate(200 * 2**20)
    tracemalloc.start()
    try:
        result = _cli(
            ["build", "--week", WEEK, "--data-dir", str(tmp_path / "snap")]
            + ["--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite")]
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert f"{huge}: 200 MB, too large for a price file" in line
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB taken to refuse it"


# -- Low: a hand-written page at one of recap's paths ---------------------------------------


@pytest.mark.parametrize(
    "rel, text",
    [
        ("static/archive/index.html", "<html><body>My own archive page</body></html>"),
        ("static/archive/feed.xml", '<?xml version="1.0"?><feed>my feed</feed>'),
        ("content/posts/2026-01-16-weekly-recap.md", "---\ntitle: My notes\n---\nMine.\n"),
        ("static/archive/2026-01-16/notes.html", "<p>mine</p>"),
        ("static/recap/2026-01-16/index.html", "<p>mine</p>"),
    ],
)
def test_a_hand_written_page_at_recaps_paths_is_never_overwritten(tmp_path, rel, text):
    from recap import output

    site = tmp_path / "site"
    page = site / rel
    page.parent.mkdir(parents=True)
    page.write_text(text)
    out = tmp_path / "out"
    output.write_week(out, REFERENCE_WEEK, _tiny_week_files(REFERENCE_WEEK, "Small Caps Lead"))
    args = ["publish", "--week", WEEK, "--site", str(site), "--out", str(out)]
    result = _cli([*args, "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert f"{site / rel.split('/2026-01-16/')[0]}" in line and "recap did not write it" in line
    assert page.read_text() == text
    assert not (site / "static/archive/2026-01-16/recap.json").exists()
    # Moved away, the publish goes through; publishing again replaces recap's own files.
    page.unlink()
    assert _cli([*args, "--store", str(tmp_path / "s.sqlite")]).exit_code == 0
    again = _cli([*args, "--store", str(tmp_path / "s.sqlite")])
    assert again.exit_code == 0, again.output


# -- Low: RFC 6531 addresses (non-ASCII letters before the @) -------------------------------


def test_a_non_ascii_address_is_sent_with_smtputf8(tmp_path, week_files):
    text = 'email,name\njörg@example.org,"Müller, Jörg"\n用户@example.com,\nann@example.org,Ann\n'
    parsed = parse_subscribers(text)
    assert parsed.problems == ()
    assert [s.email for s in parsed.subscribers] == [
        "jörg@example.org",
        "用户@example.com",
        "ann@example.org",
    ]
    server = Server(Inbox(), free_port(), enable_SMTPUTF8=True)
    server.start()
    try:
        cfg = config(tmp_path, toml=smtp_toml(server.port))
        result = _cli(email_args(cfg, _week_on_disk(cfg, week_files, text)))
        assert result.exit_code == 0, result.output
        inbox = server.inbox
        assert inbox.rcpts == ["jörg@example.org", "用户@example.com", "ann@example.org"]
        raw = next(r for rcpts, r in inbox._received if "jörg@example.org" in rcpts)
        head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8")
        assert '\r\nTo: "Müller, Jörg" <jörg@example.org>\r\n' in head
        assert statuses(cfg.state_path)["jörg@example.org"] == "sent"
    finally:
        server.stop()


def test_a_non_ascii_address_is_refused_for_the_week_by_a_server_without_smtputf8(
    tmp_path, week_files
):
    text = "email,name\njörg@example.org,Jörg\nann@example.org,Ann\n"
    smtp = Server(Inbox(), free_port(), enable_SMTPUTF8=False)
    smtp.start()
    try:
        cfg = config(tmp_path, toml=smtp_toml(smtp.port))
        result = _cli(email_args(cfg, _week_on_disk(cfg, week_files, text)))
    finally:
        smtp.stop()
    assert smtp.inbox.rcpts == ["ann@example.org"]
    assert result.exit_code == 1
    assert "does not offer SMTPUTF8, which jörg@example.org needs" in result.output
    assert "bounced" not in result.output  # the server's lack, not the mailbox's
    with DeliveryLog(cfg.state_path) as log:
        assert log.suppressions() == {}
