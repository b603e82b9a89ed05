"""The `recap` command line: a thin layer over pipeline.py.

Only this module turns RecapError into a message and an exit code (1).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from recap.config import RecapConfig, read_config
from recap.errors import RecapError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads market data shares."""
    options = [
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Read prices from a snapshot folder instead of Yahoo Finance.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A TOML file overriding the shipped defaults (default: ./recap.toml).",
        ),
        click.option(
            "--store",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The SQLite store (default: .cache/recap.sqlite).",
        ),
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
        k: kwargs.get(k) for k in ("data_dir", "store", "out_dir", "templates_dir") if kwargs.get(k)
    }
    return read_config(kwargs.get("config_path"), overrides)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn RecapError into a one-line message and exit code 1; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RecapError as e:
            raise click.ClickException(str(e)) from None

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
    """Build a week's recap into OUT/<last-session-date>/.

    Example:

        recap build --week 2026-01-16 --data-dir ../shared/data/market --format html,pdf
    """
    from recap import output, pipeline

    config = load_config(**kwargs)
    built = pipeline.build_with_fallback(
        config, week_date=week_date, now=_now(), formats=pipeline.parse_formats(formats)
    )
    folder = output.write_week(config.out_dir, built.recap.week.end, built.files)
    recap = built.recap
    if recap.data.is_sample:
        click.echo("SAMPLE DATA, NOT MARKET DATA: this report was built from generated prices.")
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
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file overriding the shipped defaults.",
)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SQLite store (default: .cache/recap.sqlite).",
)
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
    folder, count = pipeline.save_snapshot(config, start, end, snapshot_out, _now())
    click.echo(f"saved {count} tickers from {start} to {end} into {folder}")
