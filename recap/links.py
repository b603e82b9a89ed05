"""Where a week's report lives once published ([blog] base_url and archive_url): the
email's "view in browser" link, the page's canonical and share URLs, its links to the
previous and next weeks and to the archive. Pure: the URLs are computed, never fetched.

The shipped base_url (https://example.com) is a placeholder: with it no link is made, so
an unconfigured build never points readers at someone else's site.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from recap.config import RecapConfig
from recap.model import Week
from recap.weeks import next_week, previous_week

PLACEHOLDER_HOSTS = frozenset({"example.com", "www.example.com"})


@dataclass(frozen=True)
class WeekLinks:
    """The published URLs around one week; every field is a full https URL, or ""."""

    page: str = ""  # this week's recap.html in the archive
    share_image: str = ""  # the week's lead chart, for Open Graph and Twitter cards
    archive: str = ""  # the archive's index
    previous: str = ""
    next: str = ""


def archive_root(config: RecapConfig) -> str:
    """The archive's URL without a trailing slash, or "" when base_url is the placeholder."""
    base = str(config.blog.base_url).rstrip("/")
    if urlsplit(base).hostname in PLACEHOLDER_HOSTS:
        return ""
    return base + "/" + config.blog.archive_url.strip("/")


def week_links(
    config: RecapConfig, week: Week, built: dt.datetime, lead_chart: str = ""
) -> WeekLinks:
    """The links of ``week``'s report; the next week's only when that week had ended when
    this one was ``built`` (a backfilled week): the latest week has no next one yet."""
    root = archive_root(config)
    if not root:
        return WeekLinks()
    after = next_week(week)
    return WeekLinks(
        page=f"{root}/{week.end.isoformat()}/recap.html",
        share_image=f"{root}/{week.end.isoformat()}/charts/{lead_chart}.png" if lead_chart else "",
        archive=f"{root}/",
        previous=f"{root}/{previous_week(week).end.isoformat()}/recap.html",
        next=f"{root}/{after.end.isoformat()}/recap.html" if after.end < built.date() else "",
    )


__all__ = ["PLACEHOLDER_HOSTS", "WeekLinks", "archive_root", "week_links"]
