"""Delivery orchestration: find or build a week, email it, publish it, and the weekly job.

The weekly job runs, in order, and stops at the first step that fails:
  1. check the email settings and the subscribers file (when a list is given): host,
     from, unsubscribe, the SMTP password when a user is set, the unsubscribe secret
     when the URL carries a token
  2. take the 'weekly' run lock beside the store (a second overlapping run fails at
     once; the lock goes with the process that held it, however it ends)
  3. build the latest complete week and write OUT/<week-end>/
  4. refuse it if it came from sample data or stale data, or if its email is unfit to send
  5. publish it to the site (when one is given)
  6. email it to the subscribers (when a list is given)
so nobody is emailed a recap that did not build or could not be published, and nothing
is published when the email that should follow it could not go out.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recap.config import RecapConfig
from recap.delivery.batch import SendReport, send_batch, write_dry_run
from recap.delivery.blog import BlogSettings, PublishReport, entry_url, publish
from recap.delivery.edition import Edition, check_deliverable, load_edition
from recap.delivery.email import (
    EmailSettings,
    Newsletter,
    prepare,
    smtp_password,
    unsubscribe_secret,
)
from recap.delivery.ledger import UNSUBSCRIBED
from recap.delivery.state import check_send_log, open_state, writing_state
from recap.delivery.subscribers import (
    LineProblem,
    Subscriber,
    check_address,
    read_addresses,
    read_subscribers,
)
from recap.delivery.unsubscribe import read_secret, verify_token
from recap.errors import DeliveryError

if TYPE_CHECKING:
    from recap.pipeline import BuiltWeek

logger = logging.getLogger(__name__)

EMAIL_FILES = ("email.html", "email.txt")
# In ``needs``: the PNG of every chart recap.html shows (the blog post's images), which a
# week built with --format html alone does not have.
PAGE_CHART_PNGS = "charts/<page>.png"
PUBLISH_FILES = ("recap.html", PAGE_CHART_PNGS)
_PAGE_CHART = re.compile(rb'<figure class="chart" id="chart-([\w-]+)">')


# Builds the latest complete week (see build_latest); a test hands in its own.
BuildFn = Callable[[RecapConfig, dt.datetime], "BuiltWeek"]


def build_latest(config: RecapConfig, now: dt.datetime) -> BuiltWeek:
    """Build the latest complete week from the data open_source chooses."""
    from recap import pipeline
    from recap.sources.opening import open_source, resolve_week

    opened = open_source(config, now)
    week = resolve_week(opened.source, config, None, now)
    # The week is fixed before building: offline, the store must hold this very week,
    # never an older one delivered as the latest.
    return pipeline.build_week(opened, config, week_date=week.end, now=now)


def obtain_edition(
    config: RecapConfig,
    week_date: dt.date | None,
    now: dt.datetime,
    *,
    needs: tuple[str, ...] = (),
    rebuild: bool = False,
) -> Edition:
    """The week's built output from OUT/<week-end>/, built (and written) when it is not there.

    A folder missing one of ``needs`` (e.g. built with --format html) is rebuilt whole.
    """
    from recap import output
    from recap.sources.opening import open_source, resolve_week

    opened = open_source(config, now)
    week = resolve_week(opened.source, config, week_date, now)
    files = None if rebuild else output.read_week(config.out_dir, week.end)
    if files is not None and not missing_files(files, needs):
        logger.info("reusing the built week in %s", output.week_dir(config.out_dir, week.end))
        return load_edition(files)
    from recap import pipeline  # only when building: it loads the whole analytics stack

    built = pipeline.build_week(opened, config, week_date=week.end, now=now)
    output.write_built(config.out_dir, built)
    return load_edition(built.files)


def missing_files(files: Mapping[str, bytes], needs: tuple[str, ...]) -> list[str]:
    """The files of ``needs`` that a built week lacks (see PAGE_CHART_PNGS)."""
    wanted = [name for name in needs if name != PAGE_CHART_PNGS]
    if PAGE_CHART_PNGS in needs:
        page = files.get("recap.html", b"")
        wanted += [f"charts/{name.decode()}.png" for name in _PAGE_CHART.findall(page)]
    return [name for name in wanted if name not in files]


def email_needs(config: RecapConfig) -> tuple[str, ...]:
    """The built files an email run reads."""
    pdf = ("recap.pdf",) if config.email.attach_pdf else ()
    return EMAIL_FILES + pdf + ("recap.json",)


@dataclass(frozen=True)
class EmailPlan:
    """Everything an email run needs, checked before anything is built, published or sent."""

    settings: EmailSettings
    subscribers: tuple[Subscriber, ...]
    problems: tuple[LineProblem, ...]
    password: str
    secret: bytes
    notes: tuple[LineProblem, ...] = ()


def plan_email(config: RecapConfig, subscribers_path: Path, *, dry_run: bool = False) -> EmailPlan:
    """Check [email], the credentials in the environment and the subscribers file.

    DeliveryError naming the first thing that would stop the send. A dry run needs no
    SMTP password, but does need the unsubscribe secret (its .eml files carry tokens).
    """
    settings = EmailSettings.from_config(config)
    password = "" if dry_run else smtp_password(settings)
    secret = unsubscribe_secret(settings)
    subs = read_subscribers(subscribers_path)
    if not subs.subscribers:
        raise DeliveryError(f"{subscribers_path}: no valid subscribers to send to")
    for problem in subs.problems:
        logger.warning("%s: %s", subscribers_path, problem)
    return EmailPlan(settings, subs.subscribers, subs.problems, password, secret, subs.notes)


@dataclass
class EmailRun:
    """An email run's outcome, and the subscriber lines that were skipped."""

    report: SendReport
    problems: tuple[LineProblem, ...]
    dry_run: bool
    notes: tuple[LineProblem, ...] = ()


def send_newsletter(
    config: RecapConfig,
    newsletter: Newsletter,
    plan: EmailPlan,
    now: dt.datetime,
    *,
    dry_run: Path | None = None,
    resend: bool = False,
    resend_unknown: bool = False,
    new_send_log: bool = False,
    sites: tuple[Path, ...] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> EmailRun:
    """Send a prepared newsletter to the plan's subscribers (or write .eml files).

    Refused when one of ``sites`` (default: [weekly] site) shows the week published and
    the send log knows nothing of it, unless ``new_send_log`` (state.check_send_log).
    """
    if sites is None:
        sites = (Path(config.weekly.site),) if config.weekly.site else ()
    if dry_run is not None:
        with open_state(config) as log:
            report = write_dry_run(
                newsletter,
                plan.subscribers,
                plan.settings,
                dry_run,
                log=log,
                now=now,
                secret=plan.secret,
                resend=resend,
                resend_unknown=resend_unknown,
            )
        return EmailRun(report, plan.problems, True, plan.notes)
    extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    with writing_state(config) as log, log.lock(f"email:{newsletter.week}"):
        archive = config.blog.archive_dir
        check_send_log(log, newsletter.week, sites, archive, new=new_send_log)
        report = send_batch(
            newsletter,
            plan.subscribers,
            plan.settings,
            log,
            now=now,
            password=plan.password,
            secret=plan.secret,
            resend=resend,
            resend_unknown=resend_unknown,
            **extra,
        )
    return EmailRun(report, plan.problems, False, plan.notes)


def unsubscribe_addresses(
    config: RecapConfig, addresses: tuple[str, ...], from_file: Path | None
) -> tuple[list[str], list[tuple[str, str]], tuple[LineProblem, ...]]:
    """Suppress addresses given by hand or in a file: (added, already there, skipped lines).

    A bad address given by hand stops everything before anything is recorded.
    """
    wanted: list[tuple[str, str]] = []
    for address in addresses:
        if reason := check_address(address.strip()):
            raise DeliveryError(f"cannot unsubscribe: {reason}")
        wanted.append((address.strip(), "by hand"))
    problems: tuple[LineProblem, ...] = ()
    if from_file is not None:
        listed, problems = read_addresses(from_file)
        wanted += [(address, f"from {from_file}") for address in listed]
    return _suppress(config, wanted)[:2] + (problems,)


def unsubscribe_with_token(
    config: RecapConfig, address: str, token: str, environ: Mapping[str, str] | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Suppress ``address`` if ``token`` is its unsubscribe token; DeliveryError if not."""
    address = address.strip()
    if reason := check_address(address):
        raise DeliveryError(f"cannot unsubscribe: {reason}")
    secret = read_secret(environ, why="cannot check an unsubscribe token")
    if not verify_token(address, token, secret):
        raise DeliveryError(f"the unsubscribe token does not match {address}; nothing was recorded")
    return _suppress(config, [(address, "unsubscribe link (token checked)")])


def _suppress(
    config: RecapConfig, wanted: list[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, str]]]:
    unique: dict[str, tuple[str, str]] = {}
    for address, detail in wanted:
        unique.setdefault(address.lower(), (address, detail))
    added: list[str] = []
    known: list[tuple[str, str]] = []
    with writing_state(config) as log:
        existing = log.suppressions()
        for key, (address, detail) in unique.items():
            if key in existing:
                entry = existing[key]
                known.append((address, f"{entry.reason} since {entry.added_at}"))
            elif log.suppress(address, UNSUBSCRIBED, detail):
                added.append(address)
    return added, known


def publish_editions(config: RecapConfig, editions: list[Edition], site: Path) -> PublishReport:
    """Publish built weeks into a site folder, under the 'publish' lock."""
    settings = BlogSettings.from_config(config)
    with writing_state(config) as log, log.lock("publish"):
        return publish(editions, site, settings, log=log)


@dataclass
class WeeklyRun:
    """What the weekly job did, step by step."""

    week: str = ""
    headline: str = ""
    steps: list[str] = field(default_factory=list)
    published: PublishReport | None = None
    feed_entry: str = ""
    emailed: EmailRun | None = None


def run_weekly(
    config: RecapConfig,
    now: dt.datetime,
    *,
    subscribers: Path | None = None,
    site: Path | None = None,
    sleep: Callable[[float], None] | None = None,
    build: BuildFn | BuiltWeek = build_latest,
    new_send_log: bool = False,
) -> WeeklyRun:
    """Build the latest complete week, publish it, then email it (see the module docstring).

    ``build`` makes the week (``build_latest`` by default); a BuiltWeek is used as built.
    """
    from recap import output

    weekly = config.weekly
    subscribers = subscribers or (Path(weekly.subscribers) if weekly.subscribers else None)
    site = site or (Path(weekly.site) if weekly.site else None)
    run = WeeklyRun()
    plan = plan_email(config, subscribers) if subscribers is not None else None
    blog = BlogSettings.from_config(config) if site is not None else None
    with open_state(config) as log, log.lock("weekly"):
        built = build(config, now) if callable(build) else build
        output.write_built(config.out_dir, built)
        edition = load_edition(built.files)
        run.week, run.headline = edition.week, edition.headline
        run.steps.append("built")
        check_deliverable(edition, "deliver")
        newsletter = prepare(edition, plan.settings) if plan is not None else None
        if plan is not None and site is not None:
            # Before publishing: once this run has published, the site proves nothing.
            archive = config.blog.archive_dir
            check_send_log(log, edition.week, (site,), archive, new=new_send_log)
        if site is not None and blog is not None:
            run.published = publish_editions(config, [edition], site)
            run.feed_entry = entry_url(blog, edition.week)
            run.steps.append("published")
        if plan is not None and newsletter is not None:
            run.emailed = send_newsletter(
                config,
                newsletter,
                plan,
                now,
                sleep=sleep,
                new_send_log=new_send_log,
                sites=(site,) if site is not None else None,
            )
            run.steps.append("emailed")
    return run


__all__ = [
    "BuildFn",
    "EmailPlan",
    "EmailRun",
    "WeeklyRun",
    "build_latest",
    "email_needs",
    "missing_files",
    "plan_email",
    "send_newsletter",
    "obtain_edition",
    "publish_editions",
    "run_weekly",
    "unsubscribe_addresses",
    "unsubscribe_with_token",
]
