"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1), from a real built week."""

from __future__ import annotations

import base64
import email
import os
import re
import shutil
import subprocess
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from recap.cli import cli
from recap.delivery.edition import load_edition
from recap.delivery.email import EmailSettings, content_ids, external_urls, prepare, send_batch
from recap.delivery.log import DeliveryLog
from recap.delivery.subscribers import parse_subscribers
from recap.errors import DeliveryError
from tests._delivery import (
    NOW,
    REFERENCE_WEEK,
    Inbox,
    Server,
    built_files,
    config,
    free_port,
    smtp_toml,
    subscribers,
    tiny_week,
)


@pytest.fixture
def smtp():
    server = Server(Inbox(), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def week_files(market_dir):
    return built_files(market_dir)


def newsletter(cfg, files):
    settings = EmailSettings.from_config(cfg)
    return prepare(load_edition(files), settings), settings


def no_sleep(seconds: float) -> None:
    pass


# -- the subscribers file ----------------------------------------------------------------


@pytest.mark.parametrize(
    "line, reason",
    [
        ("not-an-address,X", "not an email address"),
        ("a@@example.org,X", "exactly one @"),
        ("a b@example.org,X", "spaces"),
        ("a@example,X", "not a valid email address"),
        (",Nobody", "no email address"),
        ("ok@example.org,X,extra,fields", "fields for a header"),
        ("READER@Example.org,Dup", "duplicate of line 2"),
    ],
)
def test_bad_subscriber_lines_are_reported_and_skipped(line, reason):
    text = f"email,name\nreader@example.org,Reader\n{line}\nlast@example.org,\n"
    result = parse_subscribers(text)
    assert [s.email for s in result.subscribers] == ["reader@example.org", "last@example.org"]
    assert len(result.problems) == 1
    assert result.problems[0].line == 3
    assert reason in result.problems[0].reason


def test_subscribers_file_needs_an_email_column():
    with pytest.raises(DeliveryError, match="'email' column"):
        parse_subscribers("address,name\na@example.org,A\n")


def test_subscribers_comments_blank_lines_and_column_order():
    result = parse_subscribers("# exported list\n\nname,email\nAnn,ann@example.org\n\n,b@x.io\n")
    assert [(s.email, s.name, s.line) for s in result.subscribers] == [
        ("ann@example.org", "Ann", 4),
        ("b@x.io", "", 6),
    ]


# -- composition ---------------------------------------------------------------------------


def test_message_structure_from_a_real_week(tmp_path, week_files):
    cfg = config(tmp_path, toml=smtp_toml(2525))
    news, settings = newsletter(cfg, week_files)
    from recap.delivery.email import compose
    from recap.delivery.subscribers import Subscriber

    msg = compose(news, Subscriber("ann@example.org", "Ann"), settings, NOW)
    msg = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    headline = load_edition(week_files).headline
    assert headline in msg["Subject"] and "Jan 12-16, 2026" in msg["Subject"]
    assert msg["From"] == "Weekly Market Recap <recap@news.example.com>"
    assert msg["Reply-To"] == "editor@news.example.com"
    assert msg["To"] == "Ann <ann@example.org>"
    assert (
        "<https://news.example.com/unsubscribe?email=ann%40example.org>"
        in (msg["List-Unsubscribe"])
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    kinds = [p.get_content_type() for p in msg.walk()]
    assert kinds[:5] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
    ]
    assert kinds.count("application/pdf") == 1
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert text.startswith("Hi Ann,")
    assert not re.search(r"<(p|td|div|table|span)\b", text), "plain text is not stripped HTML"
    assert "Hi Ann," in html
    assert not re.search(r"<script|<svg", html, re.IGNORECASE)
    assert [u for u in external_urls(html) if not u.startswith("https://news.example.com/")] == []
    images = {
        p["Content-ID"].strip("<>"): p for p in msg.walk() if p.get_content_type() == "image/png"
    }
    cids = content_ids(html)
    assert cids, "the email shows at least one chart"
    for cid in cids:
        assert cid in images
        assert images[cid].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = next(p for p in msg.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_filename() == "recap-2026-01-16.pdf"
    assert pdf.get_content()[:4] == b"%PDF"
    # The CSS is inlined: no <style> rules left that a mail client would drop.
    assert 'style="' in html


def test_no_greeting_without_a_name_and_no_pdf_when_not_asked(tmp_path, week_files):
    cfg = config(tmp_path, toml=smtp_toml(2525, attach_pdf="false"))
    news, settings = newsletter(cfg, week_files)
    from recap.delivery.email import compose
    from recap.delivery.subscribers import Subscriber

    msg = compose(news, Subscriber("b@example.org"), settings, NOW)
    assert "Hi " not in msg.get_body(("plain",)).get_content()[:10]
    assert all(p.get_content_type() != "application/pdf" for p in msg.walk())


@pytest.mark.parametrize(
    "data, message",
    [
        ({"source": "sample", "is_sample": True}, "SAMPLE data"),
        ({"last_bar": "2026-01-15"}, "before the week's last session"),
    ],
)
def test_refuses_sample_and_stale_data(tmp_path, data, message):
    cfg = config(tmp_path, toml=smtp_toml(2525))
    with pytest.raises(DeliveryError, match=message):
        newsletter(cfg, tiny_week(**data))


def test_refuses_html_with_remote_images_or_scripts(tmp_path):
    cfg = config(tmp_path, toml=smtp_toml(2525))
    files = tiny_week()
    files["email.html"] = (
        b'<html><body><img src="https://tracker.example.net/p.gif">'
        b'<img src="cid:missing"><script>x()</script></body></html>'
    )
    with pytest.raises(DeliveryError) as err:
        newsletter(cfg, files)
    assert "external URLs" in str(err.value)
    assert "a script" in str(err.value)
    assert "missing" in str(err.value)


# -- sending to a real SMTP server -------------------------------------------------------


def _send(cfg, files, text, **kwargs):
    news, settings = newsletter(cfg, files)
    subs = parse_subscribers(text).subscribers
    with DeliveryLog(cfg.store_path) as log:
        return send_batch(news, subs, settings, log, now=NOW, sleep=no_sleep, **kwargs)


def test_batch_delivers_one_parsable_message_each(tmp_path, smtp, week_files):
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    report = _send(cfg, week_files, subscribers(3))
    assert report.sent == [f"reader{i}@example.org" for i in range(3)]
    headline = load_edition(week_files).headline
    for i in range(3):
        (msg,) = smtp.inbox.to(f"reader{i}@example.org")
        assert headline in msg["Subject"]
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
        html = msg.get_body(("html",)).get_content()
        cids = {p["Content-ID"].strip("<>") for p in msg.walk() if p["Content-ID"]}
        assert set(content_ids(html)) <= cids
        assert [u for u in external_urls(html) if "news.example.com/unsubscribe" not in u] == []
        assert f"Hi Reader {i}," in html
    # A second run sends nothing: everybody already has the week.
    again = _send(cfg, week_files, subscribers(3))
    assert again.sent == [] and len(again.already_sent) == 3
    assert len(smtp.inbox.messages) == 3
    # --resend is the explicit override.
    forced = _send(cfg, week_files, subscribers(1), resend=True)
    assert forced.sent == ["reader0@example.org"]


def test_permanent_refusal_is_logged_and_the_batch_goes_on(tmp_path, smtp, week_files):
    smtp.inbox.refuse = {"reader1@example.org"}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    report = _send(cfg, week_files, subscribers(3))
    assert report.sent == ["reader0@example.org", "reader2@example.org"]
    assert [a for a, _ in report.rejected] == ["reader1@example.org"]
    assert "550" in report.rejected[0][1]
    with DeliveryLog(cfg.store_path) as log:
        status = {r.recipient: r.status for r in log.records("2026-01-16")}
    assert status == {
        "reader0@example.org": "sent",
        "reader1@example.org": "rejected",
        "reader2@example.org": "sent",
    }


def test_transient_errors_are_retried_with_backoff(tmp_path, smtp, week_files):
    smtp.inbox.defer = {"reader0@example.org": 2}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, backoff_seconds=0.5, retries=3))
    waits: list[float] = []
    news, settings = newsletter(cfg, week_files)
    with DeliveryLog(cfg.store_path) as log:
        report = send_batch(
            news,
            parse_subscribers(subscribers(2)).subscribers,
            settings,
            log,
            now=NOW,
            sleep=waits.append,
        )
    assert report.sent == ["reader0@example.org", "reader1@example.org"]
    assert waits == [0.5, 1.0]
    assert len(smtp.inbox.to("reader0@example.org")) == 1


def test_rate_limit_spaces_messages(tmp_path, smtp, week_files):
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, max_per_minute=120))
    waits: list[float] = []
    news, settings = newsletter(cfg, week_files)
    ticks = iter(range(100))
    with DeliveryLog(cfg.store_path) as log:
        send_batch(
            news,
            parse_subscribers(subscribers(3)).subscribers,
            settings,
            log,
            now=NOW,
            sleep=waits.append,
            clock=lambda: float(next(ticks)) * 0.1,
        )
    assert len(waits) == 2 and all(0.3 < w <= 0.5 for w in waits)


def test_server_going_away_mid_batch_then_rerun_delivers_the_rest(tmp_path, smtp, week_files):
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    text = subscribers(5)
    news, settings = newsletter(cfg, week_files)
    subs = parse_subscribers(text).subscribers

    def crash_after_two(address: str) -> None:
        if len(smtp.inbox.messages) == 2:
            smtp.stop()

    with DeliveryLog(cfg.store_path) as log, pytest.raises(DeliveryError) as err:
        send_batch(news, subs, settings, log, now=NOW, sleep=no_sleep, on_sent=crash_after_two)
    assert "running the same command again sends only to the rest" in str(err.value)
    assert "2 sent in this run" in str(err.value)
    with DeliveryLog(cfg.store_path) as log:
        assert log.sent_to("2026-01-16") == {"reader0@example.org", "reader1@example.org"}

    smtp.start()  # the server is back, same port
    report = _send(cfg, week_files, text)
    assert report.sent == [f"reader{i}@example.org" for i in range(2, 5)]
    assert len(report.already_sent) == 2
    for i in range(5):
        assert len(smtp.inbox.to(f"reader{i}@example.org")) == 1


def test_login_uses_the_password_from_the_environment_only(tmp_path, week_files, monkeypatch):
    from aiosmtpd.smtp import AuthResult

    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        inbox.auth.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-pw", handled=False)

    server = Server(inbox, free_port(), authenticator=authenticator, auth_require_tls=False)
    server.start()
    try:
        toml = smtp_toml(server.port, user='"newsletter"')
        cfg = config(tmp_path, toml=toml)
        monkeypatch.delenv("RECAP_SMTP_PASSWORD", raising=False)
        folder = tmp_path / "out"
        from recap import output

        output.write_week(folder, REFERENCE_WEEK, week_files)
        (tmp_path / "subs.csv").write_text(subscribers(2))
        args = [
            "email",
            "--week",
            "2026-01-16",
            "--to",
            str(tmp_path / "subs.csv"),
            "--config",
            str(tmp_path / "recap.toml"),
            "--out",
            str(folder),
            "--store",
            str(cfg.store_path),
        ]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 1 and "RECAP_SMTP_PASSWORD" in result.output
        monkeypatch.setenv("RECAP_SMTP_PASSWORD", "wrong-pw")
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 1 and "refused the login" in result.output
        assert "wrong-pw" not in result.output
        monkeypatch.setenv("RECAP_SMTP_PASSWORD", "s3cret-pw")
        result = CliRunner().invoke(cli, ["-v", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "sent the week ending 2026-01-16 to 2 recipients" in result.output
        assert "s3cret-pw" not in result.output
        assert inbox.auth[-1] == (b"newsletter", b"s3cret-pw")
        assert len(inbox.messages) == 2
    finally:
        server.stop()


def test_password_is_never_sent_in_clear_to_a_remote_host(tmp_path):
    from recap.delivery.email import smtp_password

    cfg = config(tmp_path, toml=smtp_toml(25, user='"u"').replace("127.0.0.1", "mail.example.com"))
    settings = EmailSettings.from_config(cfg)
    with pytest.raises(DeliveryError, match="without TLS"):
        smtp_password(settings, {"RECAP_SMTP_PASSWORD": "pw"})


# -- the CLI -------------------------------------------------------------------------------


def test_cli_dry_run_reuses_the_built_week_and_sends_nothing(tmp_path, week_files, monkeypatch):
    from recap import output, pipeline

    cfg = config(tmp_path, toml=smtp_toml(free_port()))
    output.write_week(cfg.out_dir, REFERENCE_WEEK, week_files)

    def no_build(*args, **kwargs):
        raise AssertionError("the built week should have been reused")

    monkeypatch.setattr(pipeline, "build_with_fallback", no_build)
    subs = tmp_path / "subs.csv"
    subs.write_text(subscribers(2) + "broken-line\nreader0@example.org,again\n")
    result = CliRunner().invoke(
        cli,
        [
            "email",
            "--week",
            "2026-01-14",
            "--to",
            str(subs),
            "--dry-run",
            str(tmp_path / "outbox"),
            "--config",
            str(tmp_path / "recap.toml"),
            "--out",
            str(cfg.out_dir),
            "--store",
            str(cfg.store_path),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "dry run: wrote 2 messages" in result.output
    assert "line 4: 'broken-line' is not an email address" in result.output
    assert "line 5: reader0@example.org is a duplicate of line 2" in result.output
    emls = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [p.name for p in emls] == [
        "0001-reader0@example.org.eml",
        "0002-reader1@example.org.eml",
    ]
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "Reader 0 <reader0@example.org>"
    with DeliveryLog(cfg.store_path) as log:
        assert log.records("2026-01-16") == ()


def test_cli_refuses_a_sample_week(tmp_path):
    from recap import output

    cfg = config(tmp_path, toml=smtp_toml(free_port()))
    output.write_week(cfg.out_dir, REFERENCE_WEEK, tiny_week(source="sample", is_sample=True))
    (tmp_path / "subs.csv").write_text(subscribers(1))
    result = CliRunner().invoke(
        cli,
        [
            "email",
            "--week",
            "2026-01-16",
            "--to",
            str(tmp_path / "subs.csv"),
            "--config",
            str(tmp_path / "recap.toml"),
            "--out",
            str(cfg.out_dir),
            "--store",
            str(cfg.store_path),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "refusing to email the week ending 2026-01-16" in result.output
    assert "SAMPLE data" in result.output


# -- what a reader sees ----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_received_html_renders_at_600px_in_chromium(tmp_path, smtp, week_files):
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    _send(cfg, week_files, subscribers(1))
    ((_, msg),) = smtp.inbox.messages
    html = msg.get_body(("html",)).get_content()
    for part in msg.walk():
        if part["Content-ID"]:
            data = base64.b64encode(part.get_content()).decode()
            cid = part["Content-ID"].strip("<>")
            html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    assert "cid:" not in html
    page = tmp_path / "email.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "email-600.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=600,2400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width == 600
    keep = os.environ.get("RECAP_SCREENSHOT_DIR")
    if keep:  # for a human look at what a reader gets; the test does not depend on it
        shutil.copyfile(shot, Path(keep) / "email-600.png")
