"""The week label: one filter, one way to print a week, in every output."""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy

import pytest

from recap.formatting import week_span
from tests._delivery import NOW, built_files, config, smtp_toml

D = dt.date


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (D(2026, 1, 12), D(2026, 1, 16), "Jan 12\u201316, 2026"),
        (D(2026, 1, 20), D(2026, 1, 23), "Jan 20\u201323, 2026"),  # MLK Day: 4 sessions
        (D(2025, 9, 29), D(2025, 10, 3), "Sep 29\u2013Oct 3, 2025"),
        (D(2025, 12, 29), D(2026, 1, 2), "Dec 29, 2025\u2013Jan 2, 2026"),
        (D(2026, 7, 3), D(2026, 7, 3), "Jul 3, 2026"),  # one session, not "Jul 3\u20133"
    ],
)
def test_week_span(start, end, label):
    assert week_span(start, end) == label


def test_every_output_of_a_real_week_prints_the_week_the_same_way(tmp_path, market_dir):
    from recap.delivery import blog
    from recap.delivery.edition import load_edition
    from recap.delivery.email import EmailSettings, compose, prepare
    from recap.delivery.subscribers import Subscriber

    files = built_files(market_dir)
    edition = load_edition(files)
    label = "Jan 12\u201316, 2026"
    page = files["recap.html"].decode()
    assert f"Week of {label}<" in page  # the masthead
    assert f", {label}</title>" in page
    assert f"Week of {label} \u00b7" in files["email.txt"].decode()
    assert f"Week of {label}<" in files["email.html"].decode()
    cfg = config(tmp_path, toml=smtp_toml(2525))
    settings = blog.BlogSettings.from_config(cfg)
    assert f"\nWeek of {label}.\n" in blog.render_post(edition, settings)
    archive = blog.render_index([blog.archive_entry(edition)], settings)
    assert f">{label}</time>" in archive
    mail = EmailSettings.from_config(cfg)
    raw = compose(prepare(edition, mail), Subscriber("a@example.org"), mail, NOW).as_bytes()
    subject = email.message_from_bytes(raw, policy=policy.default)["Subject"]
    assert subject.endswith(f"| Week of {label}")
    # Nowhere the old hyphenated form.
    assert not re.search(r"Jan 12 ?- ?(Jan )?16", page + subject)
