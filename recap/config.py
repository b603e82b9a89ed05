"""RecapConfig: the shipped defaults, an optional TOML file on top, CLI overrides last.

A user file is checked against the shape of ``default.toml``: an unknown key or a value
of the wrong type is a ConfigError naming the file, the key and what was expected.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recap.errors import ConfigError

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.toml")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATES_DIR = PROJECT_ROOT / "templates"
LOCAL_CONFIG_NAME = "recap.toml"
# Tables whose keys are the user's own names (watchlists): any key is allowed.
OPEN_TABLES = frozenset({"watchlists", "names"})
PAGE_SIZES = ("Letter", "A4")


@dataclass(frozen=True)
class IndexSpec:
    """An index by its Yahoo symbol, with the ETF that stands in where needed."""

    name: str
    symbol: str
    proxy: str
    proxy_name: str
    role: str  # "large", "small" or ""


@dataclass(frozen=True)
class RecapConfig:
    """The validated configuration of one run."""

    indexes: tuple[IndexSpec, ...]
    out_dir: Path
    cache_dir: Path
    store_path: Path
    templates_dir: Path
    data_dir: Path | None
    sources: tuple[str, ...]
    raw: Mapping[str, Any] = field(repr=False)

    def section(self, name: str) -> Mapping[str, Any]:
        """One top-level table of the merged config (e.g. 'email', 'report')."""
        value = self.raw.get(name, {})
        return value if isinstance(value, Mapping) else {}

    @property
    def report(self) -> Mapping[str, Any]:
        """The [report] table: title, publisher, page size, disclaimer."""
        return self.section("report")

    def index_by_role(self, role: str) -> IndexSpec | None:
        """The index playing ``role`` ('large' or 'small'), if configured."""
        return next((i for i in self.indexes if i.role == role), None)


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _check(user: Any, default: Any, key: str, source: str) -> None:
    """Raise ConfigError where ``user`` does not have the shape of ``default``."""
    where = f"{source}: key '{key}'" if key else source

    def fail(expected: str) -> None:
        raise ConfigError(f"{where} must be {expected}, got {user!r} ({_type_name(user)})")

    if isinstance(default, dict):
        if not isinstance(user, dict):
            fail("a table")
        for k, v in user.items():
            sub = f"{key}.{k}" if key else k
            if key in OPEN_TABLES:
                example = next(iter(default.values()), None)
                if example is not None:
                    _check(v, example, sub, source)
                continue
            if k not in default:
                known = ", ".join(sorted(default)) or "none"
                raise ConfigError(f"{source}: unknown key '{sub}' (known keys here: {known})")
            _check(v, default[k], sub, source)
    elif isinstance(default, list):
        if not isinstance(user, list):
            fail("an array")
        if not default:
            return
        if isinstance(default[0], dict):
            keys: dict[str, Any] = {}
            for item in default:
                keys.update(item)
            for i, item in enumerate(user):
                _check(item, keys, f"{key}[{i}]", source)
        else:
            for i, item in enumerate(user):
                _check(item, default[0], f"{key}[{i}]", source)
    elif isinstance(default, bool):
        if not isinstance(user, bool):
            fail("true or false")
    elif isinstance(default, int | float):
        if isinstance(user, bool) or not isinstance(user, int | float):
            fail("a number")
        if isinstance(default, int) and isinstance(user, float) and not user.is_integer():
            fail("a whole number")
    elif isinstance(default, str) and not isinstance(user, str):
        fail("a string")


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

    ``overrides`` takes out_dir, store, templates_dir, data_dir, cache_dir (paths).
    Relative paths in config files resolve against ``cwd``.
    """
    base_dir = cwd or Path.cwd()
    merged = _load_toml(DEFAULT_CONFIG_PATH)
    sources = [str(DEFAULT_CONFIG_PATH)]
    if path is None and (base_dir / LOCAL_CONFIG_NAME).is_file():
        path = base_dir / LOCAL_CONFIG_NAME
    if path is not None:
        user = _load_toml(path)
        _check(user, merged, "", str(path))
        merged = _merge(merged, user)
        sources.append(str(path))
    return _build(merged, tuple(sources), dict(overrides or {}), base_dir)


def _build(
    merged: dict[str, Any], sources: tuple[str, ...], over: dict[str, Any], base_dir: Path
) -> RecapConfig:
    where = sources[-1]
    indexes = tuple(
        IndexSpec(
            name=i["name"],
            symbol=i["symbol"],
            proxy=i.get("proxy", ""),
            proxy_name=i.get("proxy_name", "") or i["name"],
            role=i.get("role", ""),
        )
        for i in merged["indexes"]
    )
    if not indexes:
        raise ConfigError(f"{where}: key 'indexes' must list at least one index")
    roles = [i.role for i in indexes if i.role]
    for role in roles:
        if roles.count(role) > 1:
            raise ConfigError(f"{where}: key 'indexes' gives role '{role}' to more than one index")
        if role not in ("large", "small"):
            raise ConfigError(
                f"{where}: key 'indexes.role' must be 'large', 'small' or '', got {role!r}"
            )
    page = merged["report"]["page_size"]
    if page not in PAGE_SIZES:
        raise ConfigError(
            f"{where}: key 'report.page_size' must be one of {PAGE_SIZES}, got {page!r}"
        )
    paths = merged["paths"]
    cache_dir = _path(over.get("cache_dir") or paths["cache_dir"], base_dir)
    templates = over.get("templates_dir") or paths["templates_dir"]
    templates_dir = _path(templates, base_dir) if templates else DEFAULT_TEMPLATES_DIR
    if not templates_dir.is_dir():
        raise ConfigError(f"templates folder {templates_dir} does not exist")
    data_dir = over.get("data_dir")
    return RecapConfig(
        indexes=indexes,
        out_dir=_path(str(over.get("out_dir") or paths["out_dir"]), base_dir),
        cache_dir=cache_dir,
        store_path=_path(str(over.get("store") or paths["store"]), base_dir),
        templates_dir=templates_dir,
        data_dir=_path(str(data_dir), base_dir) if data_dir else None,
        sources=sources,
        raw=merged,
    )
