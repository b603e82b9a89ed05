"""The weekly job: build, publish, email, in that order, under a lock; stop at a failure."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from recap.cli import cli
from recap.delivery.jobs import run_weekly
from recap.delivery.ledger import DeliveryLog, lock_path, run_lock
from recap.errors import DeliveryError, LockError, RenderError
from tests._delivery import (
    NOW,
    Inbox,
    Server,
    config,
    free_port,
    smtp_toml,
    subscribers,
    tiny_week,
)

LATEST = "2026-01-30"  # the snapshot's last complete week


@pytest.fixture
def smtp():
    server = Server(Inbox(), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def job(tmp_path, market_dir, smtp):
    """A config pointing at the snapshot and the test SMTP server, a site and a list."""
    site = tmp_path / "site"
    site.mkdir()
    subs = tmp_path / "subs.csv"
    subs.write_text(subscribers(3))
    cfg = config(tmp_path, market_dir, toml=smtp_toml(smtp.port))
    return cfg, site, subs


@pytest.fixture(scope="session")
def latest(market_dir):
    """The snapshot's latest week, built once per test process (tests/_reference.py):
    what run_weekly builds by default, but the PDF (test_cli_weekly_end_to_end builds
    it all for real, and mails the PDF)."""
    from recap.pipeline import BuiltWeek
    from tests._reference import real_week

    week = real_week(market_dir, dt.date.fromisoformat(LATEST))
    return BuiltWeek(week.recap, week.files(pdf=False))


def test_latest_week_is_the_snapshots_last(tmp_path, market_dir):
    from recap.sources.opening import open_source, resolve_week

    cfg = config(tmp_path, market_dir)
    assert resolve_week(open_source(cfg, NOW).source, cfg, None, NOW).end.isoformat() == LATEST


def test_weekly_builds_publishes_then_emails(job, smtp, latest):
    cfg, site, subs = job
    built = latest  # what run_weekly builds by default, handed in
    run = run_weekly(cfg, NOW, subscribers=subs, site=site, build=built)
    assert run.week == LATEST
    assert run.steps == ["built", "published", "emailed"]
    assert sorted(p.name for p in (cfg.out_dir / LATEST).iterdir()) == sorted(
        {name.split("/")[0] for name in built.files}
    )
    assert (site / f"content/posts/{LATEST}-weekly-recap.md").is_file()
    feed = feedparser.parse((site / "static/archive/feed.xml").read_bytes())
    assert [e.title for e in feed.entries] == [run.headline]
    assert len(smtp.inbox.messages) == 3
    assert all(run.headline in m["Subject"] for _, m in smtp.inbox.messages)
    # Run again (cron fired twice): the build and publish are replaced, nobody is re-mailed.
    again = run_weekly(cfg, NOW, subscribers=subs, site=site, build=built)
    assert again.emailed is not None and len(again.emailed.report.already_sent) == 3
    assert len(smtp.inbox.messages) == 3
    assert len(feedparser.parse((site / "static/archive/feed.xml").read_bytes()).entries) == 1


def test_a_failed_build_publishes_and_emails_nothing(job, smtp):
    cfg, site, subs = job

    def broken(config, now):
        raise RenderError("the prose contradicts the numbers: test")

    with pytest.raises(RenderError):
        run_weekly(cfg, NOW, subscribers=subs, site=site, build=broken)
    assert list(site.iterdir()) == []
    assert smtp.inbox.messages == []


def test_a_failed_publish_emails_nothing(job, smtp, latest):
    cfg, site, subs = job
    with pytest.raises(DeliveryError, match="does not exist"):
        run_weekly(cfg, NOW, subscribers=subs, site=site / "missing", build=latest)
    assert smtp.inbox.messages == []


def _built(files, sample=False):
    """A week already built (tiny_week's, ending 2026-01-16), as run_weekly can be handed."""
    from types import SimpleNamespace

    week = SimpleNamespace(end=dt.date(2026, 1, 16))
    recap = SimpleNamespace(week=week, data=SimpleNamespace(is_sample=sample))
    return SimpleNamespace(recap=recap, files=files)


def test_sample_data_is_built_but_never_delivered(job, smtp):
    cfg, site, subs = job
    files = tiny_week(source="sample", is_sample=True)
    with pytest.raises(DeliveryError, match="SAMPLE data"):
        run_weekly(cfg, NOW, subscribers=subs, site=site, build=_built(files, sample=True))
    assert list(site.iterdir()) == [] and smtp.inbox.messages == []
    # Written where sample data goes, never over a real week's folder.
    assert sorted(p.name for p in cfg.out_dir.iterdir()) == ["sample-2026-01-16"]


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"user": '"newsletter"'}, "RECAP_SMTP_PASSWORD is empty"),
        (
            {"unsubscribe_url": '"https://n.example/u?email={email}&token={token}"'},
            "RECAP_UNSUBSCRIBE_SECRET is empty",
        ),
        ({"host": '""'}, "[email] host is empty"),
        ({"from": '""'}, "[email] from is empty"),
        ({"unsubscribe_url": '""'}, "needs unsubscribe_url or unsubscribe_mailto"),
    ],
)
def test_email_settings_are_checked_before_anything_is_built_or_published(
    tmp_path, market_dir, smtp, monkeypatch, keys, message
):
    monkeypatch.delenv("RECAP_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("RECAP_UNSUBSCRIBE_SECRET", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    subs = tmp_path / "subs.csv"
    subs.write_text(subscribers(2))
    cfg = config(tmp_path, market_dir, toml=smtp_toml(smtp.port, **keys))
    with pytest.raises(DeliveryError) as err:
        run_weekly(cfg, NOW, subscribers=subs, site=site)
    assert message in str(err.value)
    assert list(site.iterdir()) == [] and not cfg.out_dir.exists()
    assert smtp.inbox.messages == []


def test_an_email_unfit_to_send_publishes_nothing(job, smtp):
    cfg, site, subs = job
    files = tiny_week()
    files["email.html"] = b'<html><body><img src="https://t.example/p.gif"></body></html>'
    with pytest.raises(DeliveryError, match="not fit to send"):
        run_weekly(cfg, NOW, subscribers=subs, site=site, build=_built(files))
    assert list(site.iterdir()) == [] and smtp.inbox.messages == []


# A second process that takes a run lock through recap's own code and holds it until its
# stdin closes (or it is killed).
HOLDER = """
import sys
from pathlib import Path
from recap.delivery.ledger import run_lock
with run_lock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def holder(store, name: str):
    """A real second process holding run lock ``name`` beside ``store``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store), name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def test_a_second_run_is_refused_while_the_first_holds_the_lock(job, smtp):
    cfg, site, subs = job
    with holder(cfg.state_path, "weekly") as first:
        result = CliRunner().invoke(
            cli,
            [
                "weekly",
                "--to",
                str(subs),
                "--site",
                str(site),
                "--data-dir",
                str(cfg.data_dir),
                "--config",
                str(cfg.sources[-1]),
                "--out",
                str(cfg.out_dir),
                "--store",
                str(cfg.store_path),
            ],
            catch_exceptions=False,
        )
        assert first.poll() is None, "the first run still holds it"
    assert result.exit_code == 1
    assert (
        f"Error: another recap run holds the 'weekly' lock (pid {first.pid} on "
        f"{socket.gethostname()}, since " in result.output
    )
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not cfg.out_dir.exists() and smtp.inbox.messages == []


def test_the_lock_frees_itself_when_its_holder_is_killed_with_kill_9(tmp_path):
    store = tmp_path / "store.sqlite"
    with holder(store, "weekly") as first:
        with pytest.raises(LockError, match=f"pid {first.pid} "), run_lock(store, "weekly"):
            pass
        with run_lock(store, "publish"):  # another name is another lock
            pass
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
        # No release ran in the killed process: the kernel dropped its lock.
        with run_lock(store, "weekly"):
            assert lock_path(store, "weekly").read_text().split()[0] == str(os.getpid())


def test_one_process_cannot_take_a_lock_twice_and_takes_it_again_once_released(tmp_path):
    path = tmp_path / "store.sqlite"
    with DeliveryLog(path) as log:
        with (
            log.lock("weekly"),
            pytest.raises(LockError, match=f"pid {os.getpid()} "),
            DeliveryLog(path) as other,
            other.lock("weekly"),
        ):
            pass
        with log.lock("weekly"):  # released on exit, so it can be taken again
            pass
    assert lock_path(path, "weekly").read_text() == "", "no holder left behind"
    assert lock_path(path, "email:2026-01-16").name == "store.sqlite.email-2026-01-16.lock"


def test_cli_weekly_end_to_end(job, smtp):
    cfg, site, subs = job
    Path(cfg.sources[-1]).write_text(smtp_toml(smtp.port, attach_pdf="true"))  # the PDF too
    result = CliRunner().invoke(
        cli,
        [
            "weekly",
            "--to",
            str(subs),
            "--site",
            str(site),
            "--data-dir",
            str(cfg.data_dir),
            "--config",
            str(cfg.sources[-1]),
            "--out",
            str(cfg.out_dir),
            "--store",
            str(cfg.store_path),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"week ending {LATEST}:" in result.output
    assert "done: built, published, emailed" in result.output
    post = site / f"content/posts/{LATEST}-weekly-recap.md"
    assert post.is_file() and f"  post: {post}\n" in result.output
    feed = feedparser.parse((site / "static/archive/feed.xml").read_bytes())
    (entry,) = feed.entries
    assert f"  feed entry: {entry.id} in {site / 'static/archive/feed.xml'}\n" in result.output
    assert entry.id.endswith(f"/{LATEST}/recap.html")
    assert (
        "sent the week ending 2026-01-30 to 3 recipients\n"
        + "".join(f"  reader{i}@example.org\n" for i in range(3))
    ) in result.output
    pdf = (cfg.out_dir / LATEST / "recap.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    for _, msg in smtp.inbox.messages:
        (attached,) = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
        assert attached.get_filename() == f"recap-{LATEST}.pdf"
        assert attached.get_content() == pdf
