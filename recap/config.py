"""RecapConfig: the shipped defaults, an optional TOML file on top, CLI overrides last.

The merged file is converted into typed, frozen records (``recap.settings``) in one step
when it loads: an unknown key, a wrong type or a value out of range is a ConfigError
naming the file, the key and what was expected, before any data is fetched. Every
other module reads ``config.email.port``, never a raw table.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from recap.errors import ConfigError
from recap.events import read_events_csv
from recap.model import CalendarEvent
from recap.settings import (
    PATTERN_MEANING,
    TICKER_PATTERN,
    IndexSpec,
    Settings,
    Ticker,
    parse_split,
)

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.toml")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATES_DIR = PROJECT_ROOT / "templates"
LOCAL_CONFIG_NAME = "recap.toml"

__all__ = ["IndexSpec", "RecapConfig", "read_config"]


class RecapConfig(Settings, frozen=True, kw_only=True):
    """The validated configuration of one run: every section of ``Settings``, typed, and
    the paths resolved against the working folder and the command line."""

    out_dir: Path
    cache_dir: Path
    store_path: Path
    state_path: Path
    templates_dir: Path
    data_dir: Path | None
    sources: tuple[str, ...]
    events: tuple[CalendarEvent, ...] = ()  # [calendar] events_file, read and checked

    @property
    def accept(self) -> frozenset[tuple[str, dt.date | None]]:
        """[data] accept: (ticker, date) pairs whose price flags are accepted (None: all)."""
        return self.data.accepted

    def index_by_role(self, role: str) -> IndexSpec | None:
        """The index playing ``role`` ('large' or 'small'), if configured."""
        return next((i for i in self.indexes if i.role == role), None)

    def name_of(self, ticker: str) -> str:
        """A company or fund's display name from [names]; the ticker without one."""
        return self.names.get(ticker, ticker)


# What msgspec's type names mean in a config file.
_EXPECTED = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": "an array",
    "object": "a table",
}
_NUMBER = {"int": "whole number", "float": "number"}
_MESSAGE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _key(path: str) -> str:
    """'$.email.port' -> 'email.port'; '$.indexes[0].name' -> 'indexes[0].name'."""
    return path.removeprefix(".").replace("[...]", "")


def _lookup(data: Any, path: str) -> Any:
    """The value at a msgspec error path in the merged tables (missing: None)."""
    for token in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        name, index = token
        try:
            data = data[int(index)] if index else data[name]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _allowed(path: str) -> tuple[Any, ...]:
    """The values a Literal key takes, found by walking Settings along the error path."""
    info: Any = msgspec.inspect.type_info(Settings)
    for name, _index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        if name and isinstance(info, msgspec.inspect.StructType):
            info = next((f.type for f in info.fields if f.encode_name == name), None)
        elif not name and hasattr(info, "item_type"):
            info = info.item_type
    return tuple(info.values) if isinstance(info, msgspec.inspect.LiteralType) else ()


def _type_name(value: Any) -> str:
    return {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _explain(
    error: msgspec.ValidationError, merged: Mapping[str, Any], where: str, prefix: str = ""
) -> str:
    """msgspec's message, reworded for a person editing a TOML file."""
    m = _MESSAGE.match(str(error))
    what, path = (m.group("what"), m.group("path") or "") if m else (str(error), "")
    key = _key(path)
    if prefix:  # an entry checked on its own: its path is relative to the entry
        key = prefix + key
        path = ".x" + path
    if unknown := re.match(r"Object contains unknown field `(.+)`", what):
        full = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
        return f"{where}: unknown key '{full}'"
    if missing := re.match(r"Object missing required field `(.+)`", what):
        full = f"{key}.{missing.group(1)}" if key else missing.group(1)
        return f"{where}: key '{full}' is required"
    value = _lookup(merged, path)
    got = f", got {value!r}" if value is not None else ""
    if bounded := re.match(r"Expected `(int|float)` (.+)", what):
        return f"{where}: key '{key}' must be a {_NUMBER[bounded.group(1)]} {bounded.group(2)}{got}"
    if "matching regex" in what:  # msgspec quotes the pattern with repr()
        meaning = next((m for p, m in PATTERN_MEANING.items() if repr(p) in what), "valid")
        return f"{where}: key '{key}' must be {meaning}{got}"
    if "of length" in what:
        return f"{where}: key '{key}' must not be empty"
    if "enum value" in what:
        allowed = " or ".join(repr(v) for v in sorted(_allowed(path))) or "another value"
        return f"{where}: key '{key}' must be one of {allowed}{got}"
    if "RFC3339" in what:
        return f"{where}: key '{key}' must be a date (YYYY-MM-DD){got}"
    if typed := re.match(r"Expected `(\w+)`", what):
        expected = _EXPECTED.get(typed.group(1), typed.group(1))
        kind = f" ({_type_name(value)})" if value is not None else ""
        return f"{where}: key '{key}' must be {expected}{got}{kind}"
    return f"{where}: key '{key}': {what}"


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {e.start}: {e.reason})"
        ) from None
    except RecursionError:
        raise ConfigError(
            f"config file {path} nests arrays or tables too deeply to be a recap config"
        ) from None
    except OSError as e:
        raise ConfigError(f"config file {path} cannot be read: {e.strerror}") from None


def _path(value: str, base: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def read_config(
    path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
) -> RecapConfig:
    """Load defaults, then ``path`` (or ./recap.toml when present), then ``overrides``.

    ``overrides`` takes out_dir, store, state, templates_dir, data_dir, cache_dir (paths).
    Relative paths in config files resolve against ``cwd``.
    """
    base_dir = cwd or Path.cwd()
    merged = _load_toml(DEFAULT_CONFIG_PATH)
    sources = [str(DEFAULT_CONFIG_PATH)]
    if path is None and (base_dir / LOCAL_CONFIG_NAME).is_file():
        path = base_dir / LOCAL_CONFIG_NAME
    if path is not None:
        merged = _merge(merged, _load_toml(path))
        sources.append(str(path))
    where = sources[-1]
    _check_open_tables(merged, where)
    try:
        settings = msgspec.convert(merged, Settings)
    except msgspec.ValidationError as e:
        raise ConfigError(_explain(e, merged, where)) from None
    _check_across(settings, where)
    return _build(settings, merged, tuple(sources), dict(overrides or {}), base_dir)


def _check_open_tables(merged: Mapping[str, Any], where: str) -> None:
    """[watchlists] and [names] take any key: check each entry so errors can name it."""
    shapes: dict[str, Any] = {"watchlists": tuple[Ticker, ...], "names": str}
    for table, shape in shapes.items():
        entries = merged.get(table)
        if not isinstance(entries, Mapping):
            continue
        for name, value in entries.items():
            try:
                msgspec.convert(value, shape)
            except msgspec.ValidationError as e:
                raise ConfigError(_explain(e, {"x": value}, where, f"{table}.{name}")) from None


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_across(s: Settings, where: str) -> None:
    """Rules that tie one key to another, which the types alone cannot say."""
    if not s.indexes:
        raise ConfigError(f"{where}: key 'indexes' must list at least one index")
    roles = [i.role for i in s.indexes if i.role]
    for role in set(roles):
        if roles.count(role) > 1:
            raise ConfigError(f"{where}: key 'indexes' gives role '{role}' to more than one index")
    for key, name in (("banks.watchlist", s.banks.watchlist), ("risks.basket", s.risks.basket)):
        if name and name not in s.watchlists:
            known = ", ".join(repr(w) for w in s.watchlists) or "none"
            raise ConfigError(
                f"{where}: key '{key}' names the watchlist {name!r}, which [watchlists] "
                f"does not have (it has: {known})"
            )
    c = s.contribution
    if c.weights and (not c.weights_source.strip() or c.weights_as_of is None):
        raise ConfigError(
            f"{where}: key 'contribution.weights' needs 'contribution.weights_source' and "
            "'contribution.weights_as_of' (where the weights come from, and when)"
        )
    if sum(w.weight for w in c.weights) > 1.0001:
        raise ConfigError(f"{where}: key 'contribution.weights': the weights add up to more than 1")
    for i, entry in enumerate(s.data.accept):
        ticker, colon, day = entry.partition(":")
        if not re.fullmatch(TICKER_PATTERN, ticker) or (colon and not _is_date(day)):
            raise ConfigError(
                f"{where}: key 'data.accept[{i}]' must be \"TICKER:YYYY-MM-DD\" or "
                f'"TICKER", got {entry!r}'
            )
    for i, entry in enumerate(s.data.splits):
        if parse_split(entry) is None:
            raise ConfigError(
                f"{where}: key 'data.splits[{i}]' must be \"TICKER:YYYY-MM-DD:RATIO\" with the "
                'new shares per old share, e.g. "KLAC:2026-06-05:10" or "XYZ:2026-03-02:1/5", '
                f"got {entry!r}"
            )
    for key in ("from_name", "sender", "reply_to", "subject"):
        if re.search(r"[\r\n]", getattr(s.email, key)):
            name = "from" if key == "sender" else key
            raise ConfigError(f"{where}: key 'email.{name}' must be one line (no CR or LF)")


STATE_FILE = Path("recap") / "delivery.sqlite"


def state_home(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME, or ~/.local/state (the XDG default; a relative value is ignored)."""
    value = (os.environ if environ is None else environ).get("XDG_STATE_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path("~/.local/state").expanduser()


def _state_path(value: str, where: str, over: Path | None) -> Path:
    """The delivery state file: never relative to the folder recap runs from."""
    if over is not None:
        return over if over.is_absolute() else Path.cwd() / over
    if not value:
        return state_home() / STATE_FILE
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ConfigError(
            f"{where}: key 'paths.state' must be an absolute path (or start with ~), got "
            f"{value!r}: the send log must not depend on the folder recap runs from"
        )
    return path


def _build(
    s: Settings,
    merged: dict[str, Any],
    sources: tuple[str, ...],
    over: dict[str, Any],
    base_dir: Path,
) -> RecapConfig:
    paths = s.paths
    cache_dir = _path(over.get("cache_dir") or paths.cache_dir, base_dir)
    templates = over.get("templates_dir") or paths.templates_dir
    templates_dir = _path(templates, base_dir) if templates else DEFAULT_TEMPLATES_DIR
    if not templates_dir.is_dir():
        raise ConfigError(f"templates folder {templates_dir} does not exist")
    data_dir = over.get("data_dir")
    events_file = s.calendar.events_file
    events = read_events_csv(_path(events_file, base_dir)) if events_file else ()
    return RecapConfig(
        **msgspec.structs.asdict(s),
        out_dir=_path(str(over.get("out_dir") or paths.out_dir), base_dir),
        cache_dir=cache_dir,
        store_path=_path(str(over.get("store") or paths.store), base_dir),
        state_path=_state_path(
            paths.state, sources[-1], Path(over["state"]) if over.get("state") else None
        ),
        templates_dir=templates_dir,
        data_dir=_path(str(data_dir), base_dir) if data_dir else None,
        sources=sources,
        events=events,
    )
