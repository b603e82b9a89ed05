"""The `recap` command line: a thin layer over pipeline.py.

Only this module turns RecapError into a message and an exit code (1; 75 for a week
whose data is not complete yet, IncompleteWeekError, so a timer can retry).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from recap import kept
from recap.config import RecapConfig, read_config
from recap.errors import IncompleteWeekError, RecapError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2999, 12, 31))


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    option = param.opts[0] if param.opts else param.name
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        # Bad input is one line and exit 1 (README), not click's usage block and exit 2.
        raise click.ClickException(
            f"{option} {value!r} is not a date (use YYYY-MM-DD, e.g. 2026-01-16)"
        ) from None
    if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:  # 9999-12-31 overflowed the week's end
        raise click.ClickException(
            f"{option} {value} is out of range ({DATE_RANGE[0]} to {DATE_RANGE[1]})"
        )
    return day


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file overriding the shipped defaults (default: ./recap.toml).",
)
store_option = click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SQLite store (default: .cache/recap.sqlite).",
)
state_option = click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The delivery state: send log, suppression list, publish log "
    "(default: [paths] state, else $XDG_STATE_HOME/recap/delivery.sqlite).",
)


def data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads market data shares."""
    options = [
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Read prices from a snapshot folder instead of Yahoo Finance.",
        ),
        config_option,
        store_option,
        state_option,
        click.option(
            "--out",
            "out_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where week folders are written (default: output/).",
        ),
        click.option(
            "--templates-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Use templates from this folder instead of the project's.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def load_config(**kwargs: Any) -> RecapConfig:
    """RecapConfig from --config plus the path options of data_options."""
    overrides = {
        k: kwargs.get(k)
        for k in ("data_dir", "store", "state", "out_dir", "templates_dir")
        if kwargs.get(k)
    }
    config = read_config(kwargs.get("config_path"), overrides)
    kept.keep_in(config.cache_dir)  # compiled templates, the NYSE calendar
    return config


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn RecapError into a one-line message and exit code 1; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RecapError as e:
            failure = click.ClickException(str(e))
            if isinstance(e, IncompleteWeekError):
                # 75 (EX_TEMPFAIL): the week's data is not complete yet, so a job retries.
                setattr(failure, "exit_code", e.exit_code)  # noqa: B010 (a class attribute)
            raise failure from None

    return wrapper


@click.group(context_settings=CONTEXT_SETTINGS)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.version_option(package_name="recap")
def cli(verbose: bool) -> None:
    """Write a weekly stock-market recap from market data, and send and publish it.

    Example:

        recap build --week 2026-01-16 --data-dir ../shared/data/market
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s" if verbose else "%(message)s",
    )


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--week",
    "week_date",
    callback=_date,
    metavar="DATE",
    help="Any date in the week to recap (default: the latest complete week).",
)
@click.option(
    "--format",
    "formats",
    default="html,pdf,json,email",
    show_default=True,
    help="Comma-separated outputs: html, pdf, json, email.",
)
@data_options
@handle_errors
def build(week_date: dt.date | None, formats: str, **kwargs: Any) -> None:
    """Build a week's recap into OUT/<last-session-date>/ (OUT/sample-<date>/ for sample data).

    Without --week: the latest complete week (from a snapshot: the latest it holds).

    Example:

        recap build --week 2026-01-16 --data-dir ../shared/data/market --format html,pdf
    """
    from recap import output, pipeline

    config = load_config(**kwargs)
    now = _now()
    built = pipeline.build_week(
        pipeline.open_source(config, now),
        config,
        week_date=week_date,
        now=now,
        formats=pipeline.parse_formats(formats),
    )
    recap = built.recap
    sample = recap.data.is_sample
    folder = output.write_week(config.out_dir, recap.week.end, built.files, sample=sample)
    if sample:
        click.echo(
            "SAMPLE DATA, NOT MARKET DATA: this report was built from generated prices "
            f"(into {folder.name}/, never over a real week)."
        )
    click.echo(f"{recap.headline} ({recap.week.start} to {recap.week.end}, {recap.data.source})")
    for name in sorted(built.files):
        if "/" not in name:
            click.echo(f"  {folder / name}")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--out",
    "snapshot_out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write.",
)
@click.option("--since", callback=_date, metavar="DATE", help="First date to save.")
@click.option("--until", callback=_date, metavar="DATE", help="Last date to save (default: today).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Copy from this snapshot folder instead of Yahoo via the store.",
)
@config_option
@store_option
@handle_errors
def snapshot(
    snapshot_out: Path, since: dt.date | None, until: dt.date | None, **kwargs: Any
) -> None:
    """Save the data the recap uses as a snapshot folder, for offline replay.

    Fetches what the store is missing, then writes prices/<TICKER>.csv, earnings.csv
    and MANIFEST.csv. Replay it with `recap build --data-dir DIR`.

    Example:

        recap snapshot --out my-snapshot --since 2025-01-01
    """
    from recap import pipeline

    config = load_config(**kwargs)
    end = until or _now().date()
    start = since or end - dt.timedelta(days=400)
    if start > end:  # it wrote an empty snapshot and exited 0
        raise click.ClickException(
            f"--since {start} is after --until {end}: nothing would be saved"
        )
    folder, count = pipeline.save_snapshot(config, start, end, snapshot_out, _now())
    click.echo(f"saved {count} tickers from {start} to {end} into {folder}")


# -- delivery: email, publish, weekly, backfill ------------------------------------------


new_send_log_option = click.option(
    "--new-send-log",
    is_flag=True,
    help="Send a week a site shows as published although the send log has no record of it "
    "(a lost send log: its earlier recipients get it again).",
)


def _week_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--week",
        "week_date",
        callback=_date,
        metavar="DATE",
        help="Any date in the week (default: the latest complete week).",
    )(fn)


def _echo_send(run: Any, week: str) -> None:
    """Say whom the week went to, who was skipped and why, and what needs a decision."""
    from collections import Counter

    report = run.report
    for problem in run.problems:
        click.echo(f"skipped {problem}", err=True)
    for note in run.notes:
        click.echo(f"note: {note}", err=True)
    if run.dry_run:
        click.echo(f"dry run: wrote {len(report.written)} messages for the week ending {week}")
        for path in report.written:
            click.echo(f"  {path}")
    else:
        click.echo(f"sent the week ending {week} to {len(report.sent)} recipients")
        for address in report.sent:
            click.echo(f"  {address}")
    if report.already_sent:
        click.echo(f"{len(report.already_sent)} already had it (use --resend to send again)")
    if report.suppressed:
        counts = Counter(reason for _, reason in report.suppressed)
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
        click.echo(f"skipped {len(report.suppressed)} on the suppression list ({detail})")
    for address, reason in report.rejected:
        bounced = " (bounced: suppressed from now on)" if address in report.bounced else ""
        click.echo(f"refused: {address}: {reason}{bounced}", err=True)
    for address, reason in report.deferred:
        click.echo(f"deferred: {address}: {reason} (a re-run tries again)", err=True)
    for address, reason in report.unknown:
        click.echo(
            f"outcome unknown: {address}: {reason}; not sent again (--resend-unknown sends it, "
            "with the same Message-ID)",
            err=True,
        )
    for address in report.unrecorded:
        click.echo(
            f"delivered, not recorded: {address} got the week, but the send log could not "
            "say so; its row says 'sending', so no re-run sends it again",
            err=True,
        )
    if report.stopped:
        click.echo(report.stopped, err=True)
        click.echo(
            f"not tried: {len(report.not_tried)}; the send log records who got it, so running "
            "the same command again sends only to the rest",
            err=True,
        )


def _send_failure(report: Any, skipped: Any = ()) -> str:
    """The one-line reason an email run exits 1, naming the recipients and the subscriber
    lines skipped; '' when it is fine."""
    parts = []
    if skipped:
        lines = ", ".join(str(p.line) for p in skipped[:10]) + (
            ", ..." if len(skipped) > 10 else ""
        )
        parts.append(f"{len(skipped)} subscriber line(s) skipped (line {lines}): fix and run again")
    for what, entries in (
        ("refused", [a for a, _ in report.rejected]),
        ("deferred", [a for a, _ in report.deferred]),
        ("outcome unknown", [a for a, _ in report.unknown]),
        ("not tried", report.not_tried),
    ):
        if entries:
            shown = ", ".join(entries[:10]) + (", ..." if len(entries) > 10 else "")
            parts.append(f"{len(entries)} {what} ({shown})")
    if report.stopped and not report.not_tried:
        parts.append("sending stopped")
    return "; ".join(parts)


@cli.command(context_settings=CONTEXT_SETTINGS)
@_week_option
@click.option(
    "--to",
    "subscribers",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Subscribers CSV with an 'email' column and an optional 'name' column.",
)
@click.option(
    "--dry-run",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write one .eml per recipient into DIR and send nothing.",
)
@click.option("--resend", is_flag=True, help="Send again to recipients who already had the week.")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Also send to recipients whose outcome is unknown (a run cut off after DATA).",
)
@new_send_log_option
@data_options
@handle_errors
def email(
    week_date: dt.date | None,
    subscribers: Path,
    dry_run: Path | None,
    resend: bool,
    resend_unknown: bool,
    new_send_log: bool,
    **kwargs: Any,
) -> None:
    """Email a week's recap to every subscriber, over SMTP ([email] in the config).

    Reuses OUT/<week-end>/ when it was built, and builds it otherwise. The SMTP
    password is read from RECAP_SMTP_PASSWORD; when [email] unsubscribe_url uses
    {token}, the token secret from RECAP_UNSUBSCRIBE_SECRET.

    \b
    The send log in the store decides who gets the week:
    - sent: skipped (--resend sends again);
    - outcome unknown (the run stopped after handing the message over, before
      the server's reply): skipped and listed (--resend-unknown sends again,
      with the same Message-ID);
    - deferred (4xx after every retry, and once more at the end of the batch)
      or not tried yet: sent.
    Addresses on the suppression list (recap unsubscribe, or a 5xx to RCPT,
    recorded as a bounce) are never sent to, whatever the subscribers file says.
    Exits 1 naming every recipient refused, deferred or of unknown outcome.

    Example:

    \b
        RECAP_SMTP_PASSWORD=... recap email --week 2026-01-16 --to subscribers.csv
        recap email --week 2026-01-16 --to subscribers.csv --dry-run outbox/
        recap email --week 2026-01-16 --to subscribers.csv --resend-unknown
    """
    from recap.delivery import jobs
    from recap.delivery.email import prepare

    config = load_config(**kwargs)
    now = _now()
    plan = jobs.plan_email(config, subscribers, dry_run=dry_run is not None)
    edition = jobs.obtain_edition(config, week_date, now, needs=jobs.email_needs(config))
    newsletter = prepare(edition, plan.settings)
    run = jobs.send_newsletter(
        config,
        newsletter,
        plan,
        now,
        dry_run=dry_run,
        resend=resend,
        resend_unknown=resend_unknown,
        new_send_log=new_send_log,
    )
    _echo_send(run, edition.week)
    if not run.dry_run and (failure := _send_failure(run.report, run.problems)):
        raise click.ClickException(failure)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("addresses", nargs=-1, metavar="[ADDRESS]...")
@click.option(
    "--from-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Add every address in FILE (one a line, or a CSV with an 'email' column).",
)
@click.option(
    "--token",
    metavar="TOKEN",
    help="An unsubscribe link's token; checked against --email with RECAP_UNSUBSCRIBE_SECRET.",
)
@click.option("--email", "token_email", metavar="ADDRESS", help="The address the token is for.")
@config_option
@store_option
@state_option
@handle_errors
def unsubscribe(
    addresses: tuple[str, ...],
    from_file: Path | None,
    token: str | None,
    token_email: str | None,
    **kwargs: Any,
) -> None:
    """Put addresses on the suppression list: no recap is ever sent to them again.

    The list lives in the store and wins over the subscribers file. Permanent
    refusals (a 5xx to RCPT) are added to it as bounces by `recap email`.

    \b
    With --token and --email, checks the token of an unsubscribe link first (what
    a web form or an ESP webhook behind [email] unsubscribe_url should call):
    the token is an HMAC-SHA256 of the address under RECAP_UNSUBSCRIBE_SECRET,
    compared in constant time; a wrong token records nothing and exits 1.

    Example:

    \b
        recap unsubscribe ann@example.org
        recap unsubscribe --from-file bounces.csv
        recap unsubscribe --token "$TOKEN" --email ann@example.org
    """
    from recap.delivery import jobs

    if (token is None) != (token_email is None):
        raise click.ClickException("--token and --email go together")
    if token is not None and (addresses or from_file):
        raise click.ClickException("--token takes one --email; give other addresses separately")
    if not (addresses or from_file or token):
        raise click.ClickException("name an ADDRESS, --from-file FILE, or --token with --email")
    config = load_config(**kwargs)
    if token is not None and token_email is not None:
        added, known = jobs.unsubscribe_with_token(config, token_email, token)
    else:
        added, known, problems = jobs.unsubscribe_addresses(config, addresses, from_file)
        for problem in problems:
            click.echo(f"skipped {from_file}: {problem}", err=True)
    for address in added:
        click.echo(f"unsubscribed {address}: no recap will be sent to it again")
    for address, reason in known:
        click.echo(f"{address} was already on the suppression list ({reason})")
    if len(added) + len(known) > 1:
        click.echo(f"{len(added)} added, {len(known)} already on the list")


@cli.command(context_settings=CONTEXT_SETTINGS)
@_week_option
@click.option(
    "--site",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The Hugo or Jekyll site folder ([blog] in the config says where things go).",
)
@data_options
@handle_errors
def publish(week_date: dt.date | None, site: Path, **kwargs: Any) -> None:
    """Publish a week's recap to a static site: post, charts, archive index and Atom feed.

    Publishing a week again replaces its post and feed entry. Reuses OUT/<week-end>/
    when it was built, and builds it otherwise.

    Example:

        recap publish --week 2026-01-16 --site ../blog
    """
    from recap.delivery import jobs

    config = load_config(**kwargs)
    edition = jobs.obtain_edition(config, week_date, _now(), needs=jobs.PUBLISH_FILES)
    report = jobs.publish_editions(config, [edition], site)
    click.echo(f"published the week ending {edition.week}: {edition.headline}")
    for path in [*report.posts, report.index, report.feed]:
        click.echo(f"  {path}")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--to",
    "subscribers",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Subscribers CSV (default: [weekly] subscribers; none: no email).",
)
@click.option(
    "--site",
    type=click.Path(file_okay=False, path_type=Path),
    help="Site folder to publish to (default: [weekly] site; none: no publish).",
)
@new_send_log_option
@data_options
@handle_errors
def weekly(subscribers: Path | None, site: Path | None, new_send_log: bool, **kwargs: Any) -> None:
    """Build the latest complete week, publish it, then email it; stop at the first failure.

    The email settings (host, from, unsubscribe, RECAP_SMTP_PASSWORD when a user
    is set, RECAP_UNSUBSCRIBE_SECRET when the unsubscribe URL uses {token}) and the
    subscribers file are checked before anything is built or published. Says what
    it published (post, feed entry) and whom it emailed. A lock in the store keeps
    two runs from overlapping. Meant for cron or a systemd timer on Friday
    evenings after the close.

    Example:

        recap weekly --to subscribers.csv --site ../blog
    """
    from recap.delivery import jobs

    config = load_config(**kwargs)
    run = jobs.run_weekly(
        config, _now(), subscribers=subscribers, site=site, new_send_log=new_send_log
    )
    click.echo(f"week ending {run.week}: {run.headline}")
    failure = _send_failure(run.emailed.report, run.emailed.problems) if run.emailed else ""
    steps = [s for s in run.steps if not (failure and s == "emailed")]
    # "done" only for what went through: a batch that failed is told below, not as done.
    click.echo(f"done: {', '.join(steps)}" + ("; email: not everyone got it" if failure else ""))
    if run.published is not None:
        click.echo(f"published to {run.published.site}:")
        for path in run.published.posts:
            click.echo(f"  post: {path}")
        click.echo(f"  feed entry: {run.feed_entry} in {run.published.feed}")
        click.echo(f"  archive: {run.published.index}")
    if run.emailed is not None:
        _echo_send(run.emailed, run.week)
        if failure:
            raise click.ClickException(failure)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--from", "first", required=True, callback=_date, metavar="DATE", help="First date.")
@click.option("--to", "last", required=True, callback=_date, metavar="DATE", help="Last date.")
@click.option(
    "--publish",
    "site",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="SITE",
    help="Also publish the weeks that built to this site folder.",
)
@click.option(
    "--format",
    "formats",
    default=None,
    help="Comma-separated outputs (default: [backfill] formats).",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
@data_options
@handle_errors
def backfill(
    first: dt.date,
    last: dt.date,
    site: Path | None,
    formats: str | None,
    progress: bool | None,
    **kwargs: Any,
) -> None:
    """Build every trading week whose last session is in [--from, --to].

    The data is loaded once; weeks build in parallel ([backfill] workers). A week
    that fails is reported and the rest go on; exits 1 when any week failed.

    Example:

        recap backfill --from 2025-02-01 --to 2026-01-30 --data-dir ../shared/data/market
    """
    from recap import pipeline
    from recap.backfill import backfill as run_backfill

    config = load_config(**kwargs)
    report = run_backfill(
        config,
        first,
        last,
        _now(),
        site=site,
        formats=pipeline.parse_formats(formats) if formats else None,
        progress=progress,
    )
    built = [r for r in report.results if r.ok]
    for result in report.failed:
        click.echo(f"failed: week ending {result.week_end}: {result.error}", err=True)
    per_week = report.seconds / len(report.results) if report.results else 0.0
    click.echo(
        f"built {len(built)} of {len(report.results)} weeks into {config.out_dir} "
        f"in {report.seconds:.1f} s ({per_week:.2f} s a week)"
    )
    if report.published:
        click.echo(f"published {len(report.published)} weeks to {site}")
    if report.publish_error:
        click.echo(f"publish failed: {report.publish_error}", err=True)
    if not report.ok:
        raise click.ClickException(
            f"{len(report.failed)} week(s) failed"
            + ("; publish failed" if report.publish_error else "")
        )
