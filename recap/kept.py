"""Where this process keeps, between runs, what it derives from files that rarely change:
compiled templates (render.py) and the NYSE calendar (weeks.py).

The CLI sets the folder once, from [paths] cache_dir, before anything is built. Unset
(tests, library use), nothing is kept beyond the process. Whatever is kept is checked
against what it came from and rebuilt when it cannot be used: a folder that cannot be
read or written costs time, never a build.
"""

from __future__ import annotations

from pathlib import Path

_FOLDER: list[Path] = []


def keep_in(folder: Path) -> None:
    """Keep derived files under ``folder`` from now on (the first call wins)."""
    if not _FOLDER:
        _FOLDER.append(folder)


def folder(name: str) -> Path | None:
    """The subfolder ``name`` of the kept folder, or None when nothing is kept."""
    return _FOLDER[0] / name if _FOLDER else None
