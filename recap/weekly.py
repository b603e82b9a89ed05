"""Delivery orchestration: find or build a week, email it, publish it, and the weekly job.

The weekly job runs, in order, and stops at the first step that fails:
  1. take the 'weekly' lock in the store (a second overlapping run fails at once)
  2. build the latest complete week and write OUT/<week-end>/
  3. refuse it if it came from sample data or stale data
  4. publish it to the site (when one is given)
  5. email it to the subscribers (when a list is given)
so nobody is emailed a recap that did not build or could not be published.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recap.config import RecapConfig
from recap.delivery.blog import BlogSettings, PublishReport, publish
from recap.delivery.edition import Edition, check_deliverable, load_edition
from recap.delivery.email import (
    EmailSettings,
    SendReport,
    prepare,
    send_batch,
    smtp_password,
    write_dry_run,
)
from recap.delivery.log import DeliveryLog
from recap.delivery.subscribers import LineProblem, read_subscribers
from recap.errors import DeliveryError
from recap.model import Week

logger = logging.getLogger(__name__)

EMAIL_FILES = ("email.html", "email.txt")
PUBLISH_FILES = ("recap.html",)


def _index_tickers(config: RecapConfig) -> tuple[str, ...]:
    out = [t for spec in config.indexes for t in (spec.symbol, spec.proxy) if t]
    return tuple(dict.fromkeys(out))


def target_week(config: RecapConfig, week_date: dt.date | None, now: dt.datetime) -> Week:
    """The week ``--week`` names, or the latest complete one (in the snapshot, if one is used)."""
    from recap.weeks import (
        check_not_future,
        latest_complete_week,
        latest_week_in_data,
        week_containing,
    )

    if week_date is not None:
        week = week_containing(week_date)
        check_not_future(week, now)
        return week
    if config.data_dir is not None:
        from recap.sources.snapshot import SnapshotSource

        last = SnapshotSource(config.data_dir).latest_session(_index_tickers(config))
        if last is not None:
            return latest_week_in_data(last)
    return latest_complete_week(now)


def obtain_edition(
    config: RecapConfig,
    week_date: dt.date | None,
    now: dt.datetime,
    *,
    needs: tuple[str, ...] = (),
    rebuild: bool = False,
    on_build: Callable[[Week], Any] | None = None,
) -> Edition:
    """The week's built output from OUT/<week-end>/, built (and written) when it is not there.

    A folder missing one of ``needs`` (e.g. built with --format html) is rebuilt whole.
    """
    from recap import output

    week = target_week(config, week_date, now)
    files = None if rebuild else output.read_week(config.out_dir, week.end)
    if files is not None and all(name in files for name in needs):
        logger.info("reusing the built week in %s", output.week_dir(config.out_dir, week.end))
        return load_edition(files)
    from recap import pipeline  # only when building: it loads the whole analytics stack

    if on_build is not None:
        on_build(week)
    built = pipeline.build_with_fallback(config, week_date=week.end, now=now)
    output.write_week(config.out_dir, built.recap.week.end, built.files)
    return load_edition(built.files)


def email_needs(config: RecapConfig) -> tuple[str, ...]:
    """The built files an email run reads."""
    pdf = ("recap.pdf",) if config.section("email").get("attach_pdf") else ()
    return EMAIL_FILES + pdf + ("recap.json",)


@dataclass
class EmailRun:
    """An email run's outcome, and the subscriber lines that were skipped."""

    report: SendReport
    problems: tuple[LineProblem, ...]
    dry_run: bool


def email_edition(
    config: RecapConfig,
    edition: Edition,
    subscribers_path: Path,
    now: dt.datetime,
    *,
    dry_run: Path | None = None,
    resend: bool = False,
    sleep: Callable[[float], None] | None = None,
) -> EmailRun:
    """Email a built week to a subscribers file (or write .eml files for a dry run)."""
    settings = EmailSettings.from_config(config)
    subs = read_subscribers(subscribers_path)
    for problem in subs.problems:
        logger.warning("%s: %s", subscribers_path, problem)
    newsletter = prepare(edition, settings)
    if not subs.subscribers:
        raise DeliveryError(f"{subscribers_path}: no valid subscribers to send to")
    with DeliveryLog(config.store_path) as log:
        if dry_run is not None:
            report = write_dry_run(
                newsletter, subs.subscribers, settings, dry_run, log=log, now=now, resend=resend
            )
            return EmailRun(report, subs.problems, True)
        password = smtp_password(settings)
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        with log.lock(f"email:{edition.week}"):
            report = send_batch(
                newsletter,
                subs.subscribers,
                settings,
                log,
                now=now,
                password=password,
                resend=resend,
                **extra,
            )
    return EmailRun(report, subs.problems, False)


def publish_editions(config: RecapConfig, editions: list[Edition], site: Path) -> PublishReport:
    """Publish built weeks into a site folder, under the 'publish' lock."""
    settings = BlogSettings.from_config(config)
    with DeliveryLog(config.store_path) as log, log.lock("publish"):
        return publish(editions, site, settings, log=log)


@dataclass
class WeeklyRun:
    """What the weekly job did, step by step."""

    week: str = ""
    headline: str = ""
    steps: list[str] = field(default_factory=list)
    published: PublishReport | None = None
    emailed: EmailRun | None = None


def run_weekly(
    config: RecapConfig,
    now: dt.datetime,
    *,
    subscribers: Path | None = None,
    site: Path | None = None,
    sleep: Callable[[float], None] | None = None,
) -> WeeklyRun:
    """Build the latest complete week, publish it, then email it (see the module docstring)."""
    from recap import output, pipeline

    weekly = config.section("weekly")
    subscribers = subscribers or (Path(weekly["subscribers"]) if weekly["subscribers"] else None)
    site = site or (Path(weekly["site"]) if weekly["site"] else None)
    run = WeeklyRun()
    with DeliveryLog(config.store_path) as log, log.lock("weekly"):
        week = target_week(config, None, now)
        built = pipeline.build_with_fallback(config, week_date=week.end, now=now)
        output.write_week(config.out_dir, built.recap.week.end, built.files)
        edition = load_edition(built.files)
        run.week, run.headline = edition.week, edition.headline
        run.steps.append("built")
        check_deliverable(edition, "deliver")
        if site is not None:
            run.published = publish_editions(config, [edition], site)
            run.steps.append("published")
        if subscribers is not None:
            run.emailed = email_edition(config, edition, subscribers, now, sleep=sleep)
            run.steps.append("emailed")
    return run


__all__ = [
    "EmailRun",
    "WeeklyRun",
    "email_edition",
    "email_needs",
    "obtain_edition",
    "publish_editions",
    "run_weekly",
    "target_week",
]
