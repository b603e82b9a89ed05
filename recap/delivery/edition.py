"""A built week as delivery sees it: recap.json's facts plus the files to send or publish.

Delivery never recomputes anything: it reads what ``recap build`` wrote (``output.read_week``
or a BuiltWeek's files) and refuses a week built from sample data or from stale data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recap.errors import DeliveryError


@dataclass(frozen=True)
class Edition:
    """One week's recap, ready to deliver."""

    week_start: dt.date
    week_end: dt.date
    headline: str
    dek: str
    source: str
    last_bar: dt.date
    is_sample: bool
    facts: Mapping[str, Any]
    files: Mapping[str, bytes]

    @property
    def week(self) -> str:
        """The week's key: its last session, YYYY-MM-DD (the output folder's name)."""
        return self.week_end.isoformat()

    @property
    def charts(self) -> dict[str, bytes]:
        """Chart PNGs by name ('indexes' for charts/indexes.png)."""
        return {
            name[len("charts/") : -len(".png")]: data
            for name, data in self.files.items()
            if name.startswith("charts/") and name.endswith(".png")
        }

    @property
    def email_images(self) -> dict[str, bytes]:
        """The email's chart PNGs by name: email/<name>.png (drawn for a phone's width),
        else charts/<name>.png for a week built before those were."""
        images = self.charts
        images.update(
            (name[len("email/") : -len(".png")], data)
            for name, data in self.files.items()
            if name.startswith("email/") and name.endswith(".png")
        )
        return images

    def text(self, name: str) -> str:
        """A text file of the week, decoded; DeliveryError when the build did not make it."""
        return self.require(name).decode("utf-8")

    def require(self, name: str) -> bytes:
        """A file of the week; DeliveryError naming it when it is missing."""
        data = self.files.get(name)
        if data is None:
            raise DeliveryError(
                f"the week ending {self.week} has no {name}; rebuild it with "
                f"`recap build --week {self.week}` (all formats)"
            )
        return data


def _date(facts: Mapping[str, Any], *keys: str) -> dt.date:
    value: Any = facts
    for key in keys:
        value = value[key]
    return dt.date.fromisoformat(str(value))


def load_edition(files: Mapping[str, bytes]) -> Edition:
    """An Edition from a week's files (recap.json must be among them)."""
    raw = files.get("recap.json")
    if raw is None:
        raise DeliveryError("the built week has no recap.json")
    try:
        facts = json.loads(raw)
        data = facts["data"]
        return Edition(
            week_start=_date(facts, "week", "start"),
            week_end=_date(facts, "week", "end"),
            headline=str(facts["headline"]),
            dek=str(facts.get("dek", "")),
            source=str(data["source"]),
            last_bar=_date(facts, "data", "last_bar"),
            is_sample=bool(data.get("is_sample", data["source"] == "sample")),
            facts=facts,
            files=dict(files),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise DeliveryError(f"recap.json is not a recap this version can deliver ({e!r})") from None


def check_deliverable(edition: Edition, action: str) -> None:
    """Refuse sample data and data older than the week, naming what to do instead."""
    if edition.is_sample or edition.source == "sample":
        raise DeliveryError(
            f"refusing to {action} the week ending {edition.week}: it was built from "
            "generated SAMPLE data, not market data. Rebuild it from Yahoo or a snapshot "
            "(--data-dir) first."
        )
    if edition.last_bar < edition.week_end:
        raise DeliveryError(
            f"refusing to {action} the week ending {edition.week}: its data ends "
            f"{edition.last_bar.isoformat()}, before the week's last session. Rebuild it "
            "once the closing prices are in."
        )
    if not edition.headline.strip():
        raise DeliveryError(f"refusing to {action} the week ending {edition.week}: no headline")


__all__ = ["Edition", "check_deliverable", "load_edition"]
