"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1), from a real built week."""

from __future__ import annotations

import base64
import dataclasses
import email
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from email import policy
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from recap.cli import cli
from recap.delivery.batch import send_batch
from recap.delivery.edition import load_edition
from recap.delivery.email import EmailSettings, content_ids, external_urls, prepare
from recap.delivery.ledger import DeliveryLog
from recap.delivery.subscribers import parse_subscribers
from recap.errors import DeliveryError
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
    tiny_week,
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
    """The reference week's files but the PDF: the tests send without it (smtp_toml)."""
    return built_files(market_dir, pdf=False)


@pytest.fixture(scope="module")
def week_files_with_pdf(market_dir):
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


def test_message_structure_from_a_real_week(tmp_path, week_files_with_pdf):
    week_files = week_files_with_pdf
    cfg = config(tmp_path, toml=smtp_toml(2525, attach_pdf="true"))
    news, settings = newsletter(cfg, week_files)
    from recap.delivery.email import compose
    from recap.delivery.subscribers import Subscriber

    msg = compose(news, Subscriber("ann@example.org", "Ann"), settings, NOW)
    msg = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    headline = load_edition(week_files).headline
    assert msg["Subject"] == f"{headline} | Week of Jan 12\u201316, 2026"
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


def test_message_without_the_pdf_is_under_400_kb(tmp_path, week_files):
    """Six charts drawn for the phone as 8-bit PNGs (each colour exact, white pure white):
    the message is under 400 KB without the PDF (769 KB with full-colour page PNGs)."""
    from PIL import Image

    from recap.delivery.email import compose
    from recap.delivery.subscribers import Subscriber

    cfg = config(tmp_path, toml=smtp_toml(2525, attach_pdf="false"))
    news, settings = newsletter(cfg, week_files)
    raw = compose(news, Subscriber("ann@example.org", "Ann"), settings, NOW).as_bytes()
    assert len(raw) <= 400_000, len(raw)
    assert len(news.images) == 7  # the page's charts, Beyond Stocks' included
    for name, png in news.images.items():
        with Image.open(io.BytesIO(png)) as im:
            assert im.mode == "P", name
            colours = {c for _, c in im.convert("RGB").getcolors(256)}
            corner = im.convert("RGB").getpixel((0, 0))
        assert corner == (255, 255, 255), name  # the background stays pure white
        # The series colours survive exactly (a fitted palette once turned them brown).
        assert colours & {(0, 114, 178), (213, 94, 0)}, name


def test_saved_email_html_is_exactly_what_is_sent(tmp_path, week_files):
    from recap.delivery.email import compose, needs_inlining, personal_html
    from recap.delivery.subscribers import Subscriber

    cfg = config(tmp_path, toml=smtp_toml(2525))
    news, settings = newsletter(cfg, week_files)
    saved = week_files["email.html"].decode()
    assert not needs_inlining(saved), "the build saves the inlined HTML"
    assert news.html == saved
    msg = compose(news, Subscriber("ann@example.org", "Ann"), settings, NOW)
    sent = msg.get_body(("html",)).get_content()
    link = "https://news.example.com/unsubscribe?email=ann%40example.org"
    # Only the two marks differ: this reader's greeting and unsubscribe line.
    assert sent.rstrip("\n") == personal_html(settings, saved, "Ann", link)
    assert "<!-- greeting -->" in saved and "Hi Ann," in sent


def test_an_older_build_not_inlined_is_inlined_when_sent(tmp_path):
    cfg = config(tmp_path, toml=smtp_toml(2525))
    news, _ = newsletter(cfg, tiny_week())
    assert "<style>" not in news.html and 'style="color: #333' in news.html.replace(";", "")


def test_the_subject_reads_back_as_written_whatever_its_length(tmp_path):
    # The week label's en dash makes an encoded word; Python 3.11 folding a line before
    # one leaves a double space, so the Subject is kept on one line.
    from recap.delivery.email import compose
    from recap.delivery.subscribers import Subscriber

    cfg = config(tmp_path, toml=smtp_toml(2525))
    for n in range(30, 120, 3):
        headline = " ".join(["Stocks"] * (n // 7))
        files = tiny_week()
        facts = json.loads(files["recap.json"])
        facts["headline"] = headline
        files["recap.json"] = json.dumps(facts).encode()
        news, settings = newsletter(cfg, files)
        raw = compose(news, Subscriber("a@example.org"), settings, NOW).as_bytes()
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert msg["Subject"] == f"{headline} | Week of Jan 12\u201316, 2026", raw[:300]


def test_no_greeting_without_a_name_and_no_pdf_when_not_asked(tmp_path, week_files_with_pdf):
    cfg = config(tmp_path, toml=smtp_toml(2525, attach_pdf="false"))
    news, settings = newsletter(cfg, week_files_with_pdf)
    from recap.delivery.email import compose
    from recap.delivery.subscribers import Subscriber

    msg = compose(news, Subscriber("b@example.org"), settings, NOW)
    assert "Hi " not in msg.get_body(("plain",)).get_content()[:10]
    assert all(p.get_content_type() != "application/pdf" for p in msg.walk())


def _templates_copy(tmp_path, **changes: str) -> Path:
    """A copy of the shipped templates folder with some files rewritten."""
    from recap.config import DEFAULT_TEMPLATES_DIR

    folder = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, folder)
    for name, text in changes.items():
        (folder / name).write_text(text)
    return folder


def test_greeting_and_footer_come_from_the_templates_folder(tmp_path):
    from recap.delivery.email import compose
    from recap.delivery.subscribers import Subscriber

    folder = _templates_copy(
        tmp_path,
        **{
            "email/greeting.html.j2": "<p class=hello>Hello {{ name }}!</p>\n",
            "email/footer.html.j2": '<p class=bye><a href="{{ link }}">Leave</a></p>\n',
            "email/personal.txt.j2": "Hello {{ name }}!\n{{ text }}Leave: {{ link }}\n",
        },
    )
    toml = smtp_toml(2525, unsubscribe_url='"https://x.example/u?e={email}&s=1"')
    cfg = msgspec.structs.replace(config(tmp_path, toml=toml), templates_dir=folder)
    news, settings = newsletter(cfg, tiny_week())
    msg = compose(news, Subscriber("a@example.org", "Ann <b>&</b> Bob"), settings, NOW)
    html = msg.get_body(("html",)).get_content()
    # Autoescaped: the name and the link are text and an attribute value, never markup.
    assert "<p class=hello>Hello Ann &lt;b&gt;&amp;&lt;/b&gt; Bob!</p>" in html
    assert '<a href="https://x.example/u?e=a%40example.org&amp;s=1">Leave</a>' in html
    assert html.index("class=bye") < html.index("</body>")
    text = msg.get_body(("plain",)).get_content()
    assert text == (
        "Hello Ann <b>&</b> Bob!\nSMALL CAPS LEAD\n\nSmall caps rose.\n"
        "Leave: https://x.example/u?e=a%40example.org&s=1\n"
    )


def test_a_broken_email_template_stops_the_run_before_anything_is_sent(tmp_path):
    from recap.errors import RenderError

    folder = _templates_copy(tmp_path, **{"email/footer.html.j2": "{{ link.nope }}\n"})
    cfg = msgspec.structs.replace(config(tmp_path, toml=smtp_toml(2525)), templates_dir=folder)
    with pytest.raises(RenderError, match=r"email/footer\.html\.j2.*nope"):
        newsletter(cfg, tiny_week())


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
    with DeliveryLog(cfg.state_path) as log:
        return send_batch(news, subs, settings, log, now=NOW, sleep=no_sleep, **kwargs)


def test_batch_delivers_one_parsable_message_each(tmp_path, smtp, week_files):
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    report = _send(cfg, week_files, subscribers(3))
    assert report.sent == [f"reader{i}@example.org" for i in range(3)], report
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
    with DeliveryLog(cfg.state_path) as log:
        status = {r.recipient: r.status for r in log.records("2026-01-16")}
    assert status == {
        "reader0@example.org": "sent",
        "reader1@example.org": "rejected",
        "reader2@example.org": "sent",
    }
    # A 5xx is an answer, not a hiccup: asked once, never retried.
    assert smtp.inbox.rcpts.count("reader1@example.org") == 1


def test_a_connection_lost_before_data_is_retried_on_a_new_one(tmp_path, smtp, week_files):
    smtp.inbox.cut = {"reader1@example.org"}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, backoff_seconds=0.5, retries=3))
    waits: list[float] = []
    news, settings = newsletter(cfg, week_files)
    with DeliveryLog(cfg.state_path) as log:
        report = send_batch(
            news,
            parse_subscribers(subscribers(3)).subscribers,
            settings,
            log,
            now=NOW,
            sleep=waits.append,
        )
    assert report.sent == [f"reader{i}@example.org" for i in range(3)], report and report.ok
    assert waits == [0.5]
    assert smtp.inbox.rcpts.count("reader1@example.org") == 2
    assert all(len(smtp.inbox.to(f"reader{i}@example.org")) == 1 for i in range(3))


def test_transient_errors_are_retried_with_backoff(tmp_path, smtp, week_files):
    smtp.inbox.defer = {"reader0@example.org": 2}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, backoff_seconds=0.5, retries=3))
    waits: list[float] = []
    news, settings = newsletter(cfg, week_files)
    with DeliveryLog(cfg.state_path) as log:
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
    with DeliveryLog(cfg.state_path) as log:
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

    with DeliveryLog(cfg.state_path) as log:
        stopped = send_batch(
            news, subs, settings, log, now=NOW, sleep=no_sleep, on_sent=crash_after_two
        )
    assert stopped.sent == ["reader0@example.org", "reader1@example.org"]
    assert stopped.stopped.startswith("sending stopped at reader2@example.org: cannot connect")
    assert stopped.not_tried == [f"reader{i}@example.org" for i in range(2, 5)]
    assert not stopped.ok
    with DeliveryLog(cfg.state_path) as log:
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


def _cli(args, **kwargs):
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kwargs)


def _week_on_disk(cfg, week_files, n=3):
    """The built week in cfg.out_dir and a subscribers file of ``n``: what `recap email` reads."""
    from recap import output

    output.write_week(cfg.out_dir, REFERENCE_WEEK, week_files)
    path = cfg.out_dir.parent / "subs.csv"
    path.write_text(subscribers(n))
    return path


# -- a recipient that keeps deferring, a lost reply, a stall, a kill -9 --------------------


def test_a_recipient_deferred_forever_is_set_aside_and_the_batch_goes_on(
    tmp_path, smtp, week_files
):
    smtp.inbox.defer = {"reader1@example.org": math.inf}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, retries=2, backoff_seconds=0.5))
    news, settings = newsletter(cfg, week_files)
    waits: list[float] = []
    with DeliveryLog(cfg.state_path) as log:
        report = send_batch(
            news,
            parse_subscribers(subscribers(4)).subscribers,
            settings,
            log,
            now=NOW,
            sleep=waits.append,
        )
    r = [f"reader{i}@example.org" for i in range(4)]
    assert report.sent == [r[0], r[2], r[3]]
    assert [a for a, _ in report.deferred] == [r[1]]
    assert "451" in report.deferred[0][1]
    # 1 try + 2 retries in line, then once more after everyone else.
    assert smtp.inbox.rcpts == [r[0], r[1], r[1], r[1], r[2], r[3], r[1]]
    assert waits == [0.5, 1.0]
    assert statuses(cfg.state_path) == {r[0]: "sent", r[1]: "deferred", r[2]: "sent", r[3]: "sent"}
    assert not report.ok


def test_cli_exits_1_naming_the_deferred_and_a_rerun_sends_only_to_them(tmp_path, smtp, week_files):
    smtp.inbox.defer = {"reader1@example.org": math.inf}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    args = email_args(cfg, _week_on_disk(cfg, week_files))
    result = _cli(args)
    assert result.exit_code == 1
    assert "Error: 1 deferred (reader1@example.org)" in result.output
    assert "deferred: reader1@example.org: 451 4.3.0 try again later" in result.output
    assert "sent the week ending 2026-01-16 to 2 recipients" in result.output
    smtp.inbox.defer = {}  # the mailbox is back
    again = _cli(args)
    assert again.exit_code == 0, again.output
    assert "to 1 recipients\n  reader1@example.org\n" in again.output
    assert "2 already had it" in again.output
    for i in range(3):
        assert len(smtp.inbox.to(f"reader{i}@example.org")) == 1


def test_a_lost_250_is_never_sent_twice_and_is_listed_as_unknown(tmp_path, smtp, week_files):
    smtp.inbox.drop = {"reader1@example.org"}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    text = subscribers(3)
    report = _send(cfg, week_files, text)
    assert report.sent == ["reader0@example.org", "reader2@example.org"]
    assert [a for a, _ in report.unknown] == ["reader1@example.org"]
    assert "lost after the message was sent" in report.unknown[0][1]
    # The server did get it: one copy, not one per retry.
    assert len(smtp.inbox.to("reader1@example.org")) == 1
    assert statuses(cfg.state_path)["reader1@example.org"] == "sending"
    # A plain re-run sends nobody anything, and still lists the unknown one.
    again = _send(cfg, week_files, text)
    assert again.sent == [] and [a for a, _ in again.unknown] == ["reader1@example.org"]
    assert len(smtp.inbox.messages) == 3
    # --resend-unknown sends it, with the Message-ID of the first copy.
    smtp.inbox.drop = set()
    forced = _send(cfg, week_files, text, resend_unknown=True)
    assert forced.sent == ["reader1@example.org"] and forced.ok
    first, second = smtp.inbox.to("reader1@example.org")
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@news.example.com>")
    assert statuses(cfg.state_path)["reader1@example.org"] == "sent"


def test_a_server_stalling_after_data_times_out_as_unknown_and_the_batch_goes_on(
    tmp_path, smtp, week_files
):
    smtp.inbox.hold = {"reader0@example.org"}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, timeout_seconds=1.0))
    report = _send(cfg, week_files, subscribers(2))
    assert [a for a, _ in report.unknown] == ["reader0@example.org"]
    assert report.sent == ["reader1@example.org"]
    assert statuses(cfg.state_path) == {
        "reader0@example.org": "sending",
        "reader1@example.org": "sent",
    }


def test_no_message_goes_out_unless_sending_was_committed_first(tmp_path, smtp, week_files):
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    news, settings = newsletter(cfg, week_files)
    with DeliveryLog(cfg.state_path) as log:
        log.connection.execute("PRAGMA query_only = ON")  # the store refuses every write
        report = send_batch(
            news, parse_subscribers(subscribers(2)).subscribers, settings, log, now=NOW
        )
    assert "cannot write the delivery log" in report.stopped
    assert report.not_tried == ["reader0@example.org", "reader1@example.org"]
    assert smtp.inbox.rcpts == ["reader0@example.org"] and smtp.inbox.messages == []


def test_kill_9_mid_batch_then_a_rerun_sends_nobody_twice(tmp_path, week_files):
    """A real `recap email` process killed while the server holds reader2's DATA."""
    inbox = Inbox()
    inbox.hold = {"reader2@example.org"}
    server = Server(inbox, free_port())
    server.start()
    try:
        cfg = config(tmp_path, toml=smtp_toml(server.port))
        args = email_args(cfg, _week_on_disk(cfg, week_files, 5))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECAP_")}
        with (tmp_path / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "recap", *args],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            try:
                reached = inbox.held.wait(120)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        assert reached, (tmp_path / "stderr.txt").read_text()
        assert proc.returncode == -signal.SIGKILL
        inbox.release.set()  # the server got reader2's message: it answers a dead client
        assert statuses(cfg.state_path) == {
            "reader0@example.org": "sent",
            "reader1@example.org": "sent",
            "reader2@example.org": "sending",
        }

        rerun = _cli(args)
        assert rerun.exit_code == 1
        assert "outcome unknown: reader2@example.org" in rerun.output
        assert "Error: 1 outcome unknown (reader2@example.org)" in rerun.output
        assert "to 2 recipients\n  reader3@example.org\n  reader4@example.org\n" in rerun.output
        for i in range(5):
            assert len(inbox.to(f"reader{i}@example.org")) == 1, f"reader{i}"

        forced = _cli([*args, "--resend-unknown"])
        assert forced.exit_code == 0, forced.output
        assert "to 1 recipients\n  reader2@example.org\n" in forced.output
        first, second = inbox.to("reader2@example.org")
        assert first["Message-ID"] == second["Message-ID"]
        assert sum(len(inbox.to(f"reader{i}@example.org")) for i in range(5)) == 6
    finally:
        server.stop()


# -- bounces and the suppression list -----------------------------------------------------


def test_a_5xx_to_rcpt_is_a_bounce_that_every_later_send_honours(tmp_path, smtp, week_files):
    smtp.inbox.refuse = {"reader1@example.org"}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    report = _send(cfg, week_files, subscribers(3))
    assert report.bounced == ["reader1@example.org"]
    with DeliveryLog(cfg.state_path) as log:
        entry = log.suppressions()["reader1@example.org"]
    assert entry.reason == "bounced" and "550 5.1.1" in entry.detail
    smtp.inbox.refuse = set()  # even if the server would take it now
    # The same week with --resend, and the next week: never again.
    news, settings = newsletter(cfg, week_files)
    subs = parse_subscribers(subscribers(3).replace("reader1@", "READER1@")).subscribers
    with DeliveryLog(cfg.state_path) as log:
        forced = send_batch(news, subs, settings, log, now=NOW, sleep=no_sleep, resend=True)
        later = send_batch(
            dataclasses.replace(news, week="2026-01-23"), subs, settings, log, now=NOW
        )
    for run in (forced, later):
        assert run.suppressed == [("READER1@example.org", "bounced")]
        assert run.sent == ["reader0@example.org", "reader2@example.org"]
    assert smtp.inbox.rcpts.count("READER1@example.org") == 0
    assert smtp.inbox.to("reader1@example.org") == []


def test_a_5xx_to_the_message_is_refused_but_not_a_bounce(tmp_path, smtp, week_files):
    # 554 after DATA judges this week's message (size, content), not the mailbox:
    # suppressing every reader of a provider after one bad week would be worse.
    smtp.inbox.refuse_data = {"reader0@example.org"}
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    report = _send(cfg, week_files, subscribers(2))
    assert [a for a, _ in report.rejected] == ["reader0@example.org"]
    assert report.bounced == [] and report.sent == ["reader1@example.org"]
    with DeliveryLog(cfg.state_path) as log:
        assert log.suppressions() == {}
    assert statuses(cfg.state_path)["reader0@example.org"] == "rejected"
    smtp.inbox.refuse_data = set()
    assert _send(cfg, week_files, subscribers(2)).sent == ["reader0@example.org"]


def test_cli_unsubscribe_and_import_then_every_send_skips_them(tmp_path, smtp, week_files):
    cfg = config(tmp_path, toml=smtp_toml(smtp.port))
    subs = _week_on_disk(cfg, week_files, 5)
    store = ["--store", str(cfg.store_path)]
    one = _cli(["unsubscribe", "Reader0@Example.org", *store])
    assert one.exit_code == 0, one.output
    assert "unsubscribed Reader0@Example.org" in one.output
    listing = tmp_path / "leavers.txt"
    listing.write_text(
        "# from the old ESP\nreader1@example.org\nnot-an-address\n\nreader0@example.org\n"
    )
    imported = _cli(["unsubscribe", "--from-file", str(listing), *store])
    assert imported.exit_code == 0, imported.output
    assert "unsubscribed reader1@example.org" in imported.output
    assert (
        "reader0@example.org was already on the suppression list (unsubscribed" in imported.output
    )
    assert "line 3: 'not-an-address' is not an email address" in imported.output
    assert "1 added, 1 already on the list" in imported.output
    csv_file = tmp_path / "esp-export.csv"
    csv_file.write_text("status,email\nunsubscribed,reader2@example.org\n")
    assert _cli(["unsubscribe", "--from-file", str(csv_file), *store]).exit_code == 0
    bad = _cli(["unsubscribe", "ok@example.org", "bad address", *store])
    assert bad.exit_code == 1 and "'bad address' contains spaces" in bad.output
    with DeliveryLog(cfg.state_path) as log:
        assert set(log.suppressions()) == {f"reader{i}@example.org" for i in range(3)}

    dry = _cli(email_args(cfg, subs, "--dry-run", str(tmp_path / "outbox")))
    assert "dry run: wrote 2 messages" in dry.output
    result = _cli(email_args(cfg, subs))
    assert result.exit_code == 0, result.output
    assert "skipped 3 on the suppression list (3 unsubscribed)" in result.output
    assert "to 2 recipients\n  reader3@example.org\n  reader4@example.org\n" in result.output
    assert {a for rcpts, _ in smtp.inbox.messages for a in rcpts} == {
        "reader3@example.org",
        "reader4@example.org",
    }


# -- unsubscribe tokens ---------------------------------------------------------------------


def test_token_url_is_refused_without_the_secret(tmp_path, week_files, monkeypatch):
    cfg = config(tmp_path, toml=smtp_toml(free_port(), unsubscribe_url=f'"{TOKEN_URL}"'))
    subs = _week_on_disk(cfg, week_files)
    monkeypatch.delenv("RECAP_UNSUBSCRIBE_SECRET", raising=False)
    for extra in ([], ["--dry-run", str(tmp_path / "outbox")]):
        result = _cli(email_args(cfg, subs, *extra))
        assert result.exit_code == 1
        assert "unsubscribe_url uses {token}" in result.output
        assert "RECAP_UNSUBSCRIBE_SECRET is empty" in result.output
    assert not (tmp_path / "outbox").exists()
    monkeypatch.setenv("RECAP_UNSUBSCRIBE_SECRET", "short")
    result = _cli(email_args(cfg, subs))
    assert result.exit_code == 1 and "at least 16" in result.output


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://x.example/u?token={token}", "uses {token} without {email}"),
        ("https://x.example/u?e={mail}", "unknown placeholder {mail}"),
    ],
)
def test_unsubscribe_url_placeholders_are_checked(tmp_path, url, message):
    cfg = config(tmp_path, toml=smtp_toml(2525, unsubscribe_url=f'"{url}"'))
    with pytest.raises(DeliveryError, match=re.escape(message)):
        EmailSettings.from_config(cfg)


def test_the_token_in_a_received_message_unsubscribes_its_reader_only(
    tmp_path, smtp, week_files, monkeypatch
):
    from urllib.parse import parse_qs, urlsplit

    monkeypatch.setenv("RECAP_UNSUBSCRIBE_SECRET", SECRET)
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, unsubscribe_url=f'"{TOKEN_URL}"'))
    subs = _week_on_disk(cfg, week_files, 2)
    assert _cli(email_args(cfg, subs)).exit_code == 0
    (msg,) = smtp.inbox.to("reader0@example.org")
    url = re.search(r"<(https://[^>]+)>", msg["List-Unsubscribe"]).group(1)
    assert url in msg.get_body(("html",)).get_content().replace("&amp;", "&")
    query = parse_qs(urlsplit(url).query)
    (address,), (token,) = query["email"], query["token"]
    assert address == "reader0@example.org" and len(token) == 43
    (other,) = smtp.inbox.to("reader1@example.org")
    other_token = parse_qs(
        urlsplit(re.search(r"<(https://[^>]+)>", other["List-Unsubscribe"]).group(1)).query
    )["token"][0]
    assert other_token != token

    store = ["--store", str(cfg.store_path)]
    # Another reader's token, a forged one, a missing secret: nothing is recorded.
    for bad in (other_token, token[:-1] + ("A" if token[-1] != "A" else "B"), "x"):
        result = _cli(["unsubscribe", "--token", bad, "--email", address, *store])
        assert result.exit_code == 1
        assert "the unsubscribe token does not match reader0@example.org" in result.output
    result = _cli(
        ["unsubscribe", "--token", token, "--email", address, *store],
        env={"RECAP_UNSUBSCRIBE_SECRET": ""},
    )
    assert result.exit_code == 1 and "RECAP_UNSUBSCRIBE_SECRET is empty" in result.output
    with DeliveryLog(cfg.state_path) as log:
        assert log.suppressions() == {}
    # A different secret (rotated) voids the token too.
    result = _cli(
        ["unsubscribe", "--token", token, "--email", address, *store],
        env={"RECAP_UNSUBSCRIBE_SECRET": SECRET + "-rotated"},
    )
    assert result.exit_code == 1

    ok = _cli(["unsubscribe", "--token", token, "--email", "READER0@example.org", *store])
    assert ok.exit_code == 0, ok.output
    with DeliveryLog(cfg.state_path) as log:
        entry = log.suppressions()["reader0@example.org"]
    assert entry.reason == "unsubscribed" and "token checked" in entry.detail
    forced = _cli(email_args(cfg, subs, "--resend"))
    assert "skipped 1 on the suppression list (1 unsubscribed)" in forced.output
    assert len(smtp.inbox.to("reader0@example.org")) == 1


def test_token_check_is_a_constant_time_compare(monkeypatch):
    import hmac

    from recap.delivery import unsubscribe

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(
        unsubscribe.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b)
    )
    secret = SECRET.encode()
    token = unsubscribe.make_token("ann@example.org", secret)
    assert unsubscribe.verify_token("Ann@Example.org ", token, secret)
    assert not unsubscribe.verify_token("bob@example.org", token, secret)
    assert len(calls) == 2 and all(isinstance(a, bytes) for a, _ in calls)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--token", "abc"], "--token and --email go together"),
        (["--email", "a@example.org"], "--token and --email go together"),
        (["a@example.org", "--token", "t", "--email", "b@example.org"], "--token takes one"),
        ([], "name an ADDRESS"),
    ],
)
def test_unsubscribe_usage_errors_are_one_line(tmp_path, args, message):
    result = _cli(["unsubscribe", *args, "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {message}" or message in result.output
    assert len(result.output.strip().splitlines()) == 1


# -- fitness: what the HTML does, not what its text says ----------------------------------


def test_a_real_week_with_a_url_and_markup_in_a_risk_note_is_fit_to_send(
    tmp_path, market_dir, smtp
):
    from recap import pipeline

    source = "SIA, https://www.semiconductors.org/chip-supply-chain/?ref=a&b=c"
    notes = (
        "\n[[risk_notes]]\n"
        'text = "Taiwan made <b>92%</b> of leading-edge chips; '
        '<script>alert(1)</script> onload=x"\n'
        f'source = "{source}"\n'
        'as_of = "2025-09-01"\n'
    )
    cfg = config(tmp_path, market_dir, toml=smtp_toml(smtp.port, attach_pdf="false") + notes)
    built = pipeline.build_week(
        pipeline.open_source(cfg, NOW),
        cfg,
        week_date=REFERENCE_WEEK,
        now=NOW,
        formats=("email", "json"),
    )
    report = _send(cfg, built.files, subscribers(1))
    assert report.sent == ["reader0@example.org"]
    ((_, msg),) = smtp.inbox.messages
    html = msg.get_body(("html",)).get_content()
    assert "Source: SIA, https://www.semiconductors.org/chip-supply-chain/?ref=a&amp;b=c" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; onload=x" in html
    assert "<script" not in html


FIT = (
    '<html><body><img src="cid:indexes" alt="onload=x &lt;script&gt; https://t.example/p.gif">'
    '<p title="&lt;svg onload=1&gt;">See https://example.gov/report.svg and &lt;link&gt; or '
    "javascript:alert(1)</p>"
    '<a href="https://example.gov/report">the report</a>'
    '<link rel="icon" href="data:image/png;base64,iVBORw0KGgo=" type="image/png"></body></html>'
)


def test_text_and_attribute_values_never_make_html_unfit(tmp_path):
    cfg = config(tmp_path, toml=smtp_toml(2525))
    files = tiny_week()
    files["email.html"] = FIT.encode()
    news, _ = newsletter(cfg, files)
    assert list(news.images) == ["indexes"]


@pytest.mark.parametrize(
    "markup, reason",
    [
        ('<img src="https://t.example/p.gif">', "external URLs (https://t.example/p.gif)"),
        ('<img src="//t.example/p.gif">', "external URLs (//t.example/p.gif)"),
        ('<img srcset="cid:indexes 1x, https://t.example/2x.png 2x">', "external URLs"),
        ("<div style=\"background:url('https://t.example/bg.png')\">x</div>", "external URLs"),
        ("<style>@import 'x.css';</style>", "a remote stylesheet"),
        ('<link rel="icon" href="https://t.example/f.ico">', "a <link> element"),
        ('<link rel="icon" href="data:image/svg+xml;base64,PHN2Zz4=">', "a <link> element"),
        ("<script>x()</script>", "a script"),
        ('<a href="javascript:alert(1)">x</a>', "a script"),
        ('<img src="cid:indexes" onerror="x()">', "an event handler (onerror on <img>)"),
        ('<img src="chart.svg">', "an SVG image"),
        ("<svg><circle r=1 /></svg>", "an SVG image"),
        ('<iframe src="cid:indexes"></iframe>', "an embedded document"),
        ('<img src="charts/indexes.png">', "images that are not embedded"),
        ('<img src="cid:nope">', "cid: images without a chart PNG (nope)"),
    ],
)
def test_what_a_mail_client_would_load_or_run_makes_html_unfit(tmp_path, markup, reason):
    cfg = config(tmp_path, toml=smtp_toml(2525))
    files = tiny_week()
    files["email.html"] = f"<html><body><p>Hi</p>{markup}</body></html>".encode()
    with pytest.raises(DeliveryError, match="is not fit to send") as err:
        newsletter(cfg, files)
    assert reason in str(err.value)


# -- SMTP servers that cannot do what the settings ask -------------------------------------


def test_a_server_without_auth_says_so(tmp_path, smtp, week_files, monkeypatch):
    # aiosmtpd without an authenticator offers no AUTH at all.
    cfg = config(tmp_path, toml=smtp_toml(smtp.port, user='"newsletter"'))
    monkeypatch.setenv("RECAP_SMTP_PASSWORD", "pw")
    result = _cli(email_args(cfg, _week_on_disk(cfg, week_files, 2)))
    assert result.exit_code == 1
    assert f"the SMTP server 127.0.0.1:{smtp.port} does not offer AUTH" in result.output
    assert "STARTTLS" not in result.output
    assert "Error: 2 not tried (reader0@example.org, reader1@example.org)" in result.output
    assert smtp.inbox.messages == []


# -- the CLI -------------------------------------------------------------------------------


def test_cli_dry_run_reuses_the_built_week_and_sends_nothing(tmp_path, week_files, monkeypatch):
    from recap import output, pipeline

    cfg = config(tmp_path, toml=smtp_toml(free_port()))
    output.write_week(cfg.out_dir, REFERENCE_WEEK, week_files)

    def no_build(*args, **kwargs):
        raise AssertionError("the built week should have been reused")

    monkeypatch.setattr(pipeline, "build_week", no_build)
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
    with DeliveryLog(cfg.state_path) as log:
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
