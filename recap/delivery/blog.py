"""Blog publishing: a Markdown post per week for Hugo or Jekyll, and a static archive.

For each week, inside the site folder (paths from [blog]):

    <content_dir>/<week>-weekly-recap.md   the post: front matter + Markdown
    <media_dir>/<week>/<chart>.png         its chart images
    <archive_dir>/<week>/                  recap.html, recap.pdf, recap.json, charts/
    <archive_dir>/index.html               every published week, newest first
    <archive_dir>/feed.xml                 Atom feed (feedgen), one entry per week

The archive is rebuilt from the week folders it holds, so publishing a week again replaces
its post and feed entry and never duplicates them. Everything is rendered in memory, then
written into a staging folder inside the site (``.recap-publish-<pid>-<id>``) and renamed
into place; if any rename fails, the ones done are undone, so a failed publish leaves the
site as it was. Before the first rename the staging folder gets a journal of the moves;
a publish killed part-way is completed by the next one (a staging folder without a
journal was killed before anything moved, and is removed).

A publish holds a lock on the site folder itself (``flock`` on the directory) from reading
the archive to the last rename: two runs into one site, whatever store or state each
uses, cannot both build an index from the archive they read and drop each other's week.
The second is refused at once. The index and feed are built from the site's own archive.

A file or folder already at one of those paths that recap did not write (a hand-written
page, another tool's feed) is never replaced: the publish is refused, naming it. What
recap writes is recognised by its content (``not_written_by_recap``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from recap import layout
from recap.config import RecapConfig
from recap.delivery.edition import Edition, check_deliverable, load_edition
from recap.delivery.ledger import DeliveryLog
from recap.errors import DeliveryError, LockError
from recap.output import process_alive
from recap.pauses import pause_at
from recap.render import render_template

logger = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")
POST_SUFFIX = "-weekly-recap.md"
ARCHIVE_FILES = ("recap.html", "recap.pdf", "recap.json")
_WEEK_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class BlogSettings:
    """The validated [blog] table, plus the report's title and publisher, and the templates."""

    base_url: str
    content_dir: str
    media_dir: str
    media_url: str
    archive_dir: str
    archive_url: str
    tags: tuple[str, ...]
    feed_entries: int
    title: str
    publisher: str
    tagline: str
    templates_dir: Path

    @classmethod
    def from_config(cls, config: RecapConfig) -> BlogSettings:
        """[blog] with its URLs in the form the post and the feed use."""
        b, report = config.blog, config.report  # typed when the config loaded
        return cls(
            base_url=b.base_url.rstrip("/"),
            content_dir=b.content_dir,
            media_dir=b.media_dir,
            media_url="/" + b.media_url.strip("/"),
            archive_dir=b.archive_dir,
            archive_url="/" + b.archive_url.strip("/"),
            tags=b.tags,
            feed_entries=b.feed_entries,
            title=report.title,
            publisher=report.publisher,
            tagline=report.tagline,
            templates_dir=config.templates_dir,
        )


@dataclass(frozen=True)
class ArchiveEntry:
    """One published week as the index and the feed list it."""

    week_start: dt.date
    week_end: dt.date
    headline: str
    dek: str
    has_pdf: bool

    @property
    def week(self) -> str:
        """The week's key, YYYY-MM-DD of its last session."""
        return self.week_end.isoformat()


@dataclass
class PublishReport:
    """What a publish wrote."""

    site: Path
    weeks: list[str] = field(default_factory=list)
    posts: list[Path] = field(default_factory=list)
    index: Path | None = None
    feed: Path | None = None


def post_date(week_end: dt.date) -> dt.datetime:
    """The post's date: the close (16:00 New York) of the week's last session."""
    return dt.datetime.combine(week_end, dt.time(16, 0), NEW_YORK)


def post_name(week: str) -> str:
    """The post's file name (Jekyll's _posts/YYYY-MM-DD-title.md form, fine for Hugo)."""
    return f"{week}{POST_SUFFIX}"


@dataclass(frozen=True)
class PostPart:
    """One section of the post: the page's name for it, its paragraphs, its charts."""

    section: str
    paragraphs: tuple[str, ...]
    charts: tuple[tuple[str, str], ...] = ()  # (name, alt text), in the page's order
    empty: str = ""  # the line the page shows when the section has nothing this week
    key: str = ""  # the section's key in recap/layout.py ("banks", "ahead", ...)


def post_parts(facts: Mapping[str, Any], charts: Mapping[str, str]) -> tuple[PostPart, ...]:
    """The page's sections (recap/layout.py) with the week's paragraphs and the charts
    drawn (``charts``: name -> alt text), so the post tells the page's story in its order."""
    paragraphs = [str(p) for p in facts.get("narrative") or []]
    keys = [str(s) for s in facts.get("narrative_sections") or []]
    keys += [""] * (len(paragraphs) - len(keys))
    sections = layout.shown(
        beyond=bool(facts.get("markets")),
        risks=bool(facts.get("risks")),
        week_ahead=bool(facts.get("week_ahead")),
        conclusion="conclusion" in keys,
    )
    pairs = list(zip(paragraphs, keys, strict=False))
    parts = [
        PostPart(
            section=s.title,
            paragraphs=tuple(p for p, k in pairs if k in s.parts),
            charts=tuple((name, charts[name]) for name in s.charts if name in charts),
            empty=s.empty,
            key=s.key,
        )
        for s in sections
    ]
    # A paragraph of no section shown still reads, first and without a heading.
    shown_keys = {k for s in sections for k in s.parts}
    loose = tuple(p for p, k in pairs if k not in shown_keys)
    return ((PostPart("", loose),) if loose else ()) + tuple(parts)


def chart_alts(edition: Edition) -> dict[str, str]:
    """Each chart PNG's alt text from charts/charts.json (the page's), else its title case
    name for a week built before that file was."""
    raw = edition.files.get("charts/charts.json")
    known = {}
    if raw:
        try:
            known = {str(r["name"]): str(r["alt"]) for r in json.loads(raw)}
        except (ValueError, KeyError, TypeError) as e:
            raise DeliveryError(f"charts/charts.json of the week {edition.week}: {e}") from None
    return {name: known.get(name, f"{name.replace('-', ' ')} chart") for name in edition.charts}


def _market_row(row: dict[str, Any]) -> dict[str, Any]:
    """A "Beyond stocks" row of recap.json, its dates read back as dates."""
    out = dict(row)
    for key in ("as_of", "base_date", "roll_on"):
        if out.get(key):
            out[key] = dt.date.fromisoformat(str(out[key]))
    return out


def render_post(edition: Edition, settings: BlogSettings) -> str:
    """The week's post (templates/blog/post.md.j2): YAML front matter, then Markdown."""
    week, facts = edition.week, edition.facts
    media = f"{settings.media_url}/{week}"
    charts = chart_alts(edition)
    parts = post_parts(facts, charts)
    placed = {name for p in parts for name, _ in p.charts}
    indexes = [
        {
            "label": str(row.get("label") or row.get("name", "")),
            "close": row.get("close"),
            "week_return": row.get("week_return"),
            "ytd_return": row.get("ytd_return"),
        }
        for row in facts.get("indexes") or []
    ]
    markets = [_market_row(row) for row in facts.get("markets") or []]
    return render_template(
        settings.templates_dir,
        "blog/post.md.j2",
        edition=edition,
        settings=settings,
        date=post_date(edition.week_end).isoformat(),
        images=[f"{media}/{name}.png" for p in parts for name, _ in p.charts],
        indexes=indexes,
        markets=markets,
        market_facts=facts.get("market_facts"),
        banks=list((facts.get("banks") or {}).get("reported") or []),
        ahead=list((facts.get("week_ahead") or {}).get("earnings") or []),
        parts=parts,
        other_charts=[(c, alt) for c, alt in sorted(charts.items()) if c not in placed],
        media=media,
        archive=f"{settings.archive_url}/{week}",
        has_pdf="recap.pdf" in edition.files,
    )


def archive_entry(edition: Edition) -> ArchiveEntry:
    """How the archive lists a week about to be published."""
    return ArchiveEntry(
        week_start=edition.week_start,
        week_end=edition.week_end,
        headline=edition.headline,
        dek=edition.dek,
        has_pdf="recap.pdf" in edition.files,
    )


def read_archive(archive: Path) -> dict[str, ArchiveEntry]:
    """The weeks already in an archive folder, from each <week>/recap.json."""
    out: dict[str, ArchiveEntry] = {}
    if not archive.is_dir():
        return out
    for folder in sorted(archive.iterdir()):
        facts = folder / "recap.json"
        if not (_WEEK_DIR.match(folder.name) and facts.is_file()):
            continue
        try:
            edition = load_edition({"recap.json": facts.read_bytes()})
        except (DeliveryError, OSError) as e:
            logger.warning("skipping %s in the archive: %s", folder, e)
            continue
        out[edition.week] = ArchiveEntry(
            week_start=edition.week_start,
            week_end=edition.week_end,
            headline=edition.headline,
            dek=edition.dek,
            has_pdf=(folder / "recap.pdf").is_file(),
        )
    return out


def render_index(entries: Sequence[ArchiveEntry], settings: BlogSettings) -> str:
    """The archive's index.html (templates/blog/index.html.j2): self-contained, newest first."""
    return render_template(
        settings.templates_dir,
        "blog/index.html.j2",
        entries=sorted(entries, key=lambda x: x.week_end, reverse=True),
        settings=settings,
    )


def entry_url(settings: BlogSettings, week: str) -> str:
    """A week's link in the feed, which is also its Atom entry id."""
    return f"{settings.base_url}{settings.archive_url}/{week}/recap.html"


def render_feed(entries: Sequence[ArchiveEntry], settings: BlogSettings) -> bytes:
    """The Atom feed: the newest ``feed_entries`` weeks, each with its summary and link."""
    from feedgen.feed import FeedGenerator

    newest = sorted(entries, key=lambda x: x.week_end, reverse=True)[: settings.feed_entries]
    root = f"{settings.base_url}{settings.archive_url}"
    fg = FeedGenerator()
    fg.id(f"{root}/")
    fg.title(settings.title)
    fg.subtitle(settings.tagline or settings.title)
    fg.author({"name": settings.publisher})
    fg.link(href=f"{root}/feed.xml", rel="self", type="application/atom+xml")
    fg.link(href=f"{root}/", rel="alternate", type="text/html")
    fg.language("en")
    fg.updated(post_date(newest[0].week_end) if newest else post_date(dt.date(2000, 1, 3)))
    for entry in newest:
        fe = fg.add_entry(order="append")
        url = entry_url(settings, entry.week)
        fe.id(url)
        fe.title(entry.headline)
        fe.summary(entry.dek or entry.headline)
        fe.link(href=url, rel="alternate", type="text/html")
        fe.published(post_date(entry.week_end))
        fe.updated(post_date(entry.week_end))
    return bytes(fg.atom_str(pretty=True))


_STAGING = re.compile(r"^\.recap-publish-(?:(?P<pid>\d+)-)?\w+$")
JOURNAL = "journal.json"


def _move_in(staged: Path, target: Path, backup: Path, site: Path) -> None:
    """One move of a commit: the old target aside to ``backup``, the staged copy in."""
    for parent in reversed(target.parents):
        if parent != site and site in parent.parents and not parent.exists():
            parent.mkdir()
    if target.exists() or target.is_symlink():
        if backup.exists():
            _remove(target)
        else:
            os.rename(target, backup)
    os.rename(staged, target)


def recover_site(site: Path) -> list[str]:
    """Finish or clear the publishes killed part-way in ``site``; returns what was done.

    A staging folder with a journal was killed while renaming into place: its remaining
    moves are made, so the half-published weeks are published whole. Without a journal
    nothing had moved yet, and the folder is removed. Folders of a live process are left.
    """
    done: list[str] = []
    if not site.is_dir():
        return done
    for tmp in sorted(site.iterdir(), key=lambda p: p.name):
        match = _STAGING.match(tmp.name)
        if not match or not tmp.is_dir() or (match["pid"] and process_alive(int(match["pid"]))):
            continue
        journal = tmp / JOURNAL
        try:
            if journal.is_file():
                moves = json.loads(journal.read_text(encoding="utf-8"))["moves"]
                for i, (staged, rel) in enumerate(moves):
                    if (tmp / staged).exists():
                        _move_in(tmp / staged, site / rel, tmp / f"old{i}", site)
                done.append(f"completed a publish that was stopped part-way ({tmp.name})")
            else:
                done.append(f"removed {tmp.name}, left by a publish that never started moving")
            shutil.rmtree(tmp)
        except (OSError, ValueError, KeyError) as e:
            raise DeliveryError(
                f"cannot finish the interrupted publish in {tmp}: {e}; the site needs a look"
            ) from None
    for line in done:
        logger.warning("%s: %s", site, line)
    return done


class _SiteWrite:
    """Stage files and folders inside the site, then rename them all into place or none."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self.tmp = Path(tempfile.mkdtemp(prefix=f".recap-publish-{os.getpid()}-", dir=site))
        self._staged: list[tuple[Path, Path]] = []

    def file(self, rel: str, data: bytes) -> Path:
        staged = self.tmp / f"s{len(self._staged)}"
        staged.write_bytes(data)
        staged.chmod(0o644)
        target = self.site / rel
        self._staged.append((staged, target))
        return target

    def folder(self, rel: str, files: Mapping[str, bytes]) -> Path:
        staged = self.tmp / f"s{len(self._staged)}"
        for name, data in files.items():
            path = staged / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        staged.mkdir(exist_ok=True)
        staged.chmod(0o755)
        target = self.site / rel
        self._staged.append((staged, target))
        return target

    def commit(self) -> None:
        moves = [[s.name, str(t.relative_to(self.site))] for s, t in self._staged]
        journal = self.tmp / JOURNAL
        journal.with_suffix(".tmp").write_text(json.dumps({"moves": moves}), encoding="utf-8")
        os.rename(journal.with_suffix(".tmp"), journal)
        pause_at("publish-staged")
        done: list[tuple[Path, Path | None]] = []
        made: list[Path] = []
        try:
            for i, (staged, target) in enumerate(self._staged):
                if i == 1:
                    pause_at("publish-commit")  # the dangerous moment: one move made
                for parent in reversed(target.parents):
                    if parent != self.site and self.site in parent.parents and not parent.exists():
                        parent.mkdir()
                        made.append(parent)
                backup = None
                if target.exists():
                    backup = self.tmp / f"old{i}"
                    os.rename(target, backup)
                done.append((target, backup))
                os.rename(staged, target)
        except OSError:
            # Undone, not to be completed by a later publish: the journal goes first.
            journal.unlink(missing_ok=True)
            for target, backup in reversed(done):
                if backup is None or target.exists():
                    _remove(target)
                if backup is not None:
                    os.rename(backup, target)
            for parent in reversed(made):
                if parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
            raise

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _head(path: Path, size: int = 4096) -> str:
    with path.open("rb") as fh:
        return fh.read(size).decode("utf-8", "replace")


def not_written_by_recap(path: Path, kind: str) -> bool:
    """Whether ``path`` exists but is not what recap writes there (``kind``: post, media,
    archive, index or feed): a post with recap's week_start/week_end front matter, a
    media folder of PNGs, an archive folder with recap.json, recap's archive page, a
    feed made by feedgen."""
    if not (path.exists() or path.is_symlink()):
        return False
    try:
        if kind == "media":
            return not path.is_dir() or any(p.suffix != ".png" for p in path.iterdir())
        if kind == "archive":  # an empty folder holds nothing to lose
            return not path.is_dir() or (
                any(path.iterdir()) and not (path / "recap.json").is_file()
            )
        if not path.is_file():
            return True
        head = _head(path)
        if kind == "post":
            return not (
                head.startswith("---") and "\nweek_start: " in head and "\nweek_end: " in head
            )
        if kind == "index":
            return not (": archive</title>" in head and 'href="feed.xml"' in head)
        return "python-feedgen" not in head  # feed
    except OSError:
        return True


@contextmanager
def site_lock(site: Path) -> Iterator[None]:
    """Hold the site's publish lock for the ``with`` block; LockError at once if another
    run holds it. A lock on the folder itself: no file is left in the site."""
    try:
        fd = os.open(site, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise DeliveryError(f"cannot open the site folder {site}: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockError(
                f"another recap run is publishing into {site}; run this again when it ends"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def publish(
    editions: Sequence[Edition],
    site: Path,
    settings: BlogSettings,
    *,
    log: DeliveryLog | None = None,
) -> PublishReport:
    """Publish ``editions`` into ``site``: posts, charts, archive, index and feed, atomically."""
    if not editions:
        raise DeliveryError("nothing to publish")
    for edition in editions:
        check_deliverable(edition, "publish")
    if not site.is_dir():
        raise DeliveryError(f"the site folder {site} does not exist (create the site first)")
    with site_lock(site):
        return _publish_locked(editions, site, settings, log)


def _publish_locked(
    editions: Sequence[Edition], site: Path, settings: BlogSettings, log: DeliveryLog | None
) -> PublishReport:
    recover_site(site)
    archive_rel = settings.archive_dir
    targets = [(f"{archive_rel}/index.html", "index"), (f"{archive_rel}/feed.xml", "feed")]
    for e in editions:
        targets += [
            (f"{settings.content_dir}/{post_name(e.week)}", "post"),
            (f"{settings.media_dir}/{e.week}", "media"),
            (f"{archive_rel}/{e.week}", "archive"),
        ]
    for rel, kind in targets:
        if not_written_by_recap(site / rel, kind):
            raise DeliveryError(
                f"{site / rel} is already there and recap did not write it (a hand-written "
                "page?); nothing was published. Move it, or point [blog] at other folders"
            )
    entries = read_archive(site / archive_rel)
    posts = {e.week: (e, render_post(e, settings)) for e in editions}
    for edition in editions:
        entries[edition.week] = archive_entry(edition)
    index = render_index(list(entries.values()), settings)
    feed = render_feed(list(entries.values()), settings)
    report = PublishReport(site=site)
    try:
        write = _SiteWrite(site)
    except OSError as e:
        raise DeliveryError(f"cannot write into the site folder {site}: {e.strerror}") from None
    try:
        for week, (edition, text) in sorted(posts.items()):
            report.posts.append(
                write.file(f"{settings.content_dir}/{post_name(week)}", text.encode())
            )
            charts = {f"{name}.png": png for name, png in edition.charts.items()}
            write.folder(f"{settings.media_dir}/{week}", charts)
            kept = {
                name: data
                for name, data in edition.files.items()
                if name in ARCHIVE_FILES or name.startswith("charts/")
            }
            write.folder(f"{archive_rel}/{week}", kept)
            report.weeks.append(week)
        report.index = write.file(f"{archive_rel}/index.html", index.encode())
        report.feed = write.file(f"{archive_rel}/feed.xml", feed)
        write.commit()
    except OSError as e:
        raise DeliveryError(
            f"publishing into {site} failed ({e.strerror or e}); the site was left as it was"
        ) from None
    finally:
        write.cleanup()
    if log is not None:
        for week, path in zip(report.weeks, report.posts, strict=True):
            log.record_publish(str(site.resolve()), week, posts[week][0].headline, str(path))
    logger.info("published %s into %s", ", ".join(report.weeks), site)
    return report


__all__ = [
    "ArchiveEntry",
    "archive_entry",
    "BlogSettings",
    "entry_url",
    "PostPart",
    "PublishReport",
    "post_date",
    "post_name",
    "post_parts",
    "publish",
    "read_archive",
    "recover_site",
    "render_feed",
    "render_index",
    "render_post",
    "not_written_by_recap",
    "site_lock",
]
